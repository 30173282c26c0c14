// Small helpers shared by the views.

import * as api from "../api.js";
import { h, replaceChildren, sizeCanvas } from "../dom.js";
import { formatNumber } from "../render/format.js";
import { gridLayout } from "../render/grid.js";
import { drawStepOutput } from "../render/steps.js";
import { fieldKind } from "./network/schema.js";
import { createNumberField } from "./widgets/number-field.js";

/**
 * The words a layer parameter accepts, as the server's layer registry lists them
 * (GET /api/v1/layers): `layerChoices("conv2d", "padding_mode")` -> ["zeros", "reflect", …].
 */
export async function layerChoices(type, name) {
  const layer = (await api.listLayers()).find((l) => l.type === type);
  const schema = layer?.schema?.properties?.[name];
  return (schema && fieldKind(name, schema).options) || [];
}

/**
 * Give `select` one option per word (plus `extra`), keeping the current `value` selectable
 * even when the server does not list it (it then says why it refuses it).
 */
export function fillSelect(select, words, value, { extra = [] } = {}) {
  const all = [...words, ...extra.map(([v]) => v)];
  if (value && !all.includes(value)) all.push(value);
  const labels = Object.fromEntries(extra);
  replaceChildren(
    select,
    all.map((v) => h("option", { value: v }, labels[v] ?? v)),
  );
  select.value = value;
}

/**
 * The request fields a failed request names: the last part of each `loc` of a 422 list,
 * and "params.stride: …" style prefixes of its messages (or of a plain `detail` string).
 */
export function errorFields(error) {
  const detail = error?.detail;
  const items = Array.isArray(detail) ? detail : detail ? [{ msg: String(detail) }] : [];
  const names = new Set();
  for (const item of items) {
    const loc = Array.isArray(item?.loc) ? item.loc.filter((part) => typeof part === "string" && !["body", "query", "form"].includes(part)) : [];
    if (loc.length) names.add(loc[loc.length - 1].split(".").pop());
    for (const match of String(item?.msg ?? "").matchAll(/(?:^|; )(?:params\.)?([a-z_]+)(?:\[\d+\])?:/g)) names.add(match[1]);
  }
  names.delete("params");
  return names;
}

/** The pointer position in the canvas's CSS-pixel drawing coordinates. */
export function canvasPoint(canvas, event) {
  const box = canvas.getBoundingClientRect();
  const ratio = Number(canvas.dataset.pixelRatio || 1);
  const scaleX = canvas.width / ratio / box.width;
  const scaleY = canvas.height / ratio / box.height;
  return [(event.clientX - box.left) * scaleX, (event.clientY - box.top) * scaleY];
}

export function channelName(ch, count) {
  return count === 3 ? ["R", "G", "B"][ch] : String(ch + 1);
}

/** "+ 0.5" / "− 0.5" for a bias after a plus sign. */
export function signed(value) {
  return formatNumber(value, 4);
}

const TERM_DIGITS = 4;

function term(value) {
  const text = formatNumber(value, TERM_DIGITS);
  return value < 0 ? `(${text})` : text;
}

/** The number a term's text stands for. */
function shownValue(value) {
  return Number(formatNumber(value, TERM_DIGITS).replace("−", "-"));
}

/** "0.6×1 + 0.2×1 + …": the window values times the kernel values, to TERM_DIGITS decimals. */
export function equation(windowValues, kernelValues, { limit = 25 } = {}) {
  const terms = windowValues.map((v, n) => `${term(v)}×${term(kernelValues[n])}`);
  if (terms.length > limit) return `${terms.slice(0, limit).join(" + ")} + … (${terms.length} products)`;
  return terms.join(" + ");
}

/**
 * After an equation: when a value has more digits than it shows (an image's k/255), say
 * so. The sums shown are of the exact values, so the rounded terms added by hand can
 * differ in the last digit. Null when every term is exact.
 */
export function roundingNote(windowValues, kernelValues) {
  const rounded = [...windowValues, ...kernelValues].some((v) => Number.isFinite(v) && shownValue(v) !== v);
  return rounded
    ? h("span", { class: "hint", dataset: { testid: "terms-rounded" } }, ` (values rounded to ${TERM_DIGITS} decimals; sums use the exact values)`)
    : null;
}

/**
 * Print the API's size formula (`geometry.formula`: general rule, rows and columns with
 * this request's numbers, each ending in "= <size>") into `node`. Never computed here.
 */
