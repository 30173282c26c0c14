// /network: a stack of layers on an image, every feature map of every layer in a column
// (POST /api/v1/images/pipeline). Clicking a pixel asks the server for that pixel's exact
// computation: the layer's input is fetched as numbers (images/pixels for the image, the
// pipeline's .npy for deeper layers) and the window is traced by /conv2d or /pool2d.

import * as api from "../api.js";
import { byTestId, debounce, h, replaceChildren, sizeCanvas } from "../dom.js";
import { diverging, drawColorBar, maxAbs } from "../render/colors.js";
import { formatNumber } from "../render/format.js";
import { drawGrid, gridLayout, outlineCells } from "../render/grid.js";
import { loadImage } from "../render/image.js";
import { createStore, field, formatMatrix, parseMatrix } from "../state.js";
import { createLayerCard, defaultLayer, FILTER_PAIRS, layerSummary } from "./widgets/layer-card.js";
import { createNotice } from "./widgets/notice.js";
import { canvasPoint, equation } from "./shared.js";

const TYPES = ["conv2d", "activation", "pool2d", "batch_norm", "dropout"];
const conv = (extra) => ({ ...defaultLayer("conv2d"), ...extra });
export const PRESETS = {
  edge: {
    label: "Edge detector",
    layers: [conv({ filters: "sobel_x+sobel_y" }), defaultLayer("activation"), defaultLayer("pool2d")],
  },
  blur: {
    label: "Blur and downsample",
    layers: [conv({ filters: "gaussian_blur_5x5", padding: "2" }), { ...defaultLayer("pool2d"), mode: "avg" }, conv({ filters: "gaussian_blur_3x3" }), { ...defaultLayer("pool2d"), mode: "avg" }],
  },
  random: {
    label: "Small random-weight stack",
    layers: [
      conv({ filters: "random", count: 4, seed: 1, channel_mode: "sum" }),
      defaultLayer("activation"),
      defaultLayer("pool2d"),
      conv({ filters: "random", count: 4, seed: 2, channel_mode: "sum" }),
      defaultLayer("batch_norm"),
      { ...defaultLayer("activation"), function: "leaky_relu" },
      defaultLayer("dropout"),
    ],
  },
};
const MAX_MAPS = 12; // maps drawn per column; the rest are counted
const MAP_WIDTH = 132;

function layersField() {
  return {
    default: PRESETS.edge.layers,
    parse(text) {
      try {
        const value = JSON.parse(text);
        const ok = Array.isArray(value) && value.length >= 1 && value.length <= 12 && value.every((l) => l && TYPES.includes(l.type));
        return ok ? value.map((l) => ({ ...defaultLayer(l.type), ...l })) : undefined;
      } catch {
        return undefined;
      }
    },
    format: JSON.stringify,
  };
}

const SCHEMA = {
  src: field.text("shapes"),
  color: field.choice("gray", ["gray", "rgb"]),
  size: field.choice("96", ["64", "96", "128", "192"]),
  range: field.choice("map", ["map", "layer"]),
  layers: layersField(),
};

// ---- building the request -----------------------------------------------------------------

/** A seeded PRNG (mulberry32): the same seed gives the same random kernels. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** [O][C][k][k] uniform in ±1/sqrt(C·k·k), PyTorch's default range for Conv2d weights. */
export function randomWeight(count, channels, size, seed) {
  const next = prng(seed);
  const bound = 1 / Math.sqrt(channels * size * size);
  const round = (v) => Math.round(v * 1e4) / 1e4;
  return Array.from({ length: count }, () => Array.from({ length: channels }, () => Array.from({ length: size }, () => Array.from({ length: size }, () => round((next() * 2 - 1) * bound)))));
}

/**
 * The pipeline's layers for the API, plus what the page needs to explain each conv:
 * `filters[i]` is a list of per-output-channel {kernel: [C'][kh][kw] or [kh][kw], channel}.
 */
