// One line under a map: its data's true range, and separately the colour scale's range.
// "data −0.05 to 0.5" over "colour scale ±0.5", or "data constant 0" over "colour scale ±1".

import { h, replaceChildren } from "../../dom.js";
import { rangeText, scaleText } from "../../render/format.js";

const SCALE_WORDS = {
  diverging: "blue − , white 0, red +",
  gray: "black to white",
  rgb: "each channel black to full",
};

/** createRangeLabel({testid}) -> {root, show({min, max, vmin, vmax, colormap, scaleNote})}; scaleNote says whose scale it is. */
export function createRangeLabel({ testid }) {
  const root = h("p", { class: "range-label", dataset: { testid } });
  return {
    root,
    show({ min, max, vmin, vmax, colormap = "diverging", scaleNote = "" }) {
      Object.assign(root.dataset, { min: String(min), max: String(max), vmin: String(vmin), vmax: String(vmax), colormap });
      replaceChildren(
        root,
        h("span", { class: "range-data", dataset: { testid: `${testid}-data` } }, `data ${rangeText(min, max)}`),
        h(
          "span",
          { class: "range-scale", dataset: { testid: `${testid}-scale` }, title: SCALE_WORDS[colormap] ?? colormap },
          `colour scale ${scaleText(vmin, vmax)}${scaleNote ? ` (${scaleNote})` : ""}`,
        ),
      );
    },
    clear() {
      replaceChildren(root);
    },
  };
}