export function showFormula(node, geometry) {
  const formula = geometry?.formula;
  if (!formula) return replaceChildren(node, h("span", { class: "hint" }, "The server sent no size formula."));
  return replaceChildren(
    node,
    h("span", { class: "formula-title" }, "Output size"),
    h(
      "span",
      { class: "formula-line", dataset: { testid: "formula-rows", formula: formula.rows } },
      h("span", { class: "formula-axis" }, "rows "),
      formula.rows,
    ),
    h(
      "span",
      { class: "formula-line", dataset: { testid: "formula-cols", formula: formula.cols } },
      h("span", { class: "formula-axis" }, "columns "),
      formula.cols,
    ),
    h("span", { class: "hint formula-general" }, formula.general),
  );
}

// ---- replaying a trace of window steps (/step, /pooling) ------------------------------

/** The steps whose window (listed by `cellsOf(step)` as [r, c, …] entries) holds the cell [r, c]. */
export function stepsUsing(steps, [r, c], cellsOf) {
  return steps.filter((st) => cellsOf(st).some(([wr, wc]) => wr === r && wc === c));
}

/** "Step 3: output cell (row 0, column 2)". */
export function stepHeading(index, [, i, j]) {
  return h("h3", {}, `Step ${index + 1}: output cell (row ${i}, column ${j})`);
}

/** Pointing at or clicking an output cell seeks the player to that cell's step. */
export function bindOutputSeek(canvas, player, { layout, steps }) {
  function seek(event) {
    const grid = layout(); // null until there is something drawn
    if (!grid) return;
    const cell = grid.cellAt(...canvasPoint(canvas, event));
    if (!cell) return;
    const index = steps().findIndex((st) => st.out[1] === cell[0] && st.out[2] === cell[1]);
    if (index >= 0) player.seek(index);
  }
  canvas.addEventListener("pointermove", seek);
  canvas.addEventListener("click", seek);
}

/**
 * Hovering the cells of an input canvas: when the pointer moves to another cell, `info` reads
 * describe(cell) and onHover(cell) is called; off the cells or the canvas, `info` reads `hint`
 * and onHover(null). `cellAt(x, y)` gives the cell or null, or undefined while there is nothing
 * drawn; `current()` is the cell hovered now.
 */
export function bindCellHover(canvas, { cellAt, current, info, hint, describe, onHover }) {
  const hover = (cell) => {
    info.textContent = cell ? describe(cell) : hint;
    onHover(cell);
  };
  canvas.addEventListener("pointermove", (event) => {
    const cell = cellAt(...canvasPoint(canvas, event));
    if (cell === undefined) return;
    const was = current();
    if (cell && was && cell[0] === was[0] && cell[1] === was[1]) return;
    hover(cell);
  });
  canvas.addEventListener("pointerleave", () => hover(null));
}

/** "(0, 1), (1, 1)": the output cells of `steps`. */
export function outputCells(steps) {
  return steps.map((st) => `(${st.out[1]}, ${st.out[2]})`).join(", ");
}

/**
 * Size `canvas` for the [rows, cols] output grid of a trace (cells of `size` px, `margin` px
 * around) and paint it with drawStepOutput (`paint`: its options). Returns the grid's layout.
 */
export function drawOutputCanvas(canvas, output, [rows, cols], { size, margin, ...paint }) {
  const layout = gridLayout({ rows, cols, cellSize: size, gap: 2, x: margin, y: margin });
  const ctx = sizeCanvas(canvas, layout.width + 2 * margin, layout.height + 2 * margin);
  drawStepOutput(ctx, layout, output, paint);
  return layout;
}

// ---- integer settings fields driven by a spec -----------------------------------------

/**
 * One number field per entry of `spec` ({ label, get(state), patch(state, v) }), within
 * `limits[key]`; onChange(patch, key) when one changes. Whether a combination can be
 * computed is the server's to say: the view shows its answer with `field.showError`.
 */
export function createSpecFields(spec, { store, limits, onChange, testid = (key) => key, hint = () => "" }) {
  const fields = {};
  for (const [key, f] of Object.entries(spec)) {
    fields[key] = createNumberField({
      label: f.label,
      testid: testid(key),
      hint: hint(key),
      value: f.get(store.state),
      min: limits[key][0],
      max: limits[key][1],
      onChange: (v) => onChange(f.patch(store.state, v), key),
    });
  }
  return fields;
}

/** Show state `s` in the spec's fields. */
export function syncSpecFields(fields, spec, s) {
  for (const [key, f] of Object.entries(spec)) fields[key].setValue(f.get(s));
}
