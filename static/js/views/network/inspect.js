// /network's pixel inspector: clicking a map asks the server for that pixel's exact
// computation. The layer's input is fetched as numbers (images/pixels for the image, the
// pipeline's .npy for deeper layers) and the window is traced by /conv2d or /pool2d; window
// positions come from the layer's geometry as the API returned it.

import * as api from "../../api.js";
import { h, replaceChildren } from "../../dom.js";
import { formatNumber } from "../../render/format.js";
import { formatMatrix } from "../../state.js";
import { equation, roundingNote } from "../shared.js";
import { miniGrids } from "./draw.js";
import { contextAxis, outputIndexStartingAt, windowAxis } from "./pipeline.js";

/** createInspector(panel) -> {show(result, li, ch, r, c), reset()}; `result` is the view's last pipeline result. */
export function createInspector(panel) {
  const hint = panel.firstElementChild;
  let inspectId = 0;
  const arrays = new Map(); // "<result id>:<prefix length>" -> {shape, data}

  async function layerInput(result, li, rows, cols) {
    if (li === 0) {
      const crop = await api.imagePixels(result.source, { rows, cols, color: result.color, maxSide: result.maxSide });
      return crop.pixels;
    }
    return sliceArray(await prefixArray(result, li), rows, cols);
  }

  async function prefixArray(result, count) {
    const key = `${result.id}:${count}`;
    if (!arrays.has(key)) {
      if (![...arrays.keys()].some((k) => k.startsWith(`${result.id}:`))) arrays.clear();
      const params = { ...result.params, layers: result.params.layers.slice(0, count) };
      arrays.set(key, await api.imagePipelineArray(result.source, { params, color: result.color, maxSide: result.maxSide }));
    }
    return arrays.get(key);
  }

  async function show(result, li, ch, r, c) {
    const id = ++inspectId;
    const layer = result.response.layers[li];
    const spec = result.params.layers[li];
    panel.setAttribute("aria-busy", "true");
    panel.classList.add("stale");
    const title = h(
      "h3",
      { dataset: { testid: "inspect-title" } },
      `Layer ${li + 1} (${layer.type}), map ${layer.maps[ch].label || ch}, pixel row ${r}, column ${c}`,
    );
    try {
      const body =
        layer.type === "conv2d" || layer.type === "pool2d"
          ? await windowComputation(result, li, ch, r, c, layer, spec)
          : await pointComputation(result, li, ch, r, c, layer, spec);
      if (id !== inspectId) return;
      replaceChildren(panel, title, body);
    } catch (error) {
      if (id === inspectId)
        replaceChildren(panel, title, h("p", { class: "notice notice-error", role: "alert", dataset: { testid: "inspect-error" } }, error.message));
    } finally {
      if (id === inspectId) {
        panel.removeAttribute("aria-busy");
        panel.classList.remove("stale");
      }
    }
  }

  async function windowComputation(result, li, ch, r, c, layer, spec) {
    const g = layer.geometry;
    const axes = [r, c].map((i, a) => windowAxis(i, { stride: g.stride[a], before: g.padding[2 * a], effective: g.effective_kernel[a], size: g.input[a] }));
    if (axes.some((axis) => axis.empty)) return h("p", {}, "This window lies entirely in the padding, so its value is just the bias.");
    const [ry, cx] = axes;
    const pads = [...ry.pad, ...cx.pad];
    const inPadding = pads.some((p) => p > 0);
    const imageScale = li === 0 ? "image" : null;
    const input = await layerInput(result, li, [ry.start, ry.end], [cx.start, cx.end]);
    if (layer.type === "pool2d") {
      if (inPadding) return h("p", {}, "This window reaches into the padding; the pooling page (/pooling) steps through padded windows.");
      const body = {
        input: input[ch],
        mode: spec.mode ?? "max",
        kernel_size: spec.kernel_size ?? 2,
        dilation: spec.dilation ?? 1,
        trace: true,
        trace_region: { rows: [0, 1], cols: [0, 1] },
      };
      if (body.mode === "avg") delete body.dilation;
      const response = await api.pool2d(body);
      const step = response.steps[0];
      const cells = step.window;
      const text =
        body.mode === "max"
          ? `max(${cells
              .flat()
              .filter((v) => v !== null)
              .map((v) => formatNumber(v, 3))
              .join(", ")})`
          : `(${cells
              .flat()
              .map((v) => formatNumber(v, 3))
              .join(" + ")}) / ${step.divisor}`;
      return h(
        "div",
        {},
        miniGrids([["window", cells, imageScale]]),
        h("p", { class: "sum-line" }, `${text} = `, h("strong", { class: "result", dataset: { testid: "inspect-value" } }, formatNumber(step.value, 4))),
      );
    }
    if (inPadding && (spec.padding_mode ?? "zeros") !== "zeros")
      return h(
        "p",
        {},
        `This window reaches into ${spec.padding_mode} padding, which repeats values from beyond this crop; pick a pixel away from the border.`,
      );
    const weight = result.info[li].weights[ch];
    const pick = (stack) => (weight.channel === null ? stack : [stack[weight.channel]]);
    const x = pick(input);
    const kernel = weight.kernel;
    const bias = Array.isArray(spec.bias) ? (spec.bias[ch] ?? 0) : (spec.bias ?? 0);
    const response = await api.conv2d({
      input: x,
      kernel,
      bias,
      stride: g.stride,
      padding: pads,
      dilation: g.dilation,
      trace: true,
      trace_region: { rows: [0, 1], cols: [0, 1] },
    });
    const step = response.steps[0];
    const blocks = step.window.map((win, k) =>
      h(
        "div",
        { class: "channel-block" },
        x.length > 1 ? h("h4", {}, `Input channel ${k}`) : null,
        miniGrids([
          ["window", win, imageScale],
          ["kernel", kernel[k], null],
          ["products", step.products[k], null],
        ]),
        h("p", { class: "equation" }, equation(win.flat(), kernel[k].flat(), { limit: 12 }), roundingNote(win.flat(), kernel[k].flat())),
      ),
    );
    return h(
      "div",
      {},
      blocks,
      h(
        "p",
        { class: "sum-line" },
        "Sum of products ",
        h("span", { class: "num" }, formatNumber(step.sum - step.bias, 4)),
        " + bias ",
        h("span", { class: "num" }, formatNumber(step.bias, 4)),
        " = ",
        h("strong", { class: "result", dataset: { testid: "inspect-value" } }, formatNumber(step.sum, 4)),
      ),
      await stepLink(result, li, r, c, g, pick, kernel, bias),
    );
  }

  /**
   * A link to /step with a crop (≤ 8×8) around this window: x is the crop of every input
   * channel this output channel's filter reads ([C][h][w]) and k that filter ([C][kh][kw]).
   */
  async function stepLink(result, li, r, c, g, pick, kernel, bias) {
    const why = (text) => h("p", { class: "hint", dataset: { testid: "step-link-why" } }, `No step-by-step link: ${text}`);
    if (g.stride[0] !== g.stride[1] || g.dilation[0] !== g.dilation[1] || kernel[0].length > 5 || kernel[0][0].length > 5 || g.dilation[0] > 3)
      return why("the step page takes square strides and dilations up to 3 and kernels up to 5×5.");
    const need = (i, a) => {
      const w0 = i * g.stride[a] - g.padding[2 * a];
      return Math.max(0, -w0, w0 + g.effective_kernel[a] - g.input[a]);
    };
    const pad = Math.max(need(r, 0), need(c, 1));
    const places = [r, c].map((i, a) => ({ i, stride: g.stride[a], before: g.padding[2 * a], effective: g.effective_kernel[a], size: g.input[a], pad }));
    const axes = places.map((p) => contextAxis(p.i, p));
    if (pad > 3 || axes.includes(null)) return why("no crop of at most 8×8 holds this window with the step page's padding.");
    const [ry, cx] = axes;
    // Which output cell of the crop is this window: ask the server for the crop's geometry.
    const crop = await api.geometry({
      input_size: [ry.end - ry.start, cx.end - cx.start],
      kernel_size: [kernel[0].length, kernel[0][0].length],
      stride: g.stride,
      padding: pad,
      dilation: g.dilation,
    });
    const row = outputIndexStartingAt(crop.rows, places[0].i * g.stride[0] - g.padding[0] - ry.start);
    const col = outputIndexStartingAt(crop.cols, places[1].i * g.stride[1] - g.padding[2] - cx.start);
    if (row < 0 || col < 0) return why("no crop of at most 8×8 holds this window with the step page's padding.");
    const x = pick(await layerInput(result, li, [ry.start, ry.end], [cx.start, cx.end]));
    const round = (m) => m.map((line) => line.map((v) => Number(v.toPrecision(6))));
    const params = new URLSearchParams({
      ex: "custom",
      x: formatMatrix(x.map(round)),
      k: formatMatrix(kernel),
      bias: String(bias),
      stride: String(g.stride[0]),
      padding: String(pad),
      dilation: String(g.dilation[0]),
      step: String(row * crop.geometry.output[1] + col),
    });
    const note = pad ? "; cells whose windows reach the crop's own border differ from the network's" : "";
    return h(
      "p",
      {},
      h("a", { href: `/step?${params}`, dataset: { testid: "step-link" } }, "Step through this spot →"),
      h("span", { class: "hint" }, ` (a ${ry.end - ry.start}×${cx.end - cx.start} crop of this layer's input around the window, values to 6 digits${note})`),
    );
  }

  async function pointComputation(result, li, ch, r, c, layer, spec) {
    const params = { ...result.params, layers: result.params.layers.slice(0, li + 1) };
    const [inputCrop, outArray] = await Promise.all([
      layerInput(result, li, [r, r + 1], [c, c + 1]),
      api.imagePipelineArray(result.source, { params, color: result.color, maxSide: result.maxSide }),
    ]);
    const x = inputCrop[ch][0][0];
    const y = sliceArray(outArray, [r, r + 1], [c, c + 1])[ch][0][0];
    const fx = formatNumber(x, 4);
    let formula;
    if (layer.type === "activation") formula = `${spec.function ?? "relu"}(${fx})`;
    else if (layer.type === "batch_norm")
      formula = `(${fx} − mean ${formatNumber(layer.mean[ch], 4)}) / √(var ${formatNumber(layer.var[ch], 4)} + ε) · γ ${formatNumber(layer.weight[ch], 4)} + β ${formatNumber(layer.bias[ch], 4)}`;
    else if (layer.type === "dropout") formula = y === 0 ? `${fx} dropped (mask 0)` : `${fx} kept, × 1/(1 − p)`;
    else formula = `${layer.type}(${fx})`;
    return h("p", { class: "sum-line" }, `${formula} = `, h("strong", { class: "result", dataset: { testid: "inspect-value" } }, formatNumber(y, 4)));
  }

  return {
    show,
    reset() {
      inspectId += 1;
      arrays.clear();
      panel.removeAttribute("aria-busy");
      panel.classList.remove("stale");
      replaceChildren(panel, hint);
    },
  };
}

/** [C][h][w] for rows [r0, r1) and cols [c0, c1) of a C-order {shape: [C, H, W], data}. */
export function sliceArray({ shape, data }, [r0, r1], [c0, c1]) {
  const [C, H, W] = shape;
  return Array.from({ length: C }, (_, c) =>
    Array.from({ length: r1 - r0 }, (_, r) => Array.from({ length: c1 - c0 }, (_, k) => data[c * H * W + (r0 + r) * W + c0 + k])),
  );
}
