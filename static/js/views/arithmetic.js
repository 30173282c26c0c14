// /arithmetic: convolution sizes with no data. The server computes the geometry, the
// receptive fields and the formula with this setting's numbers filled in (POST
// /api/v1/geometry); this view draws the input, padding and output cells, links them on
// hover, and writes equivalent code. It computes no size: a setting the server refuses
// shows the server's reason beside the dimmed last result.

import * as api from "../api.js";
import { byTestId, debounce, h, replaceChildren, sizeCanvas } from "../dom.js";
import { formatShape } from "../render/format.js";
import { drawGrid, gridLayout, outlineCells } from "../render/grid.js";
import { textPx } from "../render/text.js";
import { createStore, field } from "../state.js";
import { createCopyButton } from "./widgets/copy-button.js";
import { createNotice } from "./widgets/notice.js";
import { createSliderField } from "./widgets/slider-field.js";
import { canvasPoint } from "./shared.js";

// How large a grid this page draws (a page choice, not a server limit); the server says
// which settings are valid.
const LIMITS = {
  h: [1, 32],
  w: [1, 32],
  kh: [1, 7],
  kw: [1, 7],
  s: [1, 4],
  d: [1, 4],
  p: [0, 6],
  ph: [0, 6],
  pw: [0, 6],
  pt: [0, 6],
  pb: [0, 6],
  pl: [0, 6],
  pr: [0, 6],
  op: [0, 3],
};
const FORMS = { int: "p (all sides)", pair: "[ph, pw]", four: "[top, bottom, left, right]", valid: '"valid" (none)', same: '"same"', full: '"full"' };
const TRANSPOSED_FORMS = ["int", "pair"];

const SCHEMA = {
  h: field.int(7, { min: 1, max: 32 }),
  w: field.int(7, { min: 1, max: 32 }),
  kh: field.int(3, { min: 1, max: 7 }),
  kw: field.int(3, { min: 1, max: 7 }),
  s: field.int(2, { min: 1, max: 4 }),
  d: field.int(1, { min: 1, max: 4 }),
  pf: field.choice("int", Object.keys(FORMS)),
  p: field.int(1, { min: 0, max: 6 }),
  ph: field.int(1, { min: 0, max: 6 }),
  pw: field.int(1, { min: 0, max: 6 }),
  pt: field.int(1, { min: 0, max: 6 }),
  pb: field.int(1, { min: 0, max: 6 }),
  pl: field.int(1, { min: 0, max: 6 }),
  pr: field.int(1, { min: 0, max: 6 }),
  tr: field.bool(false),
  op: field.int(0, { min: 0, max: 3 }),
};

const COLORS = {
  input: [219, 228, 243],
  padding: [236, 238, 242],
  output: [214, 240, 224],
  hitIn: [255, 196, 77],
  hitOut: [240, 122, 160],
};

/** The padding the request sends, in the form chosen. */
export function paddingParam(s) {
  if (s.pf === "int") return s.p;
  if (s.pf === "pair") return [s.ph, s.pw];
  if (s.pf === "four") return [s.pt, s.pb, s.pl, s.pr];
  return s.pf;
}

/** The POST /api/v1/geometry body for these settings. */
export function requestBody(s) {
  const body = { input_size: [s.h, s.w], kernel_size: s.kh === s.kw ? s.kh : [s.kh, s.kw], stride: s.s, padding: paddingParam(s), dilation: s.d };
  if (s.tr) Object.assign(body, { transposed: true, output_padding: s.op });
  return body;
}

const tuple = (a, b) => (a === b ? String(a) : `(${a}, ${b})`);

