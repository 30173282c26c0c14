// Painters of /network: they build the columns of feature maps and the small number grids of
// a pixel's computation from data they are given. They fetch nothing and keep no state;
// clicks are handed to the `onPick` callback.

import { h, replaceChildren, sizeCanvas } from "../../dom.js";
import { colorAt, css, diverging, drawColorBar, maxAbs } from "../../render/colors.js";
import { rangeText, formatNumber, formatShape } from "../../render/format.js";
import { drawGrid, gridLayout, outlineCells } from "../../render/grid.js";
import { canvasPoint } from "../shared.js";

export const MAX_MAPS = 12; // maps drawn per column; the rest are counted
const MAP_WIDTH = 132;
const STRIP_HEIGHT = 18; // a vector [N] is drawn as a 1×N strip this tall
const MAX_BARS = 32; // a vector's numbers are listed up to this length

/** "data −0.05 … 0.5" with each end in its own element (data-value: the exact number). */
function dataRange(map, testid) {
  const end = (which, value) => h("span", { dataset: { testid: `${testid}-${which}`, value: value ?? "" } }, formatNumber(value, 3));
  if (map.min === null || map.min === undefined || map.max === null || map.max === undefined || map.min === map.max) {
    return h("span", { class: "map-range", dataset: { testid: `${testid}-range` } }, `data: ${rangeText(map.min ?? null, map.max ?? null)}`);
  }
  return h("span", { class: "map-range", dataset: { testid: `${testid}-range` } }, "data: ", end("min", map.min), " … ", end("max", map.max));
}

/** The colour bar of a map's scale: `colormap` from `vmin` to `vmax` (the drawn colours' ends). */
export function colorBar(map, testid = null) {
  const canvas = h("canvas", {
    class: "map-bar",
    role: "img",
    dataset: testid ? { testid, vmin: map.vmin, vmax: map.vmax } : {},
    aria: { label: `Colour scale (${map.colormap}): ${formatNumber(map.vmin, 3)} to ${formatNumber(map.vmax, 3)}` },
  });
  const ctx = sizeCanvas(canvas, MAP_WIDTH, 32);
  const colormap = map.colormap === "rgb" ? "gray" : map.colormap;
  drawColorBar(ctx, { colormap, vmin: map.vmin, vmax: map.vmax, width: MAP_WIDTH, height: 10, format: (v) => formatNumber(v, 2) });
  return canvas;
}

/**
 * One map: its PNG drawn pixel for pixel (scaled to a common width), its label, its data's
 * true range and, when `bar`, its colour scale. `onPick(r, c)` is called for a clicked pixel
 * (Enter picks the centre).
 */
export function mapFigure(map, image, { testid, bar, onPick = null }) {
  const [H, W] = map.shape.length === 1 ? [1, map.shape[0]] : map.shape.slice(-2);
  const canvas = h("canvas", {
    class: "map-canvas",
    tabindex: onPick ? "0" : null,
    role: "img",
    dataset: { testid },
    aria: {
      label: `${map.label || "map"}: ${formatShape(map.shape)}, data ${rangeText(map.min ?? null, map.max ?? null)}${onPick ? "; click a pixel (or press Enter) to see its computation" : ""}`,
    },
  });
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, 0, 0);
  canvas.style.width = `${MAP_WIDTH}px`;
  canvas.style.height = `${map.shape.length === 1 ? STRIP_HEIGHT : Math.round((MAP_WIDTH * H) / W)}px`;
  if (onPick) {
    canvas.addEventListener("click", (event) => {
      const [x, y] = canvasPoint(canvas, event);
      onPick(Math.min(H - 1, Math.floor((y / canvas.height) * H)), Math.min(W - 1, Math.floor((x / canvas.width) * W)));
    });
    canvas.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      onPick(Math.floor(H / 2), Math.floor(W / 2));
    });
  }
  return h(
    "figure",
    { class: "map-figure", dataset: { testid: `${testid}-figure` } },
    h("figcaption", {}, h("span", {}, map.label || "map"), dataRange(map, testid)),
    canvas,
    bar && map.colormap === "rgb" ? h("div", { class: "map-scale hint" }, "drawn in colour: red, green and blue, each 0 … 1") : null,
    bar && map.colormap !== "rgb" ? h("div", { class: "map-scale" }, h("span", { class: "hint" }, "colour scale"), colorBar(map, `${testid}-bar`)) : null,
  );
}

/**
 * A vector's numbers, one row each: its index, a bar as long as |value| relative to the
 * largest |value| and tinted on the diverging palette over ± that, and the number.
 */
export function vectorBars(values, testid) {
  if (values.length > MAX_BARS) return h("p", { class: "hint" }, `${values.length} values: the strip above shows them all, left to right`);
  const m = maxAbs(values);
  const rows = values.map((v, i) => {
    const bar = h("span", { class: "vector-bar" });
    bar.style.width = `${(100 * Math.abs(v)) / m}%`;
    bar.style.background = css(diverging(v, m));
    return h(
      "li",
      { class: "vector-row", dataset: { testid: `${testid}-${i}`, value: v } },
      h("span", { class: "vector-index" }, String(i)),
      h("span", { class: "vector-track" }, bar),
      h("span", { class: "vector-value" }, formatNumber(v, 4)),
    );
  });
  return h(
    "figure",
    { class: "vector-figure", dataset: { testid } },
    h("ol", { class: "vector-list", aria: { label: `values: ${values.map((v) => formatNumber(v, 4)).join(", ")}` } }, rows),
    h("figcaption", { class: "hint" }, `bar length: |value| ÷ ${formatNumber(m, 3)} (the largest |value|); blue negative, red positive`),
  );
}

