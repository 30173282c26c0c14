// /pooling: max and average pooling played window by window. The server computes the
// trace, the sizes and the size formula (POST /api/v1/pool2d with trace: true), and says
// why a setting cannot be pooled; this view replays the trace with the Player.

import * as api from "../api.js";
import { byTestId, debounce, h, replaceChildren, sizeCanvas } from "../dom.js";
import { Player } from "../player.js";
import { colorRule, diverging, loadColormaps, maxAbs } from "../render/colors.js";
import { finiteRange, formatNumber, formatShape } from "../render/format.js";
import { drawGrid, gridLayout, outlineCells } from "../render/grid.js";
import { outlineWindow } from "../render/steps.js";
import { createStore, field } from "../state.js";
import { createMatrixEditor, resizeMatrix } from "./widgets/matrix-editor.js";
import { createNotice } from "./widgets/notice.js";
import { bindPlayerKeys, createPlayerControls } from "./widgets/player-controls.js";
import { createRangeLabel } from "./widgets/range-label.js";
import {
  bindCellHover,
  bindOutputSeek,
  createSpecFields,
  drawOutputCanvas,
  outputCells,
  showFormula,
  stepHeading,
  stepsUsing,
  syncSpecFields,
} from "./shared.js";

export const HIGHLIGHT = "#d62c6a"; // the chosen maximum
const DEFAULT_INPUT = [
  [1, 3, 2, 9, 0, 4],
  [5, 6, 1, 2, 7, 3],
  [0, 2, 8, 4, 1, 1],
  [3, 1, 5, 7, 2, 6],
  [9, 4, 2, 0, 3, 5],
  [2, 8, 6, 1, 4, 0],
];
// What this page offers (a teaching size); the server says which combinations can be pooled.
const LIMITS = { rows: [1, 8], cols: [1, 8], k: [1, 5], stride: [1, 5], padding: [0, 2], dil: [1, 3] };

const SCHEMA = {
  x: field.matrix(DEFAULT_INPUT),
  mode: field.choice("max", ["max", "avg"]),
  k: field.int(2, { min: 1, max: LIMITS.k[1] }),
  stride: field.int(2, { min: 1, max: LIMITS.stride[1] }),
  padding: field.int(0, { min: 0, max: LIMITS.padding[1] }),
  dil: field.int(1, { min: 1, max: LIMITS.dil[1] }), // dilation, max pooling only
  ceil: field.bool(false),
  cip: field.bool(true),
  step: field.int(0, { min: 0, max: 400 }),
};