/** Equivalent PyTorch code for the setting and the geometry the API returned. */
export function pytorchCode(s, g) {
  const [t, b, l, r] = g.padding;
  const k = tuple(s.kh, s.kw);
  const lines = ["import torch", "import torch.nn as nn", ""];
  const shapeNote = `# input (N, 1, ${s.h}, ${s.w}) -> output (N, 1, ${g.output[0]}, ${g.output[1]})`;
  if (s.tr) {
    const p = s.pf === "pair" ? tuple(s.ph, s.pw) : String(s.p);
    lines.push(`layer = nn.ConvTranspose2d(1, 1, kernel_size=${k}, stride=${s.s}, padding=${p}, output_padding=${s.op}, dilation=${s.d})`);
  } else {
    let padding;
    let pad = null;
    let note = null;
    if (s.pf === "valid") padding = '"valid"';
    else if (s.pf === "same" && s.s === 1) padding = '"same"';
    else if (t === b && l === r) padding = tuple(t, l);
    else {
      padding = "0";
      pad = `nn.ZeroPad2d((${l}, ${r}, ${t}, ${b}))`;
    }
    if (s.pf === "same" && s.s > 1)
      note = `# PyTorch's padding="same" needs stride 1; these are the amounts "same" gives here (top ${t}, bottom ${b}, left ${l}, right ${r}).`;
    if (s.pf === "full") note = `# "full" padding (the server's amounts): top ${t}, bottom ${b}, left ${l}, right ${r}.`;
    const conv = `nn.Conv2d(1, 1, kernel_size=${k}, stride=${s.s}, padding=${padding}, dilation=${s.d})`;
    if (note) lines.push(note);
    if (pad) lines.push("# Conv2d pads both sides alike, so uneven padding comes first as its own layer.", `layer = nn.Sequential(${pad}, ${conv})`);
    else lines.push(`layer = ${conv}`);
  }
  lines.push(shapeNote, `print(layer(torch.zeros(1, 1, ${s.h}, ${s.w})).shape)  # torch.Size([1, 1, ${g.output[0]}, ${g.output[1]}])`);
  return lines.join("\n");
}

/** A curl call of ConvScope's API that returns the same geometry. */
export function curlCode(body, origin) {
  return [`curl -X POST ${origin}/api/v1/geometry \\`, "  -H 'Content-Type: application/json' \\", `  -d '${JSON.stringify(body)}'`].join("\n");
}

