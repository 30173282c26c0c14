// /step: one convolution played cell by cell. The server computes the trace
// (POST /api/v1/conv2d with trace: true); this view replays its steps with the Player.
//
// URL parameters (all optional; a link reproduces the view, other pages may link here):
//   ex        edge | square | stride | dilation | rgb | custom | image: the worked example.
//             "image" steps through a crop of an image; it is implied by src or crop.
//   x         the input grid itself: rows ";"-separated, cells ","-separated, channels
//             "|"-separated: x=0.6,0.2;0.1,-0.2 or x=R-rows|G-rows|B-rows (at most 8x8).
//   k         the kernel in the same format (at most 5x5, one slice per input channel;
//             a single slice is repeated over the channels of an RGB crop).
//   kernel    a preset kernel name from GET /api/v1/kernels (e.g. sobel_x), used instead of k.
//   bias, stride (1-4), padding (0-3), mode (zeros | reflect | replicate | circular),
//   dilation (1-3): the convolution's settings.
//   step      the step to show (0-based); at=row,col shows the step of that output cell.
//   Image mode: src = a sample name from GET /api/v1/samples (uploads cannot be linked),
//             size = 32 | 64 | 128 | 256: the side the image is scaled to fit (default 64),
//             crop = top,left,rows,cols in that scaled image (rows, cols 1-8; default
//             23,4,6,6), color = gray | rgb (rgb: the 3-channel mode).
//   Example: /step?src=shapes&size=64&crop=23,4,6,6&kernel=sobel_y&padding=1&at=2,3

import * as api from "../api.js";
import { byTestId, debounce, h, replaceChildren, s as svg, sizeCanvas } from "../dom.js";
import { Player } from "../player.js";
import { colorAt, diverging, maxAbs, mix } from "../render/colors.js";
import { formatNumber } from "../render/format.js";
import { cornerLabel, drawGrid, gridLayout, outlineCells } from "../render/grid.js";
import { outlineWindow } from "../render/steps.js";
import { createStore, field } from "../state.js";
import { createMatrixEditor, resizeMatrix } from "./widgets/matrix-editor.js";
import { createNotice } from "./widgets/notice.js";
import { createNumberField } from "./widgets/number-field.js";
import { bindPlayerKeys, createPlayerControls } from "./widgets/player-controls.js";
import {
  bindCellHover,
  bindOutputSeek,
  channelName,
  createSpecFields,
  drawOutputCanvas,
  equation,
  outputCells,
  padModes,
  signed,
  stepHeading,
  stepsUsing,
  syncSpecFields,
} from "./shared.js";

const ramp = (rows, cols, f) => Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => f(r, c)));

/** Worked examples; `x` is [C][H][W] and `k` is [C][kh][kw] (one filter). */
export const EXAMPLES = {
  edge: {
    label: "3×3 patch, horizontal-edge kernel (= 2.3)",
    x: [[[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]],
    k: [[[1, 1, 1], [0, 0, 0], [-1, -1, -1]]],
    bias: 0, stride: 1, padding: 0, mode: "zeros", dilation: 1,
  },
  square: {
    label: "6×6 bright square, edge kernel, padding 1",
    x: [ramp(6, 6, (r, c) => (r >= 1 && r <= 3 && c >= 1 && c <= 3 ? 1 : 0))],
    k: [[[1, 1, 1], [0, 0, 0], [-1, -1, -1]]],
    bias: 0, stride: 1, padding: 1, mode: "zeros", dilation: 1,
  },
  stride: {
    label: "7×7, Laplacian, stride 2, padding 1",
    x: [ramp(7, 7, (r, c) => ((r * 7 + c * 3) % 5) - 2)],
    k: [[[0, 1, 0], [1, -4, 1], [0, 1, 0]]],
    bias: 0, stride: 2, padding: 1, mode: "zeros", dilation: 1,
  },
  dilation: {
    label: "7×7, 3×3 kernel with dilation 2",
    x: [ramp(7, 7, (r, c) => ((r + 2 * c) % 4) - 1.5)],
    k: [[[1, 0, 1], [0, 1, 0], [1, 0, 1]]],
    bias: 0, stride: 1, padding: 0, mode: "zeros", dilation: 2,
  },
  rgb: {
    label: "RGB 3×4×4, one 3-channel 2×2 filter, bias 0.5",
    x: [
      [[0.9, 0.8, 0.1, 0], [0.8, 0.9, 0.2, 0.1], [0.1, 0.2, 0.3, 0.2], [0, 0.1, 0.2, 0.4]],
      [[0.1, 0.3, 0.5, 0.7], [0.2, 0.4, 0.6, 0.8], [0.3, 0.5, 0.7, 0.9], [0.4, 0.6, 0.8, 1]],
      [[0.5, 0.5, 0.5, 0.5], [0.5, 0, 0, 0.5], [0.5, 0, 0, 0.5], [0.5, 0.5, 0.5, 0.5]],
    ],
    k: [[[1, 0], [0, -1]], [[0.5, 0.5], [0.5, 0.5]], [[-1, 1], [-1, 1]]],
    bias: 0.5, stride: 1, padding: 0, mode: "zeros", dilation: 1,
  },
};

const LIMITS = { rows: [1, 8], cols: [1, 8], kh: [1, 5], kw: [1, 5], stride: [1, 4], padding: [0, 3], dilation: [1, 3] };
const MAX_STEPS = 400;
const DEFAULT = EXAMPLES.edge;

const IMAGE = "image"; // ex: the input is a crop of an image
const UPLOAD = "upload"; // src: the uploaded file (kept in memory only)
const IMAGE_SIZES = ["32", "64", "128", "256"];
const DEFAULT_CROP = [23, 4, 6, 6]; // top, left, rows, cols: a corner of the black square in "shapes"

// In image mode the crop parameters reproduce x, so x stays out of the link: its "default"
// is then the crop's values themselves (state.js leaves a key out when it equals its default).
let linkedX = null;
const matrixX = field.matrix(DEFAULT.x, { depth: 3 });
const xField = {
  parse: matrixX.parse,
  format: matrixX.format,
  get default() {
    return linkedX ?? DEFAULT.x;
  },
};

const cropField = {
  default: DEFAULT_CROP,
  parse(text) {
    const parts = text.split(",");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,4}$/.test(p))) return undefined;
    const [r0, c0, rows, cols] = parts.map(Number);
    const ok = rows >= LIMITS.rows[0] && rows <= LIMITS.rows[1] && cols >= LIMITS.cols[0] && cols <= LIMITS.cols[1];
    return ok ? [r0, c0, rows, cols] : undefined;
  },
  format: (crop) => crop.join(","),
};