export function buildPipeline(layers, { inputChannels, presets }) {
  let channels = inputChannels;
  const out = [];
  const info = [];
  for (const layer of layers) {
    if (layer.type === "conv2d") {
      const padding = /^\d+$/.test(layer.padding) ? Number(layer.padding) : layer.padding;
      const common = { type: "conv2d", stride: layer.stride, padding, dilation: layer.dilation, bias: layer.bias };
      let kernel;
      let weights; // per output channel: {kernel (2-D or 3-D), channel (input channel or null = all)}
      let mode = layer.channel_mode;
      if (layer.filters === "random" || (layer.filters === "custom" && layer.custom.includes("|"))) {
        const w = layer.filters === "random"
          ? randomWeight(layer.count, channels, layer.size, layer.seed)
          : parseMatrix(layer.custom, 3).map((m) => Array.from({ length: channels }, () => m));
        kernel = w;
        mode = "sum";
        weights = w.map((k) => ({ kernel: k, channel: null }));
      } else {
        const names = FILTER_PAIRS[layer.filters] ?? (layer.filters === "custom" ? null : [layer.filters]);
        const matrices = names ? names.map((n) => presets.find((k) => k.name === n)?.values) : [parseMatrix(layer.custom, 2)];
        kernel = names ? (names.length === 1 ? names[0] : names) : matrices[0];
        weights = [];
        for (const m of matrices) {
          if (mode === "depthwise") for (let c = 0; c < channels; c += 1) weights.push({ kernel: m, channel: c });
          else weights.push({ kernel: m ? Array.from({ length: channels }, () => m) : null, channel: null });
        }
      }
      out.push({ ...common, kernel, channel_mode: mode });
      info.push({ weights, inChannels: channels });
      channels = weights.length;
    } else if (layer.type === "activation") {
      out.push({ type: "activation", function: layer.function, ...(layer.function === "leaky_relu" ? { negative_slope: layer.negative_slope } : {}) });
      info.push({ inChannels: channels });
    } else if (layer.type === "pool2d") {
      out.push({ type: "pool2d", mode: layer.mode, kernel_size: layer.kernel_size });
      info.push({ inChannels: channels });
    } else if (layer.type === "batch_norm") {
      out.push({ type: "batch_norm", training: true });
      info.push({ inChannels: channels });
    } else {
      out.push({ type: "dropout", p: layer.p, seed: layer.seed });
      info.push({ inChannels: channels });
    }
  }
  return { layers: out, info };
}

/**
 * Where output cell `i`'s window lies on one axis of a layer's input (size `size`):
 * `window` is the exact crop [start, end) with the padding it hangs over ([before, after]),
 * so convolving the crop alone gives exactly that cell (index 0).
 */
export function windowAxis(i, { stride, before, effective, size }) {
  const w0 = i * stride - before;
  const w1 = w0 + effective;
  return { start: Math.max(0, w0), end: Math.min(size, w1), pad: [Math.max(0, -w0), Math.max(0, w1 - size)], empty: w1 <= 0 || w0 >= size };
}

/**
 * A crop for /step: the window plus up to `context` strides around it, padded by `pad`
 * on both sides (the step page pads symmetrically). Returns {start, end, index} with the
 * window's output index inside the crop, or null when no such crop fits in `limit` cells.
 */
export function contextAxis(i, { stride, before, effective, size, pad, context = 1, limit = 8 }) {
  const w0 = i * stride - before;
  const w1 = w0 + effective;
  if (-w0 > pad || w1 - size > pad) return null;
  for (let u = context; u >= 0; u -= 1) {
    for (let shift = 0; shift < stride; shift += 1) {
      const start = w0 < 0 ? 0 : w0 - u * stride - shift;
      if (start < 0 || (w0 - start + pad) % stride !== 0) continue;
      for (let v = context; v >= 0; v -= 1) {
        const end = w1 > size ? size : Math.min(size, w1 + v * stride);
        if (end - start <= limit && end > start) return { start, end, index: (w0 - start + pad) / stride };
      }
    }
  }
  return null;
}

