// One layer of the network builder: a card with its type, move/remove buttons and the
// fields of that layer type. It reports every valid edit as a new layer object.

import { h } from "../../dom.js";
import { parseMatrix, formatMatrix } from "../../state.js";
import { createNumberField } from "./number-field.js";

export const ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "step"];
export const FILTER_PAIRS = { "sobel_x+sobel_y": ["sobel_x", "sobel_y"], "prewitt_x+prewitt_y": ["prewitt_x", "prewitt_y"], "scharr_x+scharr_y": ["scharr_x", "scharr_y"] };
const PADDINGS = ["0", "1", "2", "same", "valid"];

/** A short description of a layer for titles: "conv2d 3×3 ×2, stride 1". */
export function layerSummary(layer) {
  switch (layer.type) {
    case "conv2d": {
      const what = layer.filters === "random" ? `${layer.count} random ${layer.size}×${layer.size}` : layer.filters === "custom" ? "custom" : layer.filters.replace("+", " + ");
      return `conv2d: ${what}, stride ${layer.stride}`;
    }
    case "activation":
      return `activation: ${layer.function}`;
    case "pool2d":
      return `${layer.mode} pool ${layer.kernel_size}×${layer.kernel_size}`;
    case "batch_norm":
      return "batch norm";
    case "dropout":
      return `dropout p = ${layer.p}`;
    default:
      return layer.type;
  }
}

/** New layers with sensible defaults. */
export function defaultLayer(type) {
  switch (type) {
    case "conv2d":
      return { type, filters: "sobel_x", count: 4, size: 3, seed: 1, custom: "0,-1,0;-1,5,-1;0,-1,0", stride: 1, padding: "1", dilation: 1, channel_mode: "depthwise", bias: 0 };
    case "activation":
      return { type, function: "relu", negative_slope: 0.1 };
    case "pool2d":
      return { type, mode: "max", kernel_size: 2 };
    case "batch_norm":
      return { type };
    case "dropout":
      return { type, p: 0.5, seed: 0 };
    default:
      throw new Error(`unknown layer type ${type}`);
  }
}

/**
 * createLayerCard({layer, index, count, presets, onChange, onMove, onRemove}) -> {root}
 * `presets` is the kernel list from GET /api/v1/kernels.
 */