const cellField = {
  default: null,
  parse: (text) => (/^\d{1,2},\d{1,2}$/.test(text) ? text.split(",").map(Number) : undefined),
  format: (cell) => (cell ? cell.join(",") : ""),
};

const SCHEMA = {
  ex: field.choice("edge", [...Object.keys(EXAMPLES), "custom", IMAGE]),
  x: xField,
  k: field.matrix(DEFAULT.k, { depth: 3 }),
  bias: field.number(DEFAULT.bias),
  stride: field.int(DEFAULT.stride, { min: 1, max: LIMITS.stride[1] }),
  padding: field.int(DEFAULT.padding, { min: 0, max: LIMITS.padding[1] }),
  mode: field.choice(DEFAULT.mode, padModes),
  dilation: field.int(DEFAULT.dilation, { min: 1, max: LIMITS.dilation[1] }),
  step: field.int(0, { min: 0, max: MAX_STEPS }),
  at: cellField, // an output cell to show (applied once, then replaced by step)
  kernel: field.text(""), // a preset kernel name (applied once, then replaced by k)
  src: field.text("shapes"),
  size: field.choice("64", IMAGE_SIZES),
  crop: cropField,
  color: field.choice("gray", ["gray", "rgb"]),
};
const CROP_KEYS = ["src", "size", "crop", "color"];

/** The kernel stack `k` with one slice per input channel (a single slice is repeated). */
export function fitKernel(k, channels) {
  if (k.length === channels) return k;
  return Array.from({ length: channels }, (_, ch) => structuredClone(k[ch] ?? k[0]));
}

/** The crop [top, left, rows, cols] moved (not shrunk, unless it must) to lie inside H x W. */
export function clampCrop([r0, c0, rows, cols], H, W) {
  const h = Math.min(rows, H);
  const w = Math.min(cols, W);
  return [Math.max(0, Math.min(r0, H - h)), Math.max(0, Math.min(c0, W - w)), h, w];
}

const dims = (s) => ({
  C: s.x.length, H: s.x[0].length, W: s.x[0][0].length, kh: s.k[0].length, kw: s.k[0][0].length,
});

/** Why a setting cannot be computed (null if it can). Keeps the controls in valid states. */
export function refusal(s) {
  const { C, H, W, kh, kw } = dims(s);
  if (s.k.length !== C) return `The kernel has ${s.k.length} channel(s) but the input has ${C}.`;
  const eh = s.dilation * (kh - 1) + 1;
  const ew = s.dilation * (kw - 1) + 1;
  const hp = H + 2 * s.padding;
  const wp = W + 2 * s.padding;
  if (eh > hp || ew > wp) {
    const spread = s.dilation > 1 ? `, dilation ${s.dilation} → ${eh}×${ew}` : "";
    return `The kernel (${kh}×${kw}${spread}) would be larger than the padded input (${hp}×${wp}).`;
  }
  if (s.mode === "reflect" && (s.padding >= H || s.padding >= W)) {
    return `Reflect padding must be smaller than the input (${H}×${W}).`;
  }
  if (s.mode === "circular" && (s.padding > H || s.padding > W)) {
    return `Circular padding cannot exceed the input (${H}×${W}).`;
  }
  const steps = (Math.floor((hp - eh) / s.stride) + 1) * (Math.floor((wp - ew) / s.stride) + 1);
  if (steps > MAX_STEPS) return `That makes ${steps} steps; this page plays at most ${MAX_STEPS}.`;
  return null;
}

const EXAMPLE_KEYS = ["x", "k", "bias", "stride", "padding", "mode", "dilation"];

