// An editable grid of numbers: one text input per cell, tinted with the diverging colour
// of its value (text flips to white on dark cells). Typed values are validated; a cell
// that is not a number is marked and the last valid matrix is kept.

import { h, replaceChildren } from "../../dom.js";
import { css, diverging, maxAbs, textOn } from "../../render/colors.js";
import { formatNumber, parseNumber } from "../../render/format.js";

/**
 * createMatrixEditor({label, testid, values, onChange, scale})
 * `scale()` -> max |value| for the colours (default: the matrix's own).
 * Returns {root, values, setValues(matrix), focusCell(r, c)}.
 */
export function createMatrixEditor({ label, testid, values, onChange, scale = null }) {
  let matrix = values.map((row) => row.slice());
  const grid = h("div", { class: "matrix-editor", role: "group", aria: { label }, dataset: { testid } });
  const message = h("p", { class: "field-msg", aria: { live: "polite" }, dataset: { testid: `${testid}-msg` } });
  const root = h("div", { class: "matrix-editor-wrap" }, grid, message);
  let inputs = [];

  function paint() {
    const m = scale ? scale() : maxAbs(matrix.flat());
    inputs.forEach((row, r) =>
      row.forEach((input, c) => {
        const background = diverging(matrix[r][c], m);
        input.style.backgroundColor = css(background);
        input.style.color = textOn(background);
      }),
    );
  }

  function build() {
    const rows = matrix.length;
    const cols = matrix[0].length;
    grid.style.gridTemplateColumns = `repeat(${cols}, minmax(2.1rem, 3rem))`;
    inputs = matrix.map((row, r) =>
      row.map((value, c) => {
        const input = h("input", {
          type: "text",
          inputMode: "decimal",
          autocomplete: "off",
          spellcheck: false,
          value: formatNumber(value, 4).replace("−", "-"),
          aria: { label: `${label}, row ${r + 1}, column ${c + 1}` },
          dataset: { testid: `${testid}-${r}-${c}`, row: r, col: c },
        });
        input.addEventListener("input", () => onCellInput(input, r, c));
        input.addEventListener("keydown", (event) => onCellKey(event, r, c, rows, cols));
        return input;
      }),
    );
    replaceChildren(grid, inputs.flat());
    paint();
  }

  function onCellInput(input, r, c) {
    const value = parseNumber(input.value);
    if (value === undefined) {
      input.setAttribute("aria-invalid", "true");
      message.textContent = `Row ${r + 1}, column ${c + 1}: “${input.value}” is not a number, so the last valid value (${formatNumber(matrix[r][c], 4)}) is used.`;
      message.classList.add("field-msg-error");
      return;
    }
    input.removeAttribute("aria-invalid");
    if (!grid.querySelector("[aria-invalid]")) {
      message.textContent = "";
      message.classList.remove("field-msg-error");
    }
    if (matrix[r][c] === value) return;
    matrix[r][c] = value;
    paint();
    onChange(matrix.map((row) => row.slice()));
  }

  function onCellKey(event, r, c, rows, cols) {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    const move = moves[event.key];
    if (!move) return;
    const nr = Math.min(rows - 1, Math.max(0, r + move[0]));
    event.preventDefault();
    inputs[nr][c].focus();
    inputs[nr][c].select();
  }

  build();
  return {
    root,
    get values() {
      return matrix.map((row) => row.slice());
    },
    setValues(next) {
      const sameShape = next.length === matrix.length && next[0].length === matrix[0].length;
      matrix = next.map((row) => row.slice());
      message.textContent = "";
      message.classList.remove("field-msg-error");
      if (!sameShape) return build();
      inputs.forEach((row, r) =>
        row.forEach((input, c) => {
          if (document.activeElement !== input || parseNumber(input.value) !== matrix[r][c]) {
            input.value = formatNumber(matrix[r][c], 4).replace("−", "-");
          }
          input.removeAttribute("aria-invalid");
        }),
      );
      paint();
    },
    repaint: paint,
  };
}

/** Resize a matrix to rows x cols, keeping the overlap and filling new cells with 0. */
export function resizeMatrix(matrix, rows, cols) {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => matrix[r]?.[c] ?? 0));
}