export function mount(root) {
  const store = createStore(SCHEMA);
  const notice = createNotice(byTestId(root, "notice"));
  const stage = byTestId(root, "arith-stage");
  const canvases = { input: byTestId(root, "input-canvas"), output: byTestId(root, "output-canvas") };
  const hoverInfo = byTestId(root, "hover-info");
  const hoverHint = hoverInfo.textContent;
  const code = { torch: byTestId(root, "code-pytorch"), curl: byTestId(root, "code-curl") };
  let result = null;
  let layouts = { input: null, output: null };
  let hover = null; // {kind: "input" | "output", r, c}
  let requestId = 0;

  if (store.state.tr && !TRANSPOSED_FORMS.includes(store.state.pf)) store.set({ pf: "int" });
  const settings = buildSettings(byTestId(root, "arith-settings"), store);
  byTestId(root, "copy-pytorch-box").append(createCopyButton({ getText: () => code.torch.textContent, target: code.torch, testid: "copy-pytorch" }).root);
  byTestId(root, "copy-curl-box").append(createCopyButton({ getText: () => code.curl.textContent, target: code.curl, testid: "copy-curl" }).root);

  async function compute() {
    const s = { ...store.state };
    const id = ++requestId;
    const body = requestBody(s);
    stage.setAttribute("aria-busy", "true");
    try {
      const response = await api.geometry(body);
      if (id !== requestId) return;
      notice.clear();
      setStale(false);
      result = { ...response, settings: s, body };
      hover = null;
      hoverInfo.textContent = hoverHint;
      render();
      stage.dataset.renders = String(Number(stage.dataset.renders || 0) + 1);
    } catch (error) {
      if (id !== requestId) return;
      notice.error(`The server refused this setting. ${error.message}`);
      setStale(Boolean(result));
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = debounce(compute, 80);

  /** Dim the drawn result while it does not match the settings (class `stale`). */
  function setStale(stale) {
    stage.dataset.stale = String(stale);
    for (const id of ["figures", "formula", "output-size-line", "code"]) byTestId(root, id).classList.toggle("stale", stale);
  }

  store.subscribe((state) => {
    settings.sync(state);
    computeSoon();
  });

  // ---- drawing ---------------------------------------------------------------------
  /** Rows/cols of the drawn input: the padded input (forward) or the plain input (transposed). */
  function inputExtent() {
    const g = result.geometry;
    const [H, W] = g.input;
    if (result.settings.tr) return { rows: H, cols: W, t: 0, l: 0, H, W };
    const [t, b, l, r] = g.padding;
    return { rows: H + t + b, cols: W + l + r, t, l, H, W };
  }

  function cellSize(cols, outCols) {
    const available = stage.clientWidth - 40;
    const side = available >= 720 ? Math.floor((available - 60) / 2) : available;
    return Math.max(5, Math.min(30, Math.floor(side / Math.max(cols, outCols, 1))));
  }

  function highlighted() {
    const cells = { input: new Set(), output: new Set() };
    if (!hover) return cells;
    const { rows, cols } = result;
    if (hover.kind === "output") {
      cells.output.add(`${hover.r},${hover.c}`);
      for (const r of rows[hover.r]) for (const c of cols[hover.c]) cells.input.add(`${r},${c}`);
    } else {
      cells.input.add(`${hover.r},${hover.c}`);
      rows.forEach((list, i) => {
        if (!list.includes(hover.r)) return;
        cols.forEach((listC, j) => {
          if (listC.includes(hover.c)) cells.output.add(`${i},${j}`);
        });
      });
    }
    return cells;
  }

  function render() {
    if (!result) return;
    const e = inputExtent();
    const [ho, wo] = result.geometry.output;
    const size = cellSize(e.cols, wo);
    const gap = size >= 10 ? 2 : 1;
    const cells = highlighted();
    // Input (cell keys are in input coordinates: padding is negative or >= the size).
    const inLayout = gridLayout({ rows: e.rows, cols: e.cols, cellSize: size, gap, x: 2, y: 2 });
    layouts.input = inLayout;
    const ictx = sizeCanvas(canvases.input, inLayout.width + 4, inLayout.height + 4);
    const isPad = (r, c) => r < e.t || r >= e.t + e.H || c < e.l || c >= e.l + e.W;
    const showIndex = size >= 22;
    drawGrid(ictx, [], inLayout, {
      fill: (v, r, c) => (cells.input.has(`${r - e.t},${c - e.l}`) ? COLORS.hitIn : isPad(r, c) ? COLORS.padding : COLORS.input),
      style: (r, c) => (isPad(r, c) ? "padding" : null),
      text: showIndex ? (v, r, c) => (isPad(r, c) ? "" : `${r - e.t},${c - e.l}`) : null,
      fontSize: Math.max(8, Math.floor(textPx(size) / 3.2)),
    });
    if (hover?.kind === "input") outlineCells(ictx, inLayout, hover.r + e.t, hover.c + e.l, hover.r + e.t, hover.c + e.l, { color: "#111418", width: 2 });
    Object.assign(canvases.input.dataset, { cell: size, gap, x0: 2, y0: 2, padTop: e.t, padLeft: e.l, highlighted: cells.input.size });
    // Output.
    const outLayout = gridLayout({ rows: ho, cols: wo, cellSize: size, gap, x: 2, y: 2 });
    layouts.output = outLayout;
    const octx = sizeCanvas(canvases.output, outLayout.width + 4, outLayout.height + 4);
    drawGrid(octx, [], outLayout, {
      fill: (v, r, c) => (cells.output.has(`${r},${c}`) ? COLORS.hitOut : COLORS.output),
      text: showIndex ? (v, r, c) => `${r},${c}` : null,
      fontSize: Math.max(8, Math.floor(textPx(size) / 3.2)),
    });
    if (hover?.kind === "output") outlineCells(octx, outLayout, hover.r, hover.c, hover.r, hover.c, { color: "#111418", width: 2 });
    Object.assign(canvases.output.dataset, { cell: size, gap, x0: 2, y0: 2, highlighted: cells.output.size });
    renderText(e);
  }

  function renderText(e) {
    const g = result.geometry;
    const s = result.settings;
    const [t, b, l, r] = g.padding;
    byTestId(root, "input-caption").textContent = s.tr
      ? formatShape(g.input)
      : `${formatShape(g.input)}${t + b + l + r ? `, padded to ${formatShape([e.rows, e.cols])}` : ""}`;
    byTestId(root, "output-caption").textContent = formatShape(g.output);
    byTestId(root, "output-size").textContent = formatShape(g.output);
    const formula = g.formula;
    replaceChildren(
      byTestId(root, "formula"),
      h("span", { class: "formula-title" }, s.tr ? "Transposed convolution output size" : "Convolution output size"),
      h("span", { dataset: { testid: "formula-general" } }, formula.general ?? ""),
      h("span", {}, "height: ", h("span", { dataset: { testid: "formula-rows" } }, formula.rows)),
      h("span", {}, "width: ", h("span", { dataset: { testid: "formula-cols" } }, formula.cols)),
      h(
        "span",
        { class: "hint" },
        s.tr
          ? `Padding ${tuple(s.pf === "pair" ? s.ph : s.p, s.pf === "pair" ? s.pw : s.p)} is cropped from each side of the full transposed output.`
          : `Padding: top ${t}, bottom ${b}, left ${l}, right ${r}. Effective kernel ${g.effective_kernel[0]}×${g.effective_kernel[1]}.`,
      ),
    );
    code.torch.textContent = pytorchCode(s, g);
    code.curl.textContent = curlCode(result.body, window.location.origin);
  }

  // ---- hover and keyboard ------------------------------------------------------------
  function describe() {
    if (!hover) return hoverHint;
    const { rows, cols } = result;
    const e = inputExtent();
    const span = (list) =>
      list.length === 0
        ? "none"
        : list.length === 1
          ? `${list[0]}`
          : `${list[0]}…${list[list.length - 1]}${list.length > 2 && list[1] - list[0] > 1 ? ` (every ${list[1] - list[0]})` : ""}`;
    if (hover.kind === "output") {
      const rs = rows[hover.r];
      const cs = cols[hover.c];
      const pads = rs.some((r) => r < 0 || r >= e.H) || cs.some((c) => c < 0 || c >= e.W);
      const verb = result.settings.tr ? "receives taps from" : "reads";
      return `Output (${hover.r}, ${hover.c}) ${verb} input rows ${span(rs)} and columns ${span(cs)}: ${rs.length * cs.length} cell${rs.length * cs.length === 1 ? "" : "s"}${pads ? ", some of them padding" : ""}.`;
    }
    const n = highlighted().output.size;
    const where = hover.r < 0 || hover.r >= e.H || hover.c < 0 || hover.c >= e.W ? "Padding cell" : "Input cell";
    return `${where} (${hover.r}, ${hover.c}) is used by ${n} output cell${n === 1 ? "" : "s"}${n === 0 ? " (the stride skips it)" : ""}.`;
  }

  function setHover(next) {
    const same = next && hover && next.kind === hover.kind && next.r === hover.r && next.c === hover.c;
    if (same || (!next && !hover)) return;
    hover = next;
    render();
    hoverInfo.textContent = describe();
  }

  canvases.output.addEventListener("pointermove", (event) => {
    const cell = result && layouts.output?.cellAt(...canvasPoint(canvases.output, event));
    setHover(cell ? { kind: "output", r: cell[0], c: cell[1] } : null);
  });
  canvases.input.addEventListener("pointermove", (event) => {
    const cell = result && layouts.input?.cellAt(...canvasPoint(canvases.input, event));
    const e = result && inputExtent();
    setHover(cell ? { kind: "input", r: cell[0] - e.t, c: cell[1] - e.l } : null);
  });
  for (const canvas of Object.values(canvases)) canvas.addEventListener("pointerleave", () => setHover(null));
  // Arrow keys move the highlighted cell on a focused grid.
  for (const [kind, canvas] of Object.entries(canvases)) {
    canvas.addEventListener("keydown", (event) => {
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const move = moves[event.key];
      if (!move || !result) return;
      event.preventDefault();
      const e = inputExtent();
      const [rows, cols, r0, c0] = kind === "output" ? [...result.geometry.output, 0, 0] : [e.rows, e.cols, -e.t, -e.l];
      const start = hover?.kind === kind ? hover : { r: r0, c: c0 };
      const r = Math.min(r0 + rows - 1, Math.max(r0, start.r + (hover?.kind === kind ? move[0] : 0)));
      const c = Math.min(c0 + cols - 1, Math.max(c0, start.c + (hover?.kind === kind ? move[1] : 0)));
      setHover({ kind, r, c });
    });
    canvas.addEventListener("blur", () => setHover(null));
  }

  new ResizeObserver(debounce(render, 60)).observe(stage);
  settings.sync(store.state);
  compute();
}

// ---- the settings form --------------------------------------------------------------

function buildSettings(container, store) {
  const labels = {
    h: "Input height",
    w: "Input width",
    kh: "Kernel height",
    kw: "Kernel width",
    s: "Stride",
    d: "Dilation",
    p: "Padding",
    ph: "Padding rows (ph)",
    pw: "Padding columns (pw)",
    pt: "Top",
    pb: "Bottom",
    pl: "Left",
    pr: "Right",
    op: "output_padding",
  };
  const fields = {};
  for (const key of Object.keys(labels)) {
    fields[key] = createSliderField({
      label: labels[key],
      testid: key,
      value: store.state[key],
      min: LIMITS[key][0],
      max: LIMITS[key][1],
      onChange: (v) => store.set({ [key]: v }),
    });
  }
  const form = h("select", { id: "arith-padding-form", dataset: { testid: "padding-form" }, onChange: () => store.set({ pf: form.value }) });
  const transposed = h("input", { type: "checkbox", id: "arith-transposed", dataset: { testid: "transposed" }, onChange: () => toggleTransposed() });

  function toggleTransposed() {
    const tr = transposed.checked;
    const patch = { tr };
    if (tr && !TRANSPOSED_FORMS.includes(store.state.pf)) patch.pf = "int";
    if (tr) patch.op = 0;
    store.set(patch);
  }

  const group = (legend, ...children) => h("fieldset", {}, h("legend", {}, legend), ...children);
  const padBoxes = {
    int: h("div", {}, fields.p.root),
    pair: h("div", { class: "field-row" }, fields.ph.root, fields.pw.root),
    four: h("div", { class: "field-row" }, fields.pt.root, fields.pb.root, fields.pl.root, fields.pr.root),
  };
  replaceChildren(
    container,
    group("Input", h("div", { class: "field-row" }, fields.h.root, fields.w.root)),
    group("Kernel", h("div", { class: "field-row" }, fields.kh.root, fields.kw.root), h("div", { class: "field-row" }, fields.s.root, fields.d.root)),
    group("Padding", h("div", { class: "field" }, h("label", { htmlFor: "arith-padding-form" }, "Form"), form), padBoxes.int, padBoxes.pair, padBoxes.four),
    group("Transposed", h("label", { class: "check" }, transposed, "Transposed convolution (ConvTranspose2d)"), fields.op.root),
  );

  function sync(s) {
    replaceChildren(
      form,
      (s.tr ? TRANSPOSED_FORMS : Object.keys(FORMS)).map((name) => h("option", { value: name }, FORMS[name])),
    );
    form.value = s.pf;
    transposed.checked = s.tr;
    for (const [name, box] of Object.entries(padBoxes)) box.hidden = s.pf !== name;
    fields.op.root.hidden = !s.tr;
    for (const [key, f] of Object.entries(fields)) f.setValue(s[key]);
  }
  return { sync };
}