export function mount(root) {
  const query = new URLSearchParams(window.location.search);
  const store = createStore(SCHEMA);
  const notice = createNotice(byTestId(root, "notice"));
  // src or crop in a link imply image mode; uploads cannot travel in a link.
  if (!query.has("ex") && (query.has("src") || query.has("crop"))) store.set({ ex: IMAGE });
  if (store.state.src === UPLOAD) {
    store.set({ src: SCHEMA.src.default });
    notice.info("Links cannot carry an uploaded image, so a sample is shown: upload it again to continue.");
  }
  // A link names an example and only the settings that differ from the default one.
  const chosen = EXAMPLES[store.state.ex];
  if (chosen) store.set(Object.fromEntries(EXAMPLE_KEYS.filter((key) => !query.has(key)).map((key) => [key, chosen[key]])));
  const isImage = () => store.state.ex === IMAGE;
  const player = new Player({ speed: 2 });
  const stage = byTestId(root, "step-stage");
  const canvases = {
    input: byTestId(root, "input-canvas"),
    kernel: byTestId(root, "kernel-canvas"),
    output: byTestId(root, "output-canvas"),
  };
  const detail = byTestId(root, "step-detail");
  const hoverInfo = byTestId(root, "hover-info");
  const hoverHint = hoverInfo.textContent;
  let result = null; // the last trace from the API
  let layouts = { input: [], output: null };
  let hoverInput = null; // [r, c] in padded coordinates
  let requestId = 0;
  let cropId = 0;
  let upload = null; // the uploaded Blob when src is "upload"
  let uploadVersion = 0;
  let image = { key: "", shape: null }; // the decoded image's [C, H, W] for src|size

  // ---- settings -----------------------------------------------------------------
  const settings = buildSettings(byTestId(root, "step-settings"), store, {
    onUpload: useUpload,
    imageShape: () => image.shape,
  });
  const controls = createPlayerControls(player, { label: "Convolution steps" });
  byTestId(root, "player").append(controls.root);
  bindPlayerKeys(player);

  function syncSettings() {
    settings.sync(store.state);
  }

  // ---- the image crop -------------------------------------------------------------
  function useUpload(file) {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/")) {
      notice.error(`“${file.name}” is not an image (${file.type}). Choose a PNG, JPEG, GIF, BMP or WebP file.`);
      return;
    }
    upload = file;
    uploadVersion += 1;
    settings.setUpload(file);
    const changed = store.set({ ex: IMAGE, src: UPLOAD, step: 0 });
    if (!changed.includes("src") && !changed.includes("ex")) fetchCrop();
  }

  /** Fetch the crop's exact values (POST /images/pixels) and make them the input. */
  async function fetchCrop() {
    const s = store.state;
    const id = ++cropId;
    const source = s.src === UPLOAD ? upload : s.src;
    if (!source) return;
    const options = { color: s.color, maxSide: Number(s.size) };
    const key = `${s.src}|${s.size}|${uploadVersion}`;
    stage.setAttribute("aria-busy", "true");
    try {
      if (image.key !== key) {
        // A 1x1 probe tells the size of the decoded image, so the crop can be kept inside it.
        const probe = await api.imagePixels(source, { rows: [0, 1], cols: [0, 1], ...options });
        if (id !== cropId) return;
        image = { key, shape: probe.image_shape };
      }
      const [, H, W] = image.shape;
      const crop = clampCrop(s.crop, H, W);
      if (crop.join() !== s.crop.join()) {
        store.set({ crop }); // the subscription fetches the moved crop
        return;
      }
      const [r0, c0, rows, cols] = crop;
      const response = await api.imagePixels(source, { rows: [r0, r0 + rows], cols: [c0, c0 + cols], ...options });
      if (id !== cropId || !isImage()) return;
      const x = response.pixels;
      linkedX = x;
      settings.showImage(image.shape);
      store.set({ x, k: fitKernel(store.state.k, x.length) });
      compute();
    } catch (error) {
      if (id !== cropId) return;
      notice.error(`Could not read the crop: ${error.message}`);
      stage.removeAttribute("aria-busy");
    }
  }
  const fetchCropSoon = debounce(fetchCrop, 120);

  // ---- compute ------------------------------------------------------------------
  async function compute() {
    computeSoon.cancel();
    const s = store.state;
    const reason = refusal(s);
    if (reason) {
      notice.error(reason);
      return;
    }
    const id = ++requestId;
    stage.setAttribute("aria-busy", "true");
    const { C } = dims(s);
    const body = {
      input: C === 1 ? s.x[0] : s.x,
      kernel: C === 1 ? s.k[0] : s.k,
      bias: s.bias,
      stride: s.stride,
      padding: s.padding,
      padding_mode: s.mode,
      dilation: s.dilation,
      trace: true,
    };
    try {
      const response = await api.conv2d(body);
      if (id !== requestId) return;
      notice.clear();
      result = response;
      let index = store.state.step;
      if (store.state.at) {
        const [i, j] = store.state.at;
        const found = response.steps.findIndex((st) => st.out[1] === i && st.out[2] === j);
        if (found >= 0) index = found;
        store.set({ at: null });
      }
      player.setCount(response.steps.length, { index });
      render();
      stage.dataset.renders = String(Number(stage.dataset.renders || 0) + 1);
    } catch (error) {
      if (id !== requestId) return;
      notice.error(error.message);
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = debounce(compute, 120);

  store.subscribe((state, changed) => {
    if ([...changed].every((key) => key === "step" || key === "at")) return;
    if (!isImage()) linkedX = null;
    syncSettings();
    if (isImage() && (changed.has("ex") || CROP_KEYS.some((key) => changed.has(key)))) {
      computeSoon.cancel();
      fetchCropSoon();
      return;
    }
    if (isImage() && linkedX === null) return; // the crop's values are on their way
    computeSoon();
  });
  player.subscribe(({ index }) => {
    store.set({ step: index });
    render();
  });

  // ---- drawing --------------------------------------------------------------------
  function cellSize() {
    const { padded_input: padded, geometry } = result;
    const wp = padded[0][0].length;
    const [, kw] = geometry.kernel;
    const wo = geometry.output[1];
    const available = stage.clientWidth - 48;
    if (available >= 640) return Math.max(24, Math.min(52, Math.floor((available - 140) / (wp + kw + wo))));
    return Math.max(24, Math.min(48, Math.floor((available - 8) / Math.max(wp, kw, wo))));
  }

  function render() {
    if (!result) return;
    const step = result.steps[player.index];
    const size = cellSize();
    drawInput(step, size);
    drawKernel(size);
    drawOutput(size);
    renderDetail(step);
  }

  function taps(step) {
    const [dh, dw] = result.geometry.dilation;
    const [kh, kw] = result.geometry.kernel;
    const [r0, c0] = step.origin;
    const list = [];
    for (let a = 0; a < kh; a += 1) for (let b = 0; b < kw; b += 1) list.push([r0 + a * dh, c0 + b * dw, a, b]);
    return list;
  }

  function kernelOf(ch) {
    const k = store.state.k;
    return k[ch] ?? k[0];
  }

  function drawInput(step, size) {
    const { padded_input: padded, geometry } = result;
    const [top, , left] = geometry.padding;
    const [H, W] = geometry.input;
    const C = padded.length;
    const rows = padded[0].length;
    const cols = padded[0][0].length;
    const labelH = C > 1 ? 22 : 0;
    const probe = gridLayout({ rows, cols, cellSize: size, gap: 2 });
    layouts.input = padded.map((_, ch) =>
      gridLayout({ rows, cols, cellSize: size, gap: 2, x: 1, y: 1 + ch * (probe.height + labelH + 12) + labelH }),
    );
    const last = layouts.input[C - 1];
    const ctx = sizeCanvas(canvases.input, probe.width + 2, last.y + last.height + 1);
    const realValues = store.state.x.flat(2);
    const scale = maxAbs(realValues);
    // An image crop is drawn as the picture it is: gray from 0 (black) to 1 (white).
    const shade = store.state.ex === IMAGE ? (v) => colorAt("gray", v, 0, 1) : (v) => diverging(v, scale);
    const kScale = maxAbs(store.state.k.flat(2));
    const isPad = (r, c) => r < top || r >= top + H || c < left || c >= left + W;
    const tapped = new Map(taps(step).map(([r, c, a, b]) => [`${r},${c}`, [a, b]]));
    padded.forEach((matrix, ch) => {
      const layout = layouts.input[ch];
      if (labelH) {
        ctx.fillStyle = "#1d2433";
        ctx.font = "600 13px system-ui, sans-serif";
        ctx.textBaseline = "alphabetic";
        ctx.fillText(`Channel ${channelName(ch, C)}`, 1, layout.y - 7);
      }
      const kernel = kernelOf(ch);
      drawGrid(ctx, matrix, layout, {
        fill: (v, r, c) => {
          const base = isPad(r, c) ? [226, 229, 235] : shade(v);
          const tap = tapped.get(`${r},${c}`);
          return tap ? mix(base, diverging(kernel[tap[0]][tap[1]], kScale), 0.55) : base;
        },
        text: (v) => formatNumber(v, 2),
        style: (r, c) => (isPad(r, c) ? "padding" : null),
      });
      for (const [key, [a, b]] of tapped) {
        const [r, c] = key.split(",").map(Number);
        if (r < rows && c < cols) {
          outlineCells(ctx, layout, r, c, r, c, { color: "#111418", width: 2 });
          if (size >= 30) cornerLabel(ctx, layout, r, c, `×${formatNumber(kernel[a][b], 2)}`);
        }
      }
      const dilated = geometry.dilation[0] > 1 || geometry.dilation[1] > 1;
      outlineWindow(ctx, layout, step.origin, geometry.effective_kernel, { dilated, inset: -1 });
      if (hoverInput) outlineCells(ctx, layout, hoverInput[0], hoverInput[1], hoverInput[0], hoverInput[1], { color: "#d62c6a", width: 3 });
    });
    byTestId(root, "input-caption").textContent =
      `${C > 1 ? `${C}×` : ""}${H}×${W}${top || left ? `, padded to ${rows}×${cols}` : ""}`;
  }

  function drawKernel(size) {
    const k = store.state.k;
    const C = k.length;
    const [kh, kw] = [k[0].length, k[0][0].length];
    const labelH = C > 1 ? 22 : 0;
    const probe = gridLayout({ rows: kh, cols: kw, cellSize: size, gap: 2 });
    const list = k.map((_, ch) => gridLayout({ rows: kh, cols: kw, cellSize: size, gap: 2, x: 1, y: 1 + ch * (probe.height + labelH + 12) + labelH }));
    const lastK = list[C - 1];
    const ctx = sizeCanvas(canvases.kernel, probe.width + 2, lastK.y + lastK.height + 1);
    const scale = maxAbs(k.flat(2));
    k.forEach((matrix, ch) => {
      if (labelH) {
        ctx.fillStyle = "#1d2433";
        ctx.font = "600 13px system-ui, sans-serif";
        ctx.fillText(`Channel ${channelName(ch, C)}`, 1, list[ch].y - 7);
      }
      drawGrid(ctx, matrix, list[ch], { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2) });
    });
    const [dh, dw] = result.geometry.dilation;
    byTestId(root, "kernel-caption").textContent =
      `${C > 1 ? `${C}×` : ""}${kh}×${kw}${dh > 1 || dw > 1 ? `, dilation ${dh}` : ""}${store.state.bias ? `, bias ${formatNumber(store.state.bias)}` : ""}`;
  }

  function drawOutput(size) {
    const { output, geometry, steps } = result;
    const [ho, wo] = geometry.output;
    const users = hoverInput ? usersOf(hoverInput) : [];
    layouts.output = drawOutputCanvas(canvases.output, output, [ho, wo], { size, margin: 1, steps, index: player.index, scale: maxAbs(output.flat()), users, usersColor: "#d62c6a" });
    byTestId(root, "output-caption").textContent = `${ho}×${wo}`;
  }

  function usersOf(cell) {
    return stepsUsing(result.steps, cell, taps);
  }

  function renderDetail(step) {
    const C = step.window.length;
    const blocks = step.window.map((win, ch) => {
      const kernel = kernelOf(ch);
      const products = step.products[ch];
      const small = 30;
      const grids = [
        ["window", win],
        ["kernel", kernel],
        ["products", products],
      ].map(([name, matrix], n) => {
        const canvas = h("canvas", { dataset: { testid: `detail-${name}-${ch}` }, aria: { label: `${name} values` }, role: "img" });
        const layout = gridLayout({ rows: matrix.length, cols: matrix[0].length, cellSize: small, gap: 2, x: 1, y: 1 });
        const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
        const scale = maxAbs(matrix.flat());
        const fill = name === "window" && store.state.ex === IMAGE ? (v) => colorAt("gray", v, 0, 1) : (v) => diverging(v, scale);
        drawGrid(ctx, matrix, layout, { fill, text: (v) => formatNumber(v, 2), fontSize: 11 });
        return [n ? h("span", { class: "op", aria: { hidden: "true" } }, n === 1 ? "×" : "=") : null, h("figure", { class: "mini" }, canvas, h("figcaption", {}, name))];
      });
      const partial = products.flat().reduce((a, b) => a + b, 0);
      return h(
        "div",
        { class: "channel-block" },
        C > 1 ? h("h4", {}, `Channel ${channelName(ch, C)}`) : null,
        h("div", { class: "mini-row" }, grids),
        h("p", { class: "equation" }, equation(win.flat(), kernel.flat()), " = ", h("strong", {}, formatNumber(partial, 4))),
      );
    });
    const totalProducts = step.products.flat(2).reduce((a, b) => a + b, 0);
    replaceChildren(
      detail,
      stepHeading(player.index, step.out),
      blocks,
      h(
        "p",
        { class: "sum-line" },
        C > 1 ? `${C} channel sums ` : "Sum of products ",
        h("span", { class: "num" }, formatNumber(totalProducts, 4)),
        " + bias ",
        h("span", { class: "num" }, signed(step.bias)),
        " = ",
        h("strong", { class: "result", dataset: { testid: "step-sum" } }, formatNumber(step.sum, 4)),
      ),
      result.steps.length === 1
        ? h("p", { class: "hint" }, "This example has a single window position. Choose a larger example under Settings (or add input rows and columns) to watch the kernel slide.")
        : null,
    );
  }

  // ---- pointer interaction ---------------------------------------------------------
  bindOutputSeek(canvases.output, player, { layout: () => (result ? layouts.output : null), steps: () => result.steps });

  bindCellHover(canvases.input, {
    cellAt(x, y) {
      if (!result) return undefined;
      let cell = null;
      for (const layout of layouts.input) cell = cell ?? layout.cellAt(x, y);
      return cell;
    },
    current: () => hoverInput,
    info: hoverInfo,
    hint: hoverHint,
    describe(cell) {
      const users = usersOf(cell);
      if (!users.length) return `Padded cell (row ${cell[0]}, column ${cell[1]}) is not used by any output (the stride skips it).`;
      return `Padded cell (row ${cell[0]}, column ${cell[1]}) is used by output cell${users.length > 1 ? "s" : ""} ${outputCells(users)}.`;
    },
    onHover(cell) {
      hoverInput = cell;
      render();
    },
  });

  new ResizeObserver(debounce(render, 60)).observe(stage);
  syncSettings();
  start();

  /** First draw: a preset kernel named in the link, then the crop or the grid. */
  async function start() {
    const name = store.state.kernel;
    if (name) {
      try {
        const preset = (await api.listKernels()).find((k) => k.name === name);
        if (preset) store.set({ k: fitKernel([preset.values], store.state.x.length) });
        else notice.error(`There is no preset kernel called “${name}”; the kernel below is used instead.`);
      } catch (error) {
        notice.error(`Could not load the preset kernels. ${error.message}`);
      }
      store.set({ kernel: "" });
    }
    api
      .listSamples()
      .then((list) => settings.setSamples(list))
      .catch((error) => notice.error(`Could not load the sample images. ${error.message}`));
    if (isImage()) fetchCrop();
    else compute();
  }
}

