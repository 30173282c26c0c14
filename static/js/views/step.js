// /step: one convolution played cell by cell. The server computes the trace
// (POST /api/v1/conv2d with trace: true); this view replays its steps with the Player.

import * as api from "../api.js";
import { byTestId, debounce, h, replaceChildren, sizeCanvas } from "../dom.js";
import { Player } from "../player.js";
import { diverging, maxAbs, mix } from "../render/colors.js";
import { formatNumber } from "../render/format.js";
import { cornerLabel, drawGrid, gridLayout, outlineCells } from "../render/grid.js";
import { createStore, field } from "../state.js";
import { createMatrixEditor, resizeMatrix } from "./widgets/matrix-editor.js";
import { createNotice } from "./widgets/notice.js";
import { createNumberField } from "./widgets/number-field.js";
import { bindPlayerKeys, createPlayerControls } from "./widgets/player-controls.js";
import { canvasPoint, channelName, equation, padModes, signed } from "./shared.js";

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

const SCHEMA = {
  ex: field.choice("edge", [...Object.keys(EXAMPLES), "custom"]),
  x: field.matrix(DEFAULT.x, { depth: 3 }),
  k: field.matrix(DEFAULT.k, { depth: 3 }),
  bias: field.number(DEFAULT.bias),
  stride: field.int(DEFAULT.stride, { min: 1, max: LIMITS.stride[1] }),
  padding: field.int(DEFAULT.padding, { min: 0, max: LIMITS.padding[1] }),
  mode: field.choice(DEFAULT.mode, padModes),
  dilation: field.int(DEFAULT.dilation, { min: 1, max: LIMITS.dilation[1] }),
  step: field.int(0, { min: 0, max: MAX_STEPS }),
};

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
  const store = createStore(SCHEMA);
  // A link names an example and only the settings that differ from the default one.
  const query = new URLSearchParams(window.location.search);
  const chosen = EXAMPLES[store.state.ex];
  if (chosen) store.set(Object.fromEntries(EXAMPLE_KEYS.filter((key) => !query.has(key)).map((key) => [key, chosen[key]])));
  const player = new Player({ speed: 2 });
  const notice = createNotice(byTestId(root, "notice"));
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

  // ---- settings -----------------------------------------------------------------
  const settings = buildSettings(byTestId(root, "step-settings"), store);
  const controls = createPlayerControls(player, { label: "Convolution steps" });
  byTestId(root, "player").append(controls.root);
  bindPlayerKeys(player);

  function syncSettings() {
    settings.sync(store.state);
  }

  // ---- compute ------------------------------------------------------------------
  async function compute() {
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
      player.setCount(response.steps.length, { index: store.state.step });
      render();
    } catch (error) {
      if (id !== requestId) return;
      notice.error(error.message);
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = debounce(compute, 120);

  store.subscribe((state, changed) => {
    if (changed.size === 1 && changed.has("step")) return;
    syncSettings();
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
    drawOutput(step, size);
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
          const base = isPad(r, c) ? [226, 229, 235] : diverging(v, scale);
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
      const [eh, ew] = geometry.effective_kernel;
      const [r0, c0] = step.origin;
      if (geometry.dilation[0] > 1 || geometry.dilation[1] > 1) {
        outlineCells(ctx, layout, r0, c0, r0 + eh - 1, c0 + ew - 1, { color: "#111418", width: 2, dash: [6, 4], inset: -1 });
      } else {
        outlineCells(ctx, layout, r0, c0, r0 + eh - 1, c0 + ew - 1, { color: "#111418", width: 3, inset: -1 });
      }
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

  function drawOutput(step, size) {
    const { output, geometry, steps } = result;
    const [ho, wo] = geometry.output;
    const layout = gridLayout({ rows: ho, cols: wo, cellSize: size, gap: 2, x: 1, y: 1 });
    layouts.output = layout;
    const ctx = sizeCanvas(canvases.output, layout.width + 2, layout.height + 2);
    const done = new Set(steps.slice(0, player.index + 1).map((s) => `${s.out[1]},${s.out[2]}`));
    const scale = maxAbs(output.flat());
    drawGrid(ctx, output, layout, {
      fill: (v) => diverging(v, scale),
      text: (v) => formatNumber(v, 2),
      style: (r, c) => (done.has(`${r},${c}`) ? null : "outside"),
    });
    const [, i, j] = step.out;
    outlineCells(ctx, layout, i, j, i, j, { color: "#111418", width: 3 });
    if (hoverInput) {
      for (const s of usersOf(hoverInput)) outlineCells(ctx, layout, s.out[1], s.out[2], s.out[1], s.out[2], { color: "#d62c6a", width: 3, dash: [4, 3] });
    }
    byTestId(root, "output-caption").textContent = `${ho}×${wo}`;
  }

  function usersOf([r, c]) {
    return result.steps.filter((s) => taps(s).some(([tr, tc]) => tr === r && tc === c));
  }

  function renderDetail(step) {
    const C = step.window.length;
    const [, i, j] = step.out;
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
        drawGrid(ctx, matrix, layout, { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2), fontSize: 11 });
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
      h("h3", {}, `Step ${player.index + 1}: output cell (row ${i}, column ${j})`),
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
  function outputCellAt(event) {
    if (!result || !layouts.output) return null;
    const [x, y] = canvasPoint(canvases.output, event);
    return layouts.output.cellAt(x, y);
  }

  function jumpTo(event) {
    const cell = outputCellAt(event);
    if (!cell) return;
    const index = result.steps.findIndex((s) => s.out[1] === cell[0] && s.out[2] === cell[1]);
    if (index >= 0) player.seek(index);
  }
  canvases.output.addEventListener("pointermove", jumpTo);
  canvases.output.addEventListener("click", jumpTo);

  canvases.input.addEventListener("pointermove", (event) => {
    if (!result) return;
    const [x, y] = canvasPoint(canvases.input, event);
    let cell = null;
    for (const layout of layouts.input) cell = cell ?? layout.cellAt(x, y);
    const same = cell && hoverInput && cell[0] === hoverInput[0] && cell[1] === hoverInput[1];
    if (same) return;
    hoverInput = cell;
    if (cell) {
      const users = usersOf(cell).map((s) => `(${s.out[1]}, ${s.out[2]})`);
      hoverInfo.textContent = users.length
        ? `Padded cell (row ${cell[0]}, column ${cell[1]}) is used by output cell${users.length > 1 ? "s" : ""} ${users.join(", ")}.`
        : `Padded cell (row ${cell[0]}, column ${cell[1]}) is not used by any output (the stride skips it).`;
    } else hoverInfo.textContent = hoverHint;
    render();
  });
  canvases.input.addEventListener("pointerleave", () => {
    hoverInput = null;
    hoverInfo.textContent = hoverHint;
    render();
  });

  new ResizeObserver(debounce(render, 60)).observe(stage);
  syncSettings();
  compute();
}

// ---- the settings form --------------------------------------------------------------

function buildSettings(container, store) {
  const set = (patch) => store.set({ ex: "custom", ...patch });
  const example = h(
    "select",
    {
      id: "step-example",
      dataset: { testid: "example" },
      onChange: () => {
        const name = example.value;
        if (name === "custom") return;
        const e = EXAMPLES[name];
        store.set({ ex: name, x: e.x, k: e.k, bias: e.bias, stride: e.stride, padding: e.padding, mode: e.mode, dilation: e.dilation, step: 0 });
      },
    },
    Object.entries(EXAMPLES).map(([name, e]) => h("option", { value: name }, e.label)),
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
        set({ x: grow(s.x), k: grow(s.k), step: 0 });
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
    rows: { label: "Input rows", get: (s) => s.x[0].length, patch: (s, v) => ({ x: s.x.map((m) => resizeMatrix(m, v, m[0].length)) }) },
    cols: { label: "Input columns", get: (s) => s.x[0][0].length, patch: (s, v) => ({ x: s.x.map((m) => resizeMatrix(m, m.length, v)) }) },
    kh: { label: "Kernel rows", get: (s) => s.k[0].length, patch: (s, v) => ({ k: s.k.map((m) => resizeMatrix(m, v, m[0].length)) }) },
    kw: { label: "Kernel columns", get: (s) => s.k[0][0].length, patch: (s, v) => ({ k: s.k.map((m) => resizeMatrix(m, m.length, v)) }) },
    stride: { label: "Stride", get: (s) => s.stride, patch: (s, v) => ({ stride: v }) },
    padding: { label: "Padding", get: (s) => s.padding, patch: (s, v) => ({ padding: v }) },
    dilation: { label: "Dilation", get: (s) => s.dilation, patch: (s, v) => ({ dilation: v }) },
  };
  const fields = {};
  for (const [key, f] of Object.entries(spec)) {
    fields[key] = createNumberField({
      label: f.label,
      testid: key,
      value: f.get(store.state),
      min: LIMITS[key][0],
      max: LIMITS[key][1],
      check: (v) => refusal({ ...store.state, ...f.patch(store.state, v) }),
      onChange: (v) => set({ ...f.patch(store.state, v), step: 0 }),
    });
  }
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

  const labelled = (id, text, control, extra = null) => h("div", { class: "field" }, h("label", { htmlFor: id }, text), control, extra);
  replaceChildren(
    container,
    labelled("step-example", "Example", example),
    h("div", { class: "field-row" }, labelled("step-channels", "Channels", channels), bias.root),
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
    sync(s) {
      example.value = s.ex;
      channels.value = String(s.x.length);
      mode.value = s.mode;
      bias.setValue(s.bias);
      for (const [key, f] of Object.entries(spec)) {
        const current = f.get(s);
        fields[key].setValue(current);
        // The largest / smallest value that still gives a valid setting.
        let hi = current;
        while (hi < LIMITS[key][1] && !refusal({ ...s, ...f.patch(s, hi + 1) })) hi += 1;
        let lo = current;
        while (lo > LIMITS[key][0] && !refusal({ ...s, ...f.patch(s, lo - 1) })) lo -= 1;
        const maxReason = hi < LIMITS[key][1] ? refusal({ ...s, ...f.patch(s, hi + 1) }) : "";
        fields[key].setBounds({ min: lo, max: hi, maxReason });
      }
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