export function createLayerCard({ layer, index, count, presets, onChange, onMove, onRemove }) {
  const id = (name) => `layer-${index}-${name}`;
  const testid = (name) => `layer-${index}-${name}`;
  const patch = (values) => onChange({ ...layer, ...values });

  const select = (name, label, options, value, onSelect) => {
    const control = h(
      "select",
      { id: id(name), dataset: { testid: testid(name) }, onChange: () => onSelect(control.value) },
      options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)),
    );
    return h("div", { class: "field" }, h("label", { htmlFor: id(name) }, label), control);
  };
  const number = (name, label, value, opts) =>
    createNumberField({ label, testid: testid(name), value, ...opts, onChange: (v) => patch({ [name]: v }) }).root;

  const fields = [];
  if (layer.type === "conv2d") {
    const presetOptions = presets.map((k) => [k.name, k.label]);
    const pairOptions = Object.keys(FILTER_PAIRS).map((key) => [key, `${key.replace("+", " + ")} (2 filters)`]);
    fields.push(
      select("filters", "Filters", [...pairOptions, ...presetOptions, ["random", "Random weights (seeded)"], ["custom", "Custom numbers"]], layer.filters, (v) => patch({ filters: v })),
    );
    if (layer.filters === "random") {
      fields.push(h("div", { class: "field-row" }, number("count", "Filters", layer.count, { min: 1, max: 8 }), number("size", "Size", layer.size, { min: 1, max: 7 }), number("seed", "Seed", layer.seed, { min: 0, max: 9999 })));
    }
    if (layer.filters === "custom") {
      const msg = h("span", { class: "field-msg", id: id("custom-msg") }, "Rows split by “;”, numbers by “,”; several filters split by “|”.");
      const input = h("input", { type: "text", id: id("custom"), value: layer.custom, spellcheck: false, autocomplete: "off", dataset: { testid: testid("custom") }, aria: { describedby: id("custom-msg") } });
      input.addEventListener("change", () => {
        const matrix = parseMatrix(input.value.replace(/\s+/g, ""), input.value.includes("|") ? 3 : 2);
        if (!matrix || matrix.flat(2).length > 49 * 8) {
          input.setAttribute("aria-invalid", "true");
          msg.textContent = `“${input.value}” is not a rectangular matrix of numbers; kept the previous kernel.`;
          msg.classList.add("field-msg-error");
          input.value = layer.custom;
          return;
        }
        patch({ custom: formatMatrix(matrix) });
      });
      fields.push(h("div", { class: "field" }, h("label", { htmlFor: id("custom") }, "Kernel"), input, msg));
    }
    fields.push(
      h(
        "div",
        { class: "field-row" },
        number("stride", "Stride", layer.stride, { min: 1, max: 4 }),
        select("padding", "Padding", PADDINGS.map((p) => [p, p]), layer.padding, (v) => patch({ padding: v })),
        number("dilation", "Dilation", layer.dilation, { min: 1, max: 3 }),
      ),
      h(
        "div",
        { class: "field-row" },
        select("channel_mode", "Channels", [["depthwise", "each channel alone"], ["sum", "summed (CNN filter)"]], layer.channel_mode, (v) => patch({ channel_mode: v })),
        number("bias", "Bias", layer.bias, { integer: false, step: 0.1, min: -100, max: 100 }),
      ),
    );
  } else if (layer.type === "activation") {
    fields.push(select("function", "Function", ACTIVATIONS.map((f) => [f, f]), layer.function, (v) => patch({ function: v })));
    if (layer.function === "leaky_relu") fields.push(number("negative_slope", "Negative slope", layer.negative_slope, { integer: false, step: 0.05, min: -1, max: 1 }));
  } else if (layer.type === "pool2d") {
    fields.push(
      h(
        "div",
        { class: "field-row" },
        select("mode", "Mode", [["max", "max"], ["avg", "average"]], layer.mode, (v) => patch({ mode: v })),
        number("kernel_size", "Window (= stride)", layer.kernel_size, { min: 1, max: 4 }),
      ),
    );
  } else if (layer.type === "dropout") {
    fields.push(h("div", { class: "field-row" }, number("p", "Drop probability", layer.p, { integer: false, step: 0.1, min: 0, max: 0.95 }), number("seed", "Seed", layer.seed, { min: 0, max: 9999 })));
  } else if (layer.type === "batch_norm") {
    fields.push(h("p", { class: "hint" }, "Normalises each channel to mean 0 and variance 1 over this image (training mode), then scales by 1 and shifts by 0."));
  }

  const tool = (text, label, name, disabled, onClick) =>
    h("button", { type: "button", class: "btn btn-small", title: label, aria: { label }, disabled, dataset: { testid: testid(name) }, onClick }, text);
  return {
    root: h(
      "li",
      { class: "layer-card", dataset: { type: layer.type, testid: `layer-card-${index}` } },
      h(
        "div",
        { class: "layer-head" },
        h("span", { class: "layer-title" }, `${index + 1}. ${layerSummary(layer)}`),
        h(
          "span",
          { class: "layer-tools" },
          tool("↑", `Move layer ${index + 1} up`, "up", index === 0, () => onMove(index, -1)),
          tool("↓", `Move layer ${index + 1} down`, "down", index === count - 1, () => onMove(index, 1)),
          tool("✕", `Remove layer ${index + 1}`, "remove", count === 1, () => onRemove(index)),
        ),
      ),
      fields,
    ),
  };
}