export function mount(root) {
  const store = createStore(SCHEMA);
  const player = new Player({ speed: 2 });
  const notice = createNotice(byTestId(root, "notice"));
  const stage = byTestId(root, "pool-stage");
  const canvases = { input: byTestId(root, "input-canvas"), output: byTestId(root, "output-canvas") };
  const detail = byTestId(root, "step-detail");
  const hoverInfo = byTestId(root, "hover-info");
  const hoverHint = hoverInfo.textContent;
  let result = null;
  let layouts = { input: null, output: null };
  let hoverInput = null;
  let requestId = 0;

  const settings = buildSettings(byTestId(root, "pool-settings"), store);
  byTestId(root, "player").append(createPlayerControls(player, { label: "Pooling steps" }).root);
  bindPlayerKeys(player);

  const ranges = { input: createRangeLabel({ testid: "input-range" }), output: createRangeLabel({ testid: "output-range" }) };
  for (const [name, label] of Object.entries(ranges)) canvases[name].closest("figure").append(label.root);

  /** A failed request: say why next to the control that caused it and dim the old result. */
  function fail(message) {
    notice.error(message);
    const beside = settings.showError(message);
    if (result) stage.classList.add("stale");
    (beside ?? byTestId(root, "notice")).scrollIntoView?.({ block: "nearest" });
  }

  async function compute() {
    const s = store.state;
    const id = ++requestId;
    stage.setAttribute("aria-busy", "true");
    const body = { input: s.x, mode: s.mode, kernel_size: s.k, stride: s.stride, padding: s.padding, ceil_mode: s.ceil, trace: true };
    if (s.mode === "avg") body.count_include_pad = s.cip;
    else body.dilation = s.dil;
    try {
      const response = await api.pool2d(body);
      if (id !== requestId) return;
      notice.clear();
      settings.clearError();
      stage.classList.remove("stale");
      result = response;
      player.setCount(response.steps.length, { index: store.state.step });
      render();
    } catch (error) {
      if (id === requestId) fail(error.message);
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = debounce(compute, 120);

  store.subscribe((state, changed) => {
    if (changed.size === 1 && changed.has("step")) return;
    settings.sync(state);
    computeSoon();
  });
  player.subscribe(({ index }) => {
    store.set({ step: index });
    render();
  });

  /** Rows and columns the drawing needs: the padded input, plus any ceil_mode overhang. */
  function extent() {
    const { geometry, steps } = result;
    const [H, W] = geometry.input;
    const [t, b, l, r] = geometry.padding;
    let rows = H + t + b;
    let cols = W + l + r;
    const [ekh, ekw] = geometry.effective_kernel;
    for (const step of steps) {
      rows = Math.max(rows, step.origin[0] + ekh);
      cols = Math.max(cols, step.origin[1] + ekw);
    }
    return { rows, cols, H, W, t, l, hp: H + t + b, wp: W + l + r };
  }

  function cellSize(cols, outCols) {
    const available = stage.clientWidth - 48;
    if (available >= 640) return Math.max(26, Math.min(56, Math.floor((available - 80) / (cols + outCols))));
    return Math.max(26, Math.min(48, Math.floor((available - 8) / Math.max(cols, outCols))));
  }

  function windowCells(step) {
    const [kh, kw] = result.geometry.kernel;
    const [dh, dw] = result.geometry.dilation;
    const cells = [];
    for (let a = 0; a < kh; a += 1) for (let b = 0; b < kw; b += 1) cells.push([step.origin[0] + a * dh, step.origin[1] + b * dw]);
    return cells;
  }

  function render() {
    if (!result) return;
    const step = result.steps[player.index];
    const e = extent();
    const size = cellSize(e.cols, result.geometry.output[1]);
    drawInput(step, e, size);
    drawOutput(size);
    renderDetail(step);
  }

  function drawInput(step, e, size) {
    const s = store.state;
    const layout = gridLayout({ rows: e.rows, cols: e.cols, cellSize: size, gap: 2, x: 2, y: 2 });
    layouts.input = layout;
    const ctx = sizeCanvas(canvases.input, layout.width + 4, layout.height + 4);
    Object.assign(canvases.input.dataset, { cell: size, gap: 2, x0: 2, y0: 2, padTop: e.t, padLeft: e.l });
    const inInput = (r, c) => r >= e.t && r < e.t + e.H && c >= e.l && c < e.l + e.W;
    const scale = maxAbs(s.x.flat());
    const values = Array.from({ length: e.rows }, (_, r) => Array.from({ length: e.cols }, (_, c) => (inInput(r, c) ? s.x[r - e.t][c - e.l] : null)));
    drawGrid(ctx, values, layout, {
      // Cells keep their value's colour; the window is the black frame drawn below.
      fill: (v) => (v === null ? [226, 229, 235] : diverging(v, scale)),
      text: (v) => (v === null ? (s.mode === "max" ? "−∞" : "0") : formatNumber(v, 2)),
      style: (r, c) => (r >= e.hp || c >= e.wp ? "outside" : inInput(r, c) ? null : "padding"),
    });
    const [ekh, ekw] = result.geometry.effective_kernel;
    const [r0, c0] = step.origin;
    const [dh, dw] = result.geometry.dilation;
    const dilated = dh > 1 || dw > 1;
    outlineWindow(ctx, layout, [r0, c0], [ekh, ekw], { dilated, inset: -2 });
    // Dilated: the window reads only its taps (outlined); the gaps between are skipped.
    if (dilated) for (const [r, c] of windowCells(step)) outlineCells(ctx, layout, r, c, r, c, { color: "#111418", width: 2 });
    if (step.argmax) {
      const [ar, ac] = [step.argmax[0] + e.t, step.argmax[1] + e.l];
      outlineCells(ctx, layout, ar, ac, ar, ac, { color: HIGHLIGHT, width: 4 });
    }
    if (hoverInput) outlineCells(ctx, layout, hoverInput[0], hoverInput[1], hoverInput[0], hoverInput[1], { color: "#1d4ed8", width: 3, dash: [4, 3] });
    byTestId(root, "input-caption").textContent = `${formatShape([e.H, e.W])}${e.t || e.l ? `, padded to ${formatShape([e.hp, e.wp])}` : ""}`;
    const { min, max } = finiteRange(s.x);
    ranges.input.show({ min, max, vmin: -scale, vmax: scale });
  }

  function drawOutput(size) {
    const [ho, wo] = result.geometry.output;
    Object.assign(canvases.output.dataset, { cell: size, gap: 2, x0: 2, y0: 2 });
    const users = hoverInput ? usersOf(hoverInput) : [];
    // The input's scale, so a pooled value has the colour of the input cell it came from.
    const scale = maxAbs(store.state.x.flat());
    layouts.output = drawOutputCanvas(canvases.output, result.output, [ho, wo], {
      size,
      margin: 2,
      steps: result.steps,
      index: player.index,
      scale,
      users,
      usersColor: "#1d4ed8",
    });
    byTestId(root, "output-caption").textContent = formatShape([ho, wo]);
    const { min, max } = finiteRange(result.output);
    ranges.output.show({ min, max, vmin: -scale, vmax: scale, scaleNote: "the input's, so a pooled value keeps its colour" });
    showFormula(byTestId(root, "formula"), result.geometry);
  }

  function usersOf(cell) {
    return stepsUsing(result.steps, cell, windowCells);
  }

  function renderDetail(step) {
    const win = step.window.length && Array.isArray(step.window[0][0]) ? step.window[0] : step.window;
    const real = win.flat().filter((v) => v !== null);
    const canvas = h("canvas", { dataset: { testid: "detail-window" }, role: "img", aria: { label: "window values" } });
    const layout = gridLayout({ rows: win.length, cols: win[0].length, cellSize: 32, gap: 2, x: 1, y: 1 });
    const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
    const scale = maxAbs(store.state.x.flat());
    const e = extent();
    drawGrid(ctx, win, layout, {
      fill: (v) => (v === null ? [226, 229, 235] : diverging(v, scale)),
      text: (v) => (v === null ? "pad" : formatNumber(v, 2)),
      style: (r, c) => (win[r][c] === null ? "padding" : null),
      fontSize: 11,
    });
    let explanation;
    if (step.argmax) {
      const [ar, ac] = step.argmax;
      const [dh, dw] = result.geometry.dilation;
      const wr = (ar + e.t - step.origin[0]) / dh; // the tap of the window that holds the maximum
      const wc = (ac + e.l - step.origin[1]) / dw;
      outlineCells(ctx, layout, wr, wc, wr, wc, { color: HIGHLIGHT, width: 3 });
      explanation = h(
        "p",
        { class: "sum-line" },
        `max(${real.map((v) => formatNumber(v, 3)).join(", ")}) = `,
        h("strong", { class: "result", dataset: { testid: "step-value" } }, formatNumber(step.value, 4)),
        h("span", { dataset: { testid: "argmax-text" } }, ` at input row ${ar}, column ${ac}`),
      );
    } else {
      const sum = step.sum ?? real.reduce((a, b) => a + b, 0);
      explanation = h(
        "p",
        { class: "sum-line" },
        `(${real.map((v) => formatNumber(v, 3)).join(" + ")}) = ${formatNumber(sum, 4)}; `,
        `${formatNumber(sum, 4)} / `,
        h("span", { class: "num", dataset: { testid: "divisor" } }, String(step.divisor)),
        " = ",
        h("strong", { class: "result", dataset: { testid: "step-value" } }, formatNumber(step.value, 4)),
        h("span", { class: "muted" }, ` (divisor ${step.divisor}: the ${step.divisor === 1 ? "cell" : "cells"} counted)`),
      );
    }
    replaceChildren(
      detail,
      stepHeading(player.index, step.out),
      h("div", { class: "mini-row" }, h("figure", { class: "mini" }, canvas, h("figcaption", {}, "window"))),
      explanation,
    );
  }

  bindOutputSeek(canvases.output, player, { layout: () => (result ? layouts.output : null), steps: () => result.steps });
  bindCellHover(canvases.input, {
    cellAt: (x, y) => (result ? (layouts.input?.cellAt(x, y) ?? null) : undefined),
    current: () => hoverInput,
    info: hoverInfo,
    hint: hoverHint,
    describe(cell) {
      const users = usersOf(cell);
      return users.length
        ? `Cell (row ${cell[0]}, column ${cell[1]}) falls in the window of output cell${users.length > 1 ? "s" : ""} ${outputCells(users)}.`
        : `Cell (row ${cell[0]}, column ${cell[1]}) is in no window.`;
    },
    onHover(cell) {
      hoverInput = cell;
      render();
    },
  });

  new ResizeObserver(debounce(render, 60)).observe(stage);
  settings.sync(store.state);
  loadColormaps().then(
    () => {
      byTestId(root, "color-rule").textContent = colorRule();
      compute();
    },
    (error) => notice.error(`Could not load the colour tables. ${error.message}`),
  );
}

function buildSettings(container, store) {
  let edited = null; // the control changed last: a server error is shown next to it
  const set = (patch, control = null) => {
    edited = control;
    store.set({ ...patch, step: 0 });
  };
  const radio = (name, value, text) =>
    h(
      "label",
      {},
      h("input", {
        type: "radio",
        name,
        value,
        dataset: { testid: `${name}-${value}` },
        onChange: () => set({ [name]: value, ...(value === "avg" ? { dil: 1 } : {}) }, "mode"),
      }),
      text,
    );
  const modeGroup = h(
    "div",
    { class: "choice-group", role: "radiogroup", aria: { label: "Pooling" } },
    radio("mode", "max", "Max"),
    radio("mode", "avg", "Average"),
  );
  const check = (key, testid, text) => {
    const box = h("input", { type: "checkbox", id: `pool-${key}`, dataset: { testid }, onChange: () => set({ [key]: box.checked }, key) });
    return { box, root: h("label", { class: "check" }, box, text) };
  };
  const ceil = check("ceil", "ceil-mode", "ceil_mode (round the output size up)");
  const cip = check("cip", "count-include-pad", "count padding in the divisor");

  const spec = {
    rows: { label: "Input rows", get: (s) => s.x.length, patch: (s, v) => ({ x: resizeMatrix(s.x, v, s.x[0].length) }) },
    cols: { label: "Input columns", get: (s) => s.x[0].length, patch: (s, v) => ({ x: resizeMatrix(s.x, s.x.length, v) }) },
    k: { label: "Kernel size", get: (s) => s.k, patch: (s, v) => ({ k: v }) },
    stride: { label: "Stride", get: (s) => s.stride, patch: (s, v) => ({ stride: v }) },
    padding: { label: "Padding", get: (s) => s.padding, patch: (s, v) => ({ padding: v }) },
    dil: { label: "Dilation", get: (s) => s.dil, patch: (s, v) => ({ dil: v }) },
  };
  const fields = createSpecFields(spec, {
    store,
    limits: LIMITS,
    onChange: set,
    testid: (key) => ({ k: "kernel-size", dil: "dilation" })[key] ?? key,
    hint: (key) => (key === "dil" ? "Max pooling only." : ""),
  });
  const editorBox = h("div", { dataset: { testid: "input-editor-box" } });
  let editor = null;
  const shuffle = h(
    "button",
    {
      type: "button",
      class: "btn",
      dataset: { testid: "shuffle" },
      onClick: () => set({ x: store.state.x.map((row) => row.map(() => Math.floor(Math.random() * 10))) }),
    },
    "New random values",
  );

  replaceChildren(
    container,
    h("fieldset", {}, h("legend", {}, "Pooling"), modeGroup),
    h(
      "fieldset",
      {},
      h("legend", {}, "Window"),
      h("div", { class: "field-row" }, fields.k.root, fields.stride.root),
      h("div", { class: "field-row" }, fields.padding.root, fields.dil.root),
      h("div", { class: "checks" }, ceil.root, cip.root),
    ),
    h("fieldset", {}, h("legend", {}, "Input"), h("div", { class: "field-row" }, fields.rows.root, fields.cols.root), editorBox, shuffle),
  );

  const modeMsg = h("p", { class: "field-msg field-msg-error", hidden: true, dataset: { testid: "mode-msg" } });
  modeGroup.after(modeMsg);
  const messages = {
    mode: {
      root: modeMsg,
      showError: (t) => Object.assign(modeMsg, { textContent: t, hidden: false }),
      clearError: () => Object.assign(modeMsg, { textContent: "", hidden: true }),
    },
  };
  messages.ceil = messages.mode;
  messages.cip = messages.mode;
  let shownError = null;

  let shape = "";
  return {
    /** Show a server error next to the control changed last; returns that node. */
    showError(message) {
      this.clearError();
      shownError = fields[edited] ?? messages[edited] ?? (edited === "x" ? editor : null);
      shownError?.showError(message);
      return shownError?.root ?? null;
    },
    clearError() {
      shownError?.clearError();
      shownError = null;
    },
    sync(s) {
      for (const input of modeGroup.querySelectorAll("input")) input.checked = input.value === s.mode;
      ceil.box.checked = s.ceil;
      cip.box.checked = s.cip;
      cip.box.disabled = s.mode !== "avg";
      fields.dil.setDisabled(s.mode !== "max");
      syncSpecFields(fields, spec, s);
      const nextShape = `${s.x.length}x${s.x[0].length}`;
      if (nextShape !== shape) {
        shape = nextShape;
        editor = createMatrixEditor({ label: "Input", testid: "input-editor", values: s.x, onChange: (values) => set({ x: values }, "x") });
        replaceChildren(editorBox, editor.root);
      } else editor.setValues(s.x);
    },
  };
}
