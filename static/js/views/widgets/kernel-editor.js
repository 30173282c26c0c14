// The kernel editor: rows/columns fields and an editable, colour-tinted grid.
// It reports every valid edit; the view decides that an edit makes the kernel "custom".

import { h, replaceChildren } from "../../dom.js";
import { KERNEL_ACTIONS, createMatrixEditor, resizeMatrix } from "./matrix-editor.js";
import { createNumberField } from "./number-field.js";

/**
 * createKernelEditor({values, maxSide, onChange})
 * -> {root, setValues(matrix), setMaxSide(n), showError(text), clearError()}
 */
export function createKernelEditor({ values, maxSide = Infinity, onChange }) {
  let matrix = values.map((row) => row.slice());
  const box = h("div");
  const size = (label, testid, get, resize) =>
    createNumberField({
      label,
      testid,
      value: get(),
      min: 1,
      max: maxSide,
      hint: "",
      onChange: (n) => {
        matrix = resize(n);
        build();
        onChange(matrix.map((row) => row.slice()));
      },
    });
  const rows = size(
    "Kernel rows",
    "kernel-rows",
    () => matrix.length,
    (n) => resizeMatrix(matrix, n, matrix[0].length),
  );
  const cols = size(
    "Kernel columns",
    "kernel-cols",
    () => matrix[0].length,
    (n) => resizeMatrix(matrix, matrix.length, n),
  );
  function bound(side) {
    for (const field of [rows, cols])
      field.setBounds({ min: 1, max: side, maxReason: `The server accepts kernels up to ${side}×${side} (GET /api/v1/limits).` });
  }
  bound(maxSide);
  let editor = null;

  function build() {
    editor = createMatrixEditor({
      label: "Kernel",
      testid: "kernel-editor",
      values: matrix,
      onChange: (next) => {
        matrix = next;
        onChange(next.map((row) => row.slice()));
      },
    });
    replaceChildren(box, editor.root);
    rows.setValue(matrix.length);
    cols.setValue(matrix[0].length);
  }
  build();

  return {
    root: h(
      "div",
      { class: "kernel-editor" },
      h("div", { class: "field-row" }, rows.root, cols.root),
      box,
      createKernelActions((apply) => {
        matrix = apply(matrix);
        build();
        onChange(matrix.map((row) => row.slice()));
      }),
    ),
    /** The longest side the server accepts (limits.max_kernel_side). */
    setMaxSide: bound,
    /** Show why the server refused the kernel, under the grid. */
    showError: (text) => editor.showError(text),
    clearError: () => editor.clearError(),
    setValues(next) {
      const reshape = next.length !== matrix.length || next[0].length !== matrix[0].length;
      matrix = next.map((row) => row.slice());
      if (reshape) build();
      else editor.setValues(matrix);
    },
  };
}

/**
 * The row of kernel buttons (negate, transpose, flip 180°). `onAction(apply)` gets the pure
 * matrix function of the button pressed; the caller applies it to its kernel(s).
 */
export function createKernelActions(onAction, { testid = "kernel" } = {}) {
  return h(
    "div",
    { class: "kernel-actions", role: "group", aria: { label: "Kernel actions" } },
    Object.entries(KERNEL_ACTIONS).map(([name, action]) =>
      h(
        "button",
        { type: "button", class: "btn btn-small", title: action.title, dataset: { testid: `${testid}-${name}` }, onClick: () => onAction(action.apply) },
        action.label,
      ),
    ),
  );
}

/** Why the "true convolution" switch exists, in one sentence (shown beside it). */
export const WHY_NO_FLIP =
  "A textbook convolution rotates the kernel by 180° before sliding it; deep-learning libraries (PyTorch, TensorFlow) skip the flip and compute a cross-correlation, because their kernels are learned: training would simply learn the flipped numbers, so the flip only costs work.";

/**
 * The "true convolution" switch: {root, setChecked(bool)}. When on, the page sends the
 * kernel rotated by 180°, so the server's cross-correlation becomes a true convolution.
 */
export function createTrueConvSwitch({ id, testid = "true-conv", onChange }) {
  const box = h("input", { type: "checkbox", id, dataset: { testid }, onChange: () => onChange(box.checked) });
  const root = h(
    "div",
    { class: "field true-conv" },
    h("label", { htmlFor: id }, box, " True convolution (send the kernel flipped 180°)"),
    h("p", { class: "hint" }, WHY_NO_FLIP),
  );
  return {
    root,
    setChecked(on) {
      box.checked = on;
    },
  };
}