// ---- the settings form --------------------------------------------------------------

function buildSettings(container, store, { onUpload, imageShape }) {
  const isImage = () => store.state.ex === IMAGE;
  // Editing the numbers of the input makes it "custom"; other settings keep an image crop.
  const set = (patch) => store.set({ ex: isImage() && !("x" in patch && !("crop" in patch)) ? IMAGE : "custom", ...patch });
  const example = h(
    "select",
    {
      id: "step-example",
      dataset: { testid: "example" },
      onChange: () => {
        const name = example.value;
        if (name === "custom") return;
        if (name === IMAGE) {
          store.set({ ex: IMAGE, step: 0 });
          return;
        }
        const e = EXAMPLES[name];
        store.set({ ex: name, x: e.x, k: e.k, bias: e.bias, stride: e.stride, padding: e.padding, mode: e.mode, dilation: e.dilation, step: 0 });
      },
    },
    Object.entries(EXAMPLES).map(([name, e]) => h("option", { value: name }, e.label)),
    h("option", { value: IMAGE }, "A crop of an image (below)"),
    h("option", { value: "custom" }, "Custom (your edits)"),
  );

  const channels = h(
    "select",
    {
      id: "step-channels",
      dataset: { testid: "channels" },
      onChange: () => {
        const C = Number(channels.value);
        const s = store.state;
        const grow = (stack) => Array.from({ length: C }, (_, ch) => structuredClone(stack[ch] ?? stack[0]));
        if (isImage()) set({ color: C === 3 ? "rgb" : "gray", k: grow(s.k), step: 0 });
        else set({ x: grow(s.x), k: grow(s.k), step: 0 });
      },
    },
    h("option", { value: "1" }, "1 (one grid)"),
    h("option", { value: "3" }, "3 (RGB)"),
  );

  const mode = h(
    "select",
    { id: "step-mode", dataset: { testid: "padding-mode" }, onChange: () => trySet({ mode: mode.value }, mode) },
    padModes.map((m) => h("option", { value: m }, m)),
  );
  const modeMsg = h("span", { class: "field-msg", dataset: { testid: "padding-mode-msg" } });

  function trySet(patch, control) {
    const reason = refusal({ ...store.state, ...patch });
    if (reason) {
      modeMsg.textContent = `${reason} Kept ${store.state.mode}.`;
      modeMsg.classList.add("field-msg-error");
      control.value = store.state.mode;
      return;
    }
    modeMsg.textContent = "";
    modeMsg.classList.remove("field-msg-error");
    set({ ...patch, step: 0 });
  }

  // Integer fields: the valid range of each is found by trying values with `refusal`.
  const spec = {
    rows: { label: "Input rows", get: (s) => s.x[0].length, patch: (s, v) => ({ x: s.x.map((m) => resizeMatrix(m, v, m[0].length)), ...cropPatch(s, { rows: v }) }) },
    cols: { label: "Input columns", get: (s) => s.x[0][0].length, patch: (s, v) => ({ x: s.x.map((m) => resizeMatrix(m, m.length, v)), ...cropPatch(s, { cols: v }) }) },
    kh: { label: "Kernel rows", get: (s) => s.k[0].length, patch: (s, v) => ({ k: s.k.map((m) => resizeMatrix(m, v, m[0].length)) }) },
    kw: { label: "Kernel columns", get: (s) => s.k[0][0].length, patch: (s, v) => ({ k: s.k.map((m) => resizeMatrix(m, m.length, v)) }) },
    stride: { label: "Stride", get: (s) => s.stride, patch: (s, v) => ({ stride: v }) },
    padding: { label: "Padding", get: (s) => s.padding, patch: (s, v) => ({ padding: v }) },
    dilation: { label: "Dilation", get: (s) => s.dilation, patch: (s, v) => ({ dilation: v }) },
  };
  const fields = createSpecFields(spec, { store, limits: LIMITS, refusal, onChange: (patch) => set({ ...patch, step: 0 }) });
  const bias = createNumberField({ label: "Bias", testid: "bias", value: store.state.bias, integer: false, step: 0.1, onChange: (v) => set({ bias: v }) });

  const inputEditors = h("div", { class: "editors", dataset: { testid: "input-editors" } });
  const kernelEditors = h("div", { class: "editors", dataset: { testid: "kernel-editors" } });
  let editors = { x: [], k: [] };

  function buildEditors() {
    const s = store.state;
    const C = s.x.length;
    editors.x = s.x.map((m, ch) =>
      createMatrixEditor({
        label: C > 1 ? `Input channel ${channelName(ch, C)}` : "Input",
        testid: `input-editor-${ch}`,
        values: m,
        scale: () => maxAbs(store.state.x.flat(2)),
        onChange: (values) => set({ x: store.state.x.map((old, i) => (i === ch ? values : old)) }),
      }),
    );
    editors.k = s.k.map((m, ch) =>
      createMatrixEditor({
        label: C > 1 ? `Kernel channel ${channelName(ch, C)}` : "Kernel",
        testid: `kernel-editor-${ch}`,
        values: m,
        scale: () => maxAbs(store.state.k.flat(2)),
        onChange: (values) => set({ k: store.state.k.map((old, i) => (i === ch ? values : old)) }),
      }),
    );
    const titled = (list, name) => list.map((e, ch) => h("div", { class: "editor-block" }, C > 1 ? h("h4", {}, `${name} ${channelName(ch, C)}`) : null, e.root));
    replaceChildren(inputEditors, titled(editors.x, "Channel"));
    replaceChildren(kernelEditors, titled(editors.k, "Channel"));
  }

  /** In image mode the input's size is the crop's size (the crop's values follow). */
  function cropPatch(s, { rows = s.crop[2], cols = s.crop[3] }) {
    if (s.ex !== IMAGE) return {};
    const shape = imageShape();
    const crop = [s.crop[0], s.crop[1], rows, cols];
    return { crop: shape ? clampCrop(crop, shape[1], shape[2]) : crop };
  }

  const picker = buildCropPicker(store, { onUpload, imageShape });

  const labelled = (id, text, control, extra = null) => h("div", { class: "field" }, h("label", { htmlFor: id }, text), control, extra);
  replaceChildren(
    container,
    labelled("step-example", "Example", example),
    h("div", { class: "field-row" }, labelled("step-channels", "Channels", channels), bias.root),
    picker.root,
    h("fieldset", {}, h("legend", {}, "Input"), h("div", { class: "field-row" }, fields.rows.root, fields.cols.root), inputEditors),
    h("fieldset", {}, h("legend", {}, "Kernel"), h("div", { class: "field-row" }, fields.kh.root, fields.kw.root), kernelEditors),
    h(
      "fieldset",
      {},
      h("legend", {}, "Sliding"),
      h("div", { class: "field-row" }, fields.stride.root, fields.padding.root, fields.dilation.root),
      labelled("step-mode", "Padding mode", mode, modeMsg),
    ),
  );

  let shape = "";
  return {
    setSamples: picker.setSamples,
    setUpload: picker.setUpload,
    showImage: picker.showImage,
    sync(s) {
      picker.sync(s);
      example.value = s.ex;
      channels.value = String(s.x.length);
      mode.value = s.mode;
      bias.setValue(s.bias);
      syncSpecFields(fields, spec, { limits: LIMITS, refusal }, s);
      const nextShape = `${s.x.length}/${s.x[0].length}x${s.x[0][0].length}/${s.k[0].length}x${s.k[0][0].length}`;
      if (nextShape !== shape) {
        shape = nextShape;
        buildEditors();
      } else {
        s.x.forEach((m, ch) => editors.x[ch].setValues(m));
        s.k.forEach((m, ch) => editors.k[ch].setValues(m));
      }
    },
  };
}