/**
 * Replace `container`'s children by one column per layer. `result`: {response, images (input
 * first, then each layer's drawn maps and masks in order), titles (one per layer), shared (one
 * scale per layer)}; `onPick(layer, channel, r, c)`.
 */
export function drawColumns(container, { response, images, titles, shared, onPick }) {
  let next = 1;
  const column = (title, shape, testid, figures, legend = null) =>
    h(
      "section",
      { class: "map-column", dataset: { testid }, aria: { label: title } },
      h("h3", {}, title),
      h("p", { class: "shape", dataset: { testid: `${testid}-shape` } }, formatShape(shape)),
      legend,
      h("div", { class: "map-stack" }, figures),
    );
  const input = response.input;
  const inputShape = input.shape.length === 3 ? input.shape : [1, ...input.shape];
  const columns = [column("Input", inputShape, "column-input", [mapFigure(input, images[0], { testid: "map-input", bar: true })])];
  response.layers.forEach((layer, li) => {
    const maps = layer.maps.slice(0, MAX_MAPS);
    const vector = layer.shape.length === 1;
    const figures = maps.map((map, ch) =>
      mapFigure(map, images[next + ch], { testid: `map-${li}-${ch}`, bar: !shared, onPick: vector ? null : (r, c) => onPick(li, ch, r, c) }),
    );
    if (layer.values) figures.push(vectorBars(layer.values, `values-${li}`));
    next += maps.length;
    if (layer.maps.length > MAX_MAPS) figures.push(h("p", { class: "hint" }, `… and ${layer.maps.length - MAX_MAPS} more maps`));
    if (layer.masks) {
      const masks = layer.masks.slice(0, MAX_MAPS);
      figures.push(h("h4", {}, "Dropout masks (white: kept and scaled by 1/(1−p); black: dropped)"));
      masks.forEach((mask, ch) => figures.push(mapFigure({ ...mask, label: `mask ${ch}` }, images[next + ch], { testid: `mask-${li}-${ch}`, bar: false })));
      next += masks.length;
    }
    const legend =
      shared && layer.maps.length
        ? h("div", { class: "layer-legend" }, h("span", { class: "hint" }, "one colour scale for this layer"), colorBar(layer.maps[0], `layer-${li}-bar`))
        : null;
    const stats = layer.mean
      ? h(
          "p",
          { class: "map-stats" },
          // In training these are the batch's statistics, in eval the running ones given (the card says which).
          `mean used ${layer.mean.map((v) => formatNumber(v, 3)).join(", ")}; var used ${layer.var.map((v) => formatNumber(v, 3)).join(", ")}`,
        )
      : null;
    columns.push(column(titles[li], layer.shape, `column-${li}`, [...figures, stats], legend));
  });
  replaceChildren(container, columns);
}

/**
 * Small grids of numbers side by side ("window × kernel = products"). Each item is
 * [name, matrix, scale]: scale "image" draws the values gray over 0…1 (the input image's
 * rule); otherwise each grid is tinted by its own values on the diverging palette over
 * ±(its largest |value|), and the caption says so.
 */
export function miniGrids(items) {
  return h(
    "div",
    { class: "mini-row" },
    items.map(([name, matrix, scale], n) => {
      const canvas = h("canvas", { role: "img", aria: { label: `${name}: ${matrix.map((row) => row.map((v) => formatNumber(v, 3)).join(" ")).join("; ")}` } });
      const cell = matrix[0].length > 5 ? 24 : 34;
      const layout = gridLayout({ rows: matrix.length, cols: matrix[0].length, cellSize: cell, gap: 2, x: 1, y: 1 });
      const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
      const m = maxAbs(matrix.flat().filter((v) => v !== null));
      const fill = scale === "image" ? (v) => colorAt("gray", v, 0, 1) : (v) => diverging(v, m);
      drawGrid(ctx, matrix, layout, {
        fill: (v) => (v === null ? [226, 229, 235] : fill(v)),
        text: (v) => (v === null ? "pad" : formatNumber(v, 2)),
        fontSize: 10,
      });
      if (name === "window") outlineCells(ctx, layout, 0, 0, matrix.length - 1, matrix[0].length - 1, { color: "#111418", width: 2 });
      const note = scale === "image" ? "gray: 0 black … 1 white" : `blue −${formatNumber(m, 3)} … white 0 … red ${formatNumber(m, 3)}`;
      return [
        n ? h("span", { class: "op", aria: { hidden: "true" } }, n === 1 ? "×" : "=") : null,
        h("figure", { class: "mini" }, canvas, h("figcaption", {}, name, h("br"), h("span", { class: "hint" }, note))),
      ];
    }),
  );
}