// ---- the view ---------------------------------------------------------------------------

export function mount(root) {
  const store = createStore(SCHEMA);
  const notice = createNotice(byTestId(root, "notice"));
  const el = (id) => byTestId(root, id);
  const stage = el("net-stage");
  const columns = el("columns");
  const inspect = el("inspect");
  const inspectHint = inspect.firstElementChild;
  let presets = [];
  let upload = null;
  let result = null; // {response, request, info, source, color, maxSide}
  let requestId = 0;
  let inspectId = 0;

  if (store.state.src === "upload") store.set({ src: SCHEMA.src.default });

  const source = () => (store.state.src === "upload" && upload ? upload : store.state.src);

  // ---- layer list ---------------------------------------------------------------------
  const list = el("layer-list");
  function renderLayers() {
    const layers = store.state.layers;
    const setLayers = (next) => store.set({ layers: next });
    replaceChildren(
      list,
      layers.map((layer, index) =>
        createLayerCard({
          layer,
          index,
          count: layers.length,
          presets,
          onChange: (next) => setLayers(layers.map((l, i) => (i === index ? next : l))),
          onMove: (i, delta) => {
            const next = layers.slice();
            [next[i], next[i + delta]] = [next[i + delta], next[i]];
            setLayers(next);
            requestAnimationFrame(() => list.querySelector(`[data-testid="layer-${i + delta}-${delta < 0 ? "up" : "down"}"]`)?.focus());
          },
          onRemove: (i) => setLayers(layers.filter((_, n) => n !== i)),
        }).root,
      ),
    );
    el("layer-count").textContent = `${layers.length} layer${layers.length === 1 ? "" : "s"}`;
  }

  for (const type of TYPES) {
    el("add-row").append(
      h("button", { type: "button", class: "btn btn-small", dataset: { testid: `add-${type}` }, onClick: () => store.set({ layers: [...store.state.layers, defaultLayer(type)] }) }, `+ ${type.replace("_", " ")}`),
    );
  }
  for (const [name, preset] of Object.entries(PRESETS)) {
    el("preset-row").append(
      h("button", { type: "button", class: "btn btn-small", dataset: { testid: `preset-${name}` }, onClick: () => store.set({ layers: structuredClone(preset.layers) }) }, preset.label),
    );
  }

  // ---- compute ------------------------------------------------------------------------
  async function compute() {
    if (!presets.length) return;
    const s = store.state;
    const id = ++requestId;
    const channels = s.color === "rgb" ? 3 : 1;
    let request;
    try {
      request = buildPipeline(s.layers, { inputChannels: channels, presets });
    } catch (error) {
      notice.error(`Could not build the layers: ${error.message}`);
      return;
    }
    const params = { layers: request.layers, value_range: s.range };
    stage.setAttribute("aria-busy", "true");
    try {
      const src = source();
      const response = await api.imagePipeline(src, { params, color: s.color, maxSide: Number(s.size) });
      if (id !== requestId) return;
      const images = await Promise.all([response.input, ...response.layers.flatMap((l) => [...l.maps.slice(0, MAX_MAPS), ...(l.masks ?? []).slice(0, MAX_MAPS)])].map((m) => loadImage(m.data_url)));
      if (id !== requestId) return;
      notice.clear();
      delete stage.dataset.stale;
      result = { response, params, info: request.info, source: src, color: s.color, maxSide: Number(s.size), images };
      drawColumns();
      replaceChildren(inspect, inspectHint);
      stage.dataset.renders = String(Number(stage.dataset.renders || 0) + 1);
    } catch (error) {
      if (id !== requestId) return;
      notice.error(error.message);
      if (result) stage.dataset.stale = "true";
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = debounce(compute, 250);

  // ---- drawing ------------------------------------------------------------------------
  function mapFigure(map, image, { layerIndex, channel, bar, testid }) {
    const canvas = h("canvas", {
      class: "map-canvas",
      tabindex: layerIndex === null ? null : "0",
      role: "img",
      dataset: { testid, layer: layerIndex ?? "input", channel },
      aria: { label: `${map.label || "map"}: ${map.shape.join("×")}, values ${formatNumber(map.vmin, 3)} to ${formatNumber(map.vmax, 3)}${layerIndex === null ? "" : "; click a pixel (or press Enter) to see its computation"}` },
    });
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image, 0, 0);
    const [H, W] = map.shape.length === 3 ? map.shape.slice(1) : map.shape.slice(-2);
    canvas.style.width = `${MAP_WIDTH}px`;
    canvas.style.height = `${Math.round((MAP_WIDTH * H) / W)}px`;
    if (layerIndex !== null) {
      const pick = (event) => {
        const [x, y] = canvasPoint(canvas, event);
        const c = Math.min(W - 1, Math.floor((x / canvas.width) * W));
        const r = Math.min(H - 1, Math.floor((y / canvas.height) * H));
        select(layerIndex, channel, r, c);
      };
      canvas.addEventListener("click", pick);
      canvas.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          select(layerIndex, channel, Math.floor(H / 2), Math.floor(W / 2));
        }
      });
    }
    const children = [canvas];
    if (bar) children.push(colorBar(map));
    return h("figure", { class: "map-figure" }, h("figcaption", {}, h("span", {}, map.label || "map"), h("span", {}, `${formatNumber(map.vmin, 2)} … ${formatNumber(map.vmax, 2)}`)), ...children);
  }

  function colorBar(map) {
    const canvas = h("canvas", { class: "map-bar", role: "img", aria: { label: `Colour scale ${map.colormap}: ${formatNumber(map.vmin, 3)} to ${formatNumber(map.vmax, 3)}` } });
    const ctx = sizeCanvas(canvas, MAP_WIDTH, 32);
    const gray = map.colormap === "rgb" || map.colormap === "gray";
    drawColorBar(ctx, { colormap: gray ? "gray" : map.colormap, vmin: map.vmin, vmax: map.vmax, width: MAP_WIDTH, height: 10, format: (v) => formatNumber(v, 2) });
    return canvas;
  }

  function drawColumns() {
    const { response, images } = result;
    let next = 1;
    const columnFor = (title, shape, testid, figures, extra = null) =>
      h("section", { class: "map-column", dataset: { testid }, aria: { label: title } }, h("h3", {}, title), h("p", { class: "shape", dataset: { testid: `${testid}-shape` } }, shape.join(" × ")), extra, h("div", { class: "map-stack" }, figures));
    const input = response.input;
    const inputShape = result.color === "rgb" ? [3, ...input.shape.slice(-2)] : [1, ...input.shape];
    const cols = [columnFor("Input", inputShape, "column-input", [mapFigure(input, images[0], { layerIndex: null, channel: 0, bar: false, testid: "map-input" })])];
    response.layers.forEach((layer, li) => {
      const shared = result.params.value_range === "layer";
      const maps = layer.maps.slice(0, MAX_MAPS);
      const figures = maps.map((map, ch) => mapFigure(map, images[next + ch], { layerIndex: li, channel: ch, bar: !shared, testid: `map-${li}-${ch}` }));
      next += maps.length;
      if (layer.maps.length > MAX_MAPS) figures.push(h("p", { class: "hint" }, `… and ${layer.maps.length - MAX_MAPS} more maps`));
      if (layer.masks) {
        const masks = layer.masks.slice(0, MAX_MAPS);
        figures.push(h("h4", {}, "Dropout masks (white: kept and scaled by 1/(1−p); black: dropped)"));
        masks.forEach((mask, ch) => figures.push(mapFigure({ ...mask, label: `mask ${ch}` }, images[next + ch], { layerIndex: null, channel: ch, bar: false, testid: `mask-${li}-${ch}` })));
        next += masks.length;
      }
      const legend = shared && layer.maps.length ? h("div", { class: "layer-legend" }, h("span", { class: "hint" }, "one scale for this layer"), colorBar(layer.maps[0])) : null;
      const stats = layer.mean ? h("p", { class: "map-stats" }, `batch mean ${layer.mean.map((v) => formatNumber(v, 3)).join(", ")}; var ${layer.var.map((v) => formatNumber(v, 3)).join(", ")}`) : null;
      cols.push(columnFor(`${li + 1} · ${layerSummary(store.state.layers[li])}`, layer.shape, `column-${li}`, [...figures, stats], legend));
    });
    replaceChildren(columns, cols);
  }

  // ---- inspecting one pixel -----------------------------------------------------------
  /** The layer's input as numbers: [C][h][w] for rows [r0, r1) and cols [c0, c1). */
  async function layerInput(li, rows, cols) {
    if (li === 0) {
      const crop = await api.imagePixels(result.source, { rows, cols, color: result.color, maxSide: result.maxSide });
      return crop.pixels;
    }
    const array = await prefixArray(li);
    return sliceArray(array, rows, cols);
  }

  const arrays = new Map(); // prefix length -> {shape, data}; cleared on every new result
  async function prefixArray(count) {
    const key = `${requestId}:${count}`;
    if (!arrays.has(key)) {
      arrays.clear();
      const params = { ...result.params, layers: result.params.layers.slice(0, count) };
      arrays.set(key, await api.imagePipelineArray(result.source, { params, color: result.color, maxSide: result.maxSide }));
    }
    return arrays.get(key);
  }

  function sliceArray({ shape, data }, [r0, r1], [c0, c1]) {
    const [C, H, W] = shape;
    return Array.from({ length: C }, (_, c) => Array.from({ length: r1 - r0 }, (_, r) => Array.from({ length: c1 - c0 }, (_, k) => data[c * H * W + (r0 + r) * W + c0 + k])));
  }

  async function select(li, ch, r, c) {
    if (!result) return;
    const id = ++inspectId;
    const layer = result.response.layers[li];
    const spec = result.params.layers[li];
    inspect.setAttribute("aria-busy", "true");
    const title = h("h3", { dataset: { testid: "inspect-title" } }, `Layer ${li + 1} (${layer.type}), map ${layer.maps[ch].label || ch}, pixel row ${r}, column ${c}`);
    try {
      let body;
      if (layer.type === "conv2d" || layer.type === "pool2d") body = await windowComputation(li, ch, r, c, layer, spec);
      else body = await pointComputation(li, ch, r, c, layer, spec);
      if (id !== inspectId) return;
      replaceChildren(inspect, title, body);
    } catch (error) {
      if (id === inspectId) replaceChildren(inspect, title, h("p", { class: "notice notice-error", role: "alert" }, error.message));
    } finally {
      if (id === inspectId) inspect.removeAttribute("aria-busy");
    }
  }

  async function windowComputation(li, ch, r, c, layer, spec) {
    const g = layer.geometry;
    const axes = [r, c].map((i, a) => windowAxis(i, { stride: g.stride[a], before: g.padding[2 * a], effective: g.effective_kernel[a], size: g.input[a] }));
    if (axes.some((axis) => axis.empty)) return h("p", {}, "This window lies entirely in the padding, so its value is just the bias.");
    const [ry, cx] = axes;
    const input = await layerInput(li, [ry.start, ry.end], [cx.start, cx.end]);
    if (layer.type === "pool2d") {
      const response = await api.pool2d({ input: input[ch], mode: spec.mode, kernel_size: spec.kernel_size, trace: true, trace_region: { rows: [0, 1], cols: [0, 1] } });
      const step = response.steps[0];
      const cells = step.window;
      const text = spec.mode === "max" ? `max(${cells.flat().map((v) => formatNumber(v, 3)).join(", ")})` : `(${cells.flat().map((v) => formatNumber(v, 3)).join(" + ")}) / ${step.divisor}`;
      return h("div", {}, miniGrids([["window", cells]]), h("p", { class: "sum-line" }, `${text} = `, h("strong", { class: "result", dataset: { testid: "inspect-value" } }, formatNumber(step.value, 4))));
    }
    const weight = result.info[li].weights[ch];
    const pick = (stack) => (weight.channel === null ? stack : [stack[weight.channel]]);
    const x = pick(input);
    const kernel = Array.isArray(weight.kernel[0][0]) ? weight.kernel : [weight.kernel];
    const body = { input: x, kernel, bias: spec.bias, stride: g.stride, padding: [...ry.pad, ...cx.pad], dilation: g.dilation, trace: true, trace_region: { rows: [0, 1], cols: [0, 1] } };
    const response = await api.conv2d(body);
    const step = response.steps[0];
    const blocks = step.window.map((win, k) =>
      h("div", { class: "channel-block" }, x.length > 1 ? h("h4", {}, `Input channel ${k}`) : null, miniGrids([["window", win], ["kernel", kernel[k]], ["products", step.products[k]]]), h("p", { class: "equation" }, equation(win.flat(), kernel[k].flat(), { limit: 12 }))),
    );
    return h(
      "div",
      {},
      blocks,
      h("p", { class: "sum-line" }, "Sum of products ", h("span", { class: "num" }, formatNumber(step.sum - step.bias, 4)), " + bias ", h("span", { class: "num" }, formatNumber(step.bias, 4)), " = ", h("strong", { class: "result", dataset: { testid: "inspect-value" } }, formatNumber(step.sum, 4))),
      await stepLink(li, r, c, g, pick, kernel, spec, x.length),
    );
  }

  /** A link to /step with a crop around this window, when /step can play it (≤ 8×8, 1 or 3 channels). */
  async function stepLink(li, r, c, g, pick, kernel, spec, channels) {
    const why = (text) => h("p", { class: "hint", dataset: { testid: "step-link-why" } }, `No step-by-step link: ${text}`);
    if (channels !== 1 && channels !== 3) return why(`the step page plays 1 or 3 input channels and this window has ${channels}.`);
    if (g.stride[0] !== g.stride[1] || g.dilation[0] !== g.dilation[1] || kernel[0].length > 5 || kernel[0][0].length > 5 || g.dilation[0] > 3) return why("the step page takes square strides and dilations up to 3 and kernels up to 5×5.");
    const need = (i, a) => {
      const w0 = i * g.stride[a] - g.padding[2 * a];
      return Math.max(0, -w0, w0 + g.effective_kernel[a] - g.input[a]);
    };
    const pad = Math.max(need(r, 0), need(c, 1));
    const axes = [r, c].map((i, a) => contextAxis(i, { stride: g.stride[a], before: g.padding[2 * a], effective: g.effective_kernel[a], size: g.input[a], pad }));
    if (pad > 3 || axes.includes(null)) return why("no crop of at most 8×8 holds this window with the step page's padding.");
    const [ry, cx] = axes;
    const x = pick(await layerInput(li, [ry.start, ry.end], [cx.start, cx.end]));
    const round = (m) => m.map((row) => row.map((v) => Number(v.toPrecision(6))));
    const wo = Math.floor((cx.end - cx.start + 2 * pad - g.effective_kernel[1]) / g.stride[1]) + 1;
    const params = new URLSearchParams({ ex: "custom", x: formatMatrix(x.map(round)), k: formatMatrix(kernel), bias: String(spec.bias), stride: String(g.stride[0]), padding: String(pad), dilation: String(g.dilation[0]), step: String(ry.index * wo + cx.index) });
    const note = pad ? "; cells whose windows reach the crop's own border differ from the network's" : "";
    return h(
      "p",
      {},
      h("a", { href: `/step?${params}`, dataset: { testid: "step-link" } }, "Step through this spot →"),
      h("span", { class: "hint" }, ` (a ${ry.end - ry.start}×${cx.end - cx.start} crop of this layer's input around the window, values to 6 digits${note})`),
    );
  }

  async function pointComputation(li, ch, r, c, layer, spec) {
    const params = { ...result.params, layers: result.params.layers.slice(0, li + 1) };
    const [inputCrop, outArray] = await Promise.all([
      layerInput(li, [r, r + 1], [c, c + 1]),
      api.imagePipelineArray(result.source, { params, color: result.color, maxSide: result.maxSide }),
    ]);
    const x = inputCrop[ch][0][0];
    const y = sliceArray(outArray, [r, r + 1], [c, c + 1])[ch][0][0];
    const fx = formatNumber(x, 4);
    let formula;
    if (layer.type === "activation") formula = `${spec.function}(${fx})`;
    else if (layer.type === "batch_norm") formula = `(${fx} − mean ${formatNumber(layer.mean[ch], 4)}) / √(var ${formatNumber(layer.var[ch], 4)} + 1e−5)`;
    else formula = y === 0 ? `${fx} dropped (mask 0)` : `${fx} kept, × 1/(1 − ${spec.p})`;
    return h("p", { class: "sum-line" }, `${formula} = `, h("strong", { class: "result", dataset: { testid: "inspect-value" } }, formatNumber(y, 4)));
  }

  function miniGrids(items) {
    return h(
      "div",
      { class: "mini-row" },
      items.map(([name, matrix], n) => {
        const canvas = h("canvas", { role: "img", aria: { label: `${name}: ${matrix.map((row) => row.map((v) => formatNumber(v, 3)).join(" ")).join("; ")}` } });
        const cell = matrix[0].length > 5 ? 24 : 34;
        const layout = gridLayout({ rows: matrix.length, cols: matrix[0].length, cellSize: cell, gap: 2, x: 1, y: 1 });
        const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
        const scale = maxAbs(matrix.flat().filter((v) => v !== null));
        drawGrid(ctx, matrix, layout, { fill: (v) => (v === null ? [226, 229, 235] : diverging(v, scale)), text: (v) => (v === null ? "pad" : formatNumber(v, 2)), fontSize: 10 });
        if (name === "window") outlineCells(ctx, layout, 0, 0, matrix.length - 1, matrix[0].length - 1, { color: "#111418", width: 2 });
        return [n ? h("span", { class: "op", aria: { hidden: "true" } }, n === 1 ? "×" : "=") : null, h("figure", { class: "mini" }, canvas, h("figcaption", {}, name))];
      }),
    );
  }

  // ---- image source and options --------------------------------------------------------
  const samplesBox = el("samples");
  let sampleButtons = [];
  const fileInput = el("upload-input");
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    upload = file;
    el("upload-name").textContent = `Using ${file.name}`;
    if (store.state.src === "upload") computeSoon();
    else store.set({ src: "upload" });
  });
  const options = {
    color: el("color"),
    size: el("size"),
    range: el("range"),
  };
  for (const [key, control] of Object.entries(options)) control.addEventListener("change", () => store.set({ [key]: control.value }));

  function syncControls(s) {
    for (const [key, control] of Object.entries(options)) control.value = s[key];
    for (const button of sampleButtons) button.setAttribute("aria-pressed", String(button.dataset.name === s.src));
  }

  store.subscribe((state, changed) => {
    syncControls(state);
    if (changed.has("layers")) renderLayers();
    computeSoon();
  });

  Promise.all([api.listKernels(), api.listSamples()])
    .then(([kernels, samples]) => {
      presets = kernels;
      sampleButtons = samples.map((sample) =>
        h(
          "button",
          { type: "button", class: "sample-card", dataset: { testid: `sample-${sample.name}`, name: sample.name }, title: sample.description, onClick: () => store.set({ src: sample.name }) },
          h("img", { src: sample.url, alt: "", width: 56, height: Math.round((56 * sample.height) / sample.width) }),
          h("span", {}, sample.label),
        ),
      );
      replaceChildren(samplesBox, sampleButtons);
      syncControls(store.state);
      renderLayers();
      compute();
    })
    .catch((error) => notice.error(`Could not load the kernels and samples: ${error.message}`));
}
