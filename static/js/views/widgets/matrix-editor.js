// An editable grid of numbers: one text input per cell, tinted with the diverging colour
// of its value (text flips to white on dark cells). A cell whose text is not a number is
// marked with the reason, and nothing is reported until every cell is a number again.
// How large a number may be is the server's to judge: its refusal comes back through
// `showError` and is shown under the grid.

import { h, replaceChildren } from "../../dom.js";
import { css, diverging, maxAbs, textOn } from "../../render/colors.js";
import { formatNumber, parseNumber } from "../../render/format.js";

/** The text a cell shows for `value`: up to 4 decimals, ASCII minus (it can be retyped). */
export function cellText(value) {
  return formatNumber(value, 4).replace("−", "-");
}

/**
 * Why `text` is not a number (null when it is): pure, for the editor and tests. Only the
 * reading is checked here; whether the server can compute with the number is its answer.
 */
export function cellProblem(text) {
  return parseNumber(text) === undefined ? `“${text}” is not a number` : null;
}

/**
 * createMatrixEditor({label, testid, values, onChange, scale})
 * `scale()` -> max |value| for the colours (default: the matrix's own).
 * Returns {root, values, setValues(matrix), repaint(), showError(text), clearError()}.
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

  /** Columns wide enough for the longest number, so no value is ever cut off. */
  function sizeColumns() {
    const chars = Math.max(3, ...matrix.flat().map((v) => cellText(v).length));
    grid.style.gridTemplateColumns = `repeat(${matrix[0].length}, calc(${chars}ch + 0.9rem))`;
  }

  function build() {
    const rows = matrix.length;
    sizeColumns();
    inputs = matrix.map((row, r) =>
      row.map((value, c) => {
        const input = h("input", {
          type: "text",
          inputMode: "decimal",
          autocomplete: "off",
          spellcheck: false,
          value: cellText(value),
          aria: { label: `${label}, row ${r + 1}, column ${c + 1}` },
          dataset: { testid: `${testid}-${r}-${c}`, row: r, col: c },
        });
        input.addEventListener("input", () => onCellInput(input, r, c));
        input.addEventListener("keydown", (event) => onCellKey(event, r, c, rows));
        return input;
      }),
    );
    replaceChildren(grid, inputs.flat());
    paint();
  }

  function showMessage(text) {
    message.textContent = text;
    message.classList.toggle("field-msg-error", Boolean(text));
  }

  function onCellInput(input, r, c) {
    const problem = cellProblem(input.value);
    if (problem) {
      input.setAttribute("aria-invalid", "true");
      input.title = problem;
      showMessage(`Row ${r + 1}, column ${c + 1}: ${problem}. Nothing is sent until it is fixed.`);
      return;
    }
    input.removeAttribute("aria-invalid");
    input.removeAttribute("title");
    const value = parseNumber(input.value);
    const invalid = grid.querySelector("[aria-invalid]");
    if (!invalid) showMessage("");
    if (matrix[r][c] === value) return;
    matrix[r][c] = value;
    paint();
    if (!invalid) onChange(matrix.map((row) => row.slice()));
  }

  function onCellKey(event, r, c, rows) {
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
      showMessage("");
      if (!sameShape) return build();
      inputs.forEach((row, r) =>
        row.forEach((input, c) => {
          if (document.activeElement !== input || parseNumber(input.value) !== matrix[r][c]) {
            input.value = cellText(matrix[r][c]);
          }
          input.removeAttribute("aria-invalid");
          input.removeAttribute("title");
        }),
      );
      sizeColumns();
      paint();
    },
    repaint: paint,
    /** Show why the server refused these numbers (under the grid). */
    showError: showMessage,
    clearError: () => showMessage(""),
  };
}

/** Resize a matrix to rows x cols, keeping the overlap and filling new cells with 0. */
export function resizeMatrix(matrix, rows, cols) {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => matrix[r]?.[c] ?? 0));
}

/** Every number with its sign changed (0 stays 0, never −0). */
export function negateMatrix(matrix) {
  return matrix.map((row) => row.map((v) => (v === 0 ? 0 : -v)));
}

/** Rows become columns: out[c][r] = in[r][c]. */
export function transposeMatrix(matrix) {
  return matrix[0].map((_, c) => matrix.map((row) => row[c]));
}

/**
 * The matrix rotated by 180° (flipped upside down and left to right): out[r][c] =
 * in[H−1−r][W−1−c]. A true convolution is a cross-correlation with this kernel.
 */
export function flipMatrix(matrix) {
  return matrix.map((row) => row.slice().reverse()).reverse();
}

/** The kernel actions offered next to every kernel editor, by name. */
export const KERNEL_ACTIONS = {
  negate: { label: "Negate", title: "Change the sign of every number", apply: negateMatrix },
  transpose: { label: "Transpose", title: "Swap rows and columns (a horizontal edge kernel becomes a vertical one)", apply: transposeMatrix },
  flip: { label: "Flip 180°", title: "Rotate by 180°: upside down and left to right", apply: flipMatrix },
};