// ---- the image crop picker ----------------------------------------------------------

/** Sample or upload, the scale, and a thumbnail on which a click places the crop. */
function buildCropPicker(store, { onUpload, imageShape }) {
  const isImage = () => store.state.ex === IMAGE;
  const setCrop = (crop) => store.set({ ex: IMAGE, crop, step: 0 });
  let samples = [];
  let uploadUrl = null;

  const sample = h("select", {
    id: "step-src",
    dataset: { testid: "crop-sample" },
    onChange: () => store.set({ ex: IMAGE, src: sample.value, step: 0 }),
  });
  const fileInput = h("input", {
    id: "step-upload",
    class: "sr-only",
    type: "file",
    accept: "image/png,image/jpeg,image/gif,image/bmp,image/webp",
    dataset: { testid: "crop-upload" },
    onChange: () => onUpload(fileInput.files?.[0]),
  });
  const size = h(
    "select",
    { id: "step-size", dataset: { testid: "crop-size" }, onChange: () => store.set({ ex: IMAGE, size: size.value, step: 0 }) },
    IMAGE_SIZES.map((n) => h("option", { value: n }, `${n} px`)),
  );
  const picture = h("img", { alt: "", dataset: { testid: "crop-image" }, draggable: "false" });
  const overlay = svg("svg", { class: "overlay", "aria-hidden": "true", preserveAspectRatio: "none" });
  const info = h("p", { id: "step-crop-info", class: "hint crop-info", dataset: { testid: "crop-info" } });
  const frame = h(
    "div",
    {
      class: "crop-picker",
      tabIndex: 0,
      role: "group",
      dataset: { testid: "crop-picker" },
      aria: { label: "Image: click a spot to step through the pixels there; arrow keys move the crop", describedby: "step-crop-info" },
    },
    picture,
    overlay,
  );
  const use = h("button", { type: "button", class: "btn", dataset: { testid: "crop-use" }, onClick: () => store.set({ ex: IMAGE, step: 0 }) }, "Use a crop of an image");

  const position = (label, testid, index) =>
    createNumberField({
      label,
      testid,
      value: store.state.crop[index],
      min: 0,
      onChange: (v) => setCrop(store.state.crop.map((old, i) => (i === index ? v : old))),
    });
  const top = position("Top row", "crop-top", 0);
  const left = position("Left column", "crop-left", 1);

  frame.addEventListener("click", (event) => {
    const shape = imageShape();
    if (!shape) return;
    const box = picture.getBoundingClientRect();
    const [, H, W] = shape;
    const row = Math.floor(((event.clientY - box.top) / box.height) * H);
    const col = Math.floor(((event.clientX - box.left) / box.width) * W);
    const [, , rows, cols] = store.state.crop;
    setCrop(clampCrop([row - Math.floor(rows / 2), col - Math.floor(cols / 2), rows, cols], H, W));
  });
  frame.addEventListener("keydown", (event) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    const shape = imageShape();
    if (!move || !shape) return;
    event.preventDefault();
    event.stopPropagation(); // the arrows move the crop here, not the player
    const [r0, c0, rows, cols] = store.state.crop;
    const by = event.shiftKey ? Math.max(rows, cols) : 1;
    setCrop(clampCrop([r0 + move[0] * by, c0 + move[1] * by, rows, cols], shape[1], shape[2]));
  });

  // The picture and its controls show in image mode; otherwise one button offers it.
  const details = h(
    "div",
    { class: "crop-details" },
    h("p", { class: "hint" }, "Click a spot on the picture to step through its pixel values (0 = black, 1 = white)."),
    h(
      "div",
      { class: "field-row" },
      h("div", { class: "field" }, h("label", { htmlFor: "step-src" }, "Image"), sample),
      h("div", { class: "field" }, h("label", { htmlFor: "step-size" }, "Scaled to"), size),
    ),
    h("div", { class: "crop-upload" }, h("label", { class: "btn", htmlFor: "step-upload" }, "Upload an image…"), fileInput, h("span", { class: "upload-name", dataset: { testid: "crop-upload-name" } })),
    frame,
    info,
    h("div", { class: "field-row" }, top.root, left.root),
  );
  const root = h(
    "fieldset",
    { class: "crop-fieldset" },
    h("legend", {}, "From an image"),
    h("p", { class: "hint crop-offer" }, "Step through a few real pixels of a photo or sample."),
    use,
    details,
  );

  function drawCrop() {
    const shape = imageShape();
    if (!shape) return replaceChildren(overlay);
    const [, H, W] = shape;
    const [r0, c0, rows, cols] = store.state.crop;
    overlay.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const rect = (cls) => svg("rect", { x: c0, y: r0, width: cols, height: rows, class: cls, "vector-effect": "non-scaling-stroke" });
    replaceChildren(overlay, rect("field-halo"), rect("field"));
    info.textContent = `Crop: rows ${r0}–${r0 + rows - 1}, columns ${c0}–${c0 + cols - 1} of the ${W}×${H} px image${isImage() ? "" : " (not in use)"}.`;
    top.setBounds({ min: 0, max: H - rows, maxReason: `The crop's ${rows} rows must fit in the image's ${H}.` });
    left.setBounds({ min: 0, max: W - cols, maxReason: `The crop's ${cols} columns must fit in the image's ${W}.` });
  }

  function showPicture(s) {
    const url = s.src === UPLOAD ? uploadUrl : samples.find((item) => item.name === s.src)?.url;
    if (url && picture.getAttribute("src") !== url) picture.src = url;
    picture.alt = s.src === UPLOAD ? "The uploaded image" : `Sample image: ${samples.find((item) => item.name === s.src)?.label ?? s.src}`;
  }

  return {
    root,
    setSamples(list) {
      samples = list;
      replaceChildren(sample, list.map((item) => h("option", { value: item.name }, item.label)), uploadUrl ? h("option", { value: UPLOAD }, "Your upload") : null);
      sample.value = store.state.src;
      showPicture(store.state);
    },
    setUpload(file) {
      if (uploadUrl) URL.revokeObjectURL(uploadUrl);
      uploadUrl = URL.createObjectURL(file);
      root.querySelector('[data-testid="crop-upload-name"]').textContent = `Using ${file.name || "pasted image"}`;
      this.setSamples(samples);
    },
    showImage: drawCrop,
    sync(s) {
      if ([...sample.options].some((o) => o.value === s.src)) sample.value = s.src;
      size.value = s.size;
      top.setValue(s.crop[0]);
      left.setValue(s.crop[1]);
      use.hidden = isImage();
      details.hidden = !isImage();
      root.querySelector(".crop-offer").hidden = isImage();
      frame.classList.toggle("is-active", isImage());
      showPicture(s);
      drawCrop();
    },
  };
}
