// /step, transposed mode: painters for the trace of POST /api/v1/conv_transpose2d. Each input
// cell scatters the kernel scaled by its value into an output window; the server says where
// every tap lands, whether the padding crops it, and the output after each step. Nothing
// here computes a product or a sum: the numbers are the API's.

import { h, sizeCanvas } from "../../dom.js";
import { diverging, maxAbs } from "../../render/colors.js";
import { formatNumber, formatShape } from "../../render/format.js";
import { cornerLabel, drawGrid, gridLayout, outlineCells } from "../../render/grid.js";
import { outlineWindow } from "../../render/steps.js";
import { channelName } from "../shared.js";
import { textPx } from "../../render/text.js";

const LABEL_H = 22;

/** "+3" or "−3": what a cell receives. */
function added(value, digits) {
  return value < 0 ? formatNumber(value, digits) : `+${formatNumber(value, digits)}`;
}

/** `count` grids side by side, wrapping past `maxWidth`, titled when there are several. */
function slices(count, rows, cols, size, maxWidth) {
  const labelH = count > 1 ? LABEL_H : 0;
  const probe = gridLayout({ rows, cols, cellSize: size, gap: 2 });
  const step = probe.width + 14;
  const perLine = Math.max(1, Math.floor((maxWidth + 14) / step));
  const lines = Math.ceil(count / perLine);
  const list = Array.from({ length: count }, (_, n) =>
    gridLayout({ rows, cols, cellSize: size, gap: 2, x: 1 + (n % perLine) * step, y: 1 + labelH + Math.floor(n / perLine) * (probe.height + labelH + 10) }),
  );
  return { list, width: Math.min(count, perLine) * step - 12, height: lines * (probe.height + labelH + 10) - 8 };
}

function title(ctx, layout, text) {
  ctx.fillStyle = "#1d2433";
  ctx.font = `600 ${textPx(13)}px system-ui, sans-serif`;
  ctx.textBaseline = "alphabetic";
  ctx.fillText(text, layout.x, layout.y - 7);
}

/** The input (C slices); the cell of the current step outlined, the ones before it ticked. */
export function drawTransposedInput(canvas, { x, step, scale, size, maxWidth }) {
  const C = x.length;
  const { list, width, height } = slices(C, x[0].length, x[0][0].length, size, maxWidth);
  const ctx = sizeCanvas(canvas, width + 2, height + 2);
  const [c, i, j] = step.in;
  x.forEach((matrix, ch) => {
    if (C > 1) title(ctx, list[ch], `Channel ${channelName(ch, C)}`);
    drawGrid(ctx, matrix, list[ch], { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2) });
  });
  outlineCells(ctx, list[c], i, j, i, j, { color: "#111418", width: 4 });
  return list;
}

/**
 * The kernel scaled by the current value, on the output's colour `scale` (it is added into
 * the output, so a value has the same colour in both); taps the padding crops are hatched.
 */
export function drawScaled(canvas, { step, size, scale }) {
  const scaled = step.scaled[0];
  const layout = gridLayout({ rows: scaled.length, cols: scaled[0].length, cellSize: size, gap: 2, x: 1, y: 1 });
  const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
  drawGrid(ctx, scaled, layout, {
    fill: (v) => diverging(v, scale),
    text: (v) => formatNumber(v, 2),
    style: (a, b) => (step.kept[a][b] ? null : "padding"),
  });
}

/**
 * The output before cropping: the cropped border (geometry.padding) hatched, the output inside
 * it after this step (the API's `running`), the window the kernel lands in outlined and each
 * kept tap labelled with what it adds. Records the drawn output in `canvas.dataset.values`.
 */
export function drawTransposedOutput(canvas, { result, step, scale, size, maxWidth }) {
  const {
    geometry,
    uncropped_shape: [rows, cols],
  } = result;
  const [top, , left] = geometry.padding;
  const [H, W] = geometry.output;
  const running = step.running?.[0] ?? result.output[0]; // past the trace limit: the final output
  const fitted = Math.max(18, Math.min(size, Math.floor(maxWidth / (cols + 0.2)) - 2));
  const layout = gridLayout({ rows, cols, cellSize: fitted, gap: 2, x: 1, y: 1 });
  const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
  const inside = (r, c) => r >= top && r < top + H && c >= left && c < left + W;
  const shown = Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => (inside(r, c) ? running[r - top][c - left] : null)));
  drawGrid(ctx, shown, layout, {
    fill: (v) => (v === null ? null : diverging(v, scale)),
    text: (v) => (v === null ? "" : formatNumber(v, 2)),
    style: (r, c) => (inside(r, c) ? null : "padding"),
  });
  const dilated = geometry.dilation[0] > 1 || geometry.dilation[1] > 1;
  outlineWindow(ctx, layout, step.origin, geometry.effective_kernel, { dilated, inset: -1 });
  step.targets.forEach((row, a) =>
    row.forEach(([r, c], b) => {
      if (fitted >= 28) cornerLabel(ctx, layout, r + top, c + left, added(step.scaled[0][a][b], 2));
    }),
  );
  outlineCells(ctx, layout, top, left, top + H - 1, left + W - 1, { color: "#2f6fde", width: 2, dash: [5, 3], inset: -2 });
  canvas.dataset.values = step.running ? JSON.stringify(step.running) : "";
  return layout;
}

/**
 * The equivalent direct convolution: the zero-inserted, padded input (its zeros hatched, the
 * current input cell outlined) and the kernel rotated 180°.
 */
export function drawDirect(inputCanvas, kernelCanvas, { direct, step, size, maxWidth }) {
  const z = direct.input;
  const C = z.length;
  const fitted = Math.max(16, Math.min(size, Math.floor(maxWidth / (z[0][0].length + 0.2)) - 2));
  const { list, width, height } = slices(C, z[0].length, z[0][0].length, fitted, maxWidth);
  const ctx = sizeCanvas(inputCanvas, width + 2, height + 2);
  const scale = maxAbs(z.flat(2));
  const [c, i, j] = step.in;
  z.forEach((matrix, ch) => {
    if (C > 1) title(ctx, list[ch], `Channel ${channelName(ch, C)}`);
    drawGrid(ctx, matrix, list[ch], {
      fill: (v) => diverging(v, scale),
      text: (v) => formatNumber(v, 2),
      style: (r, q) => (direct.rows[r] === null || direct.cols[q] === null ? "padding" : null),
    });
  });
  const r = direct.rows.indexOf(i);
  const q = direct.cols.indexOf(j);
  if (r >= 0 && q >= 0) outlineCells(ctx, list[c], r, q, r, q, { color: "#111418", width: 3 });
  const kernel = direct.kernel[0];
  const k = slices(C, kernel[0].length, kernel[0][0].length, size, maxWidth);
  const kctx = sizeCanvas(kernelCanvas, k.width + 2, k.height + 2);
  const kscale = maxAbs(kernel.flat(2));
  kernel.forEach((matrix, ch) => {
    if (C > 1) title(kctx, k.list[ch], `Channel ${channelName(ch, C)}`);
    drawGrid(kctx, matrix, k.list[ch], { fill: (v) => diverging(v, kscale), text: (v) => formatNumber(v, 2) });
  });
}

/** "1×7×7: stride 2 apart, padding 1, 2, 1, 2 (negative: cropped)": the direct input's caption. */
export function directCaption({ direct, geometry }) {
  const z = direct.input;
  const [t, b, l, r] = direct.padding;
  const pad = t === b && b === l && l === r ? `${t}` : `${t}, ${b}, ${l}, ${r} (top, bottom, left, right)`;
  return `${formatShape([z.length, z[0].length, z[0][0].length])}: input cells ${geometry.stride.join("×")} apart, padding ${pad}`;
}

/**
 * The step in words and numbers: value × kernel = scaled kernel, then each tap's target cell
 * and what it adds (the API's numbers), and how many taps the crop drops.
 */
export function transposedDetail({ step, index, kernel, C }) {
  const [c, i, j] = step.in;
  const where = `input cell (row ${i}, column ${j})${C > 1 ? ` of channel ${channelName(c, C)}` : ""}`;
  const chips = [];
  let cropped = 0;
  step.targets.forEach((row, a) =>
    row.forEach(([r, q], b) => {
      const v = step.scaled[0][a][b];
      if (!step.kept[a][b]) {
        cropped += 1;
        return;
      }
      chips.push(
        h("li", { dataset: { testid: "contribution", at: `${r},${q}`, value: String(v) } }, `(${r}, ${q}) `, h("span", { class: "num" }, added(v, 4))),
      );
    }),
  );
  const k = kernel[c];
  const mini = (name, matrix, scale) => {
    const canvas = h("canvas", { aria: { label: `${name} values` }, role: "img" });
    const layout = gridLayout({ rows: matrix.length, cols: matrix[0].length, cellSize: 30, gap: 2, x: 1, y: 1 });
    const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
    drawGrid(ctx, matrix, layout, { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2), fontSize: 11 });
    return h("figure", { class: "mini" }, canvas, h("figcaption", {}, name));
  };
  return [
    h("h3", { dataset: { testid: "step-heading", in: step.in.join(",") } }, `Step ${index + 1}: ${where}`),
    h(
      "div",
      { class: "mini-row" },
      h("span", { class: "num value-chip", dataset: { testid: "step-value" } }, formatNumber(step.value, 4)),
      h("span", { class: "op", aria: { hidden: "true" } }, "×"),
      mini("kernel", k, maxAbs(k.flat())),
      h("span", { class: "op", aria: { hidden: "true" } }, "="),
      mini("scaled kernel", step.scaled[0], maxAbs(step.scaled[0].flat())),
    ),
    h("p", {}, `Added into ${chips.length} output cell${chips.length === 1 ? "" : "s"} (row, column):`),
    h("ul", { class: "contributions", dataset: { testid: "contributions" } }, chips),
    cropped
      ? h(
          "p",
          { class: "hint", dataset: { testid: "cropped" } },
          `${cropped} of the ${step.kept.flat().length} products land in the border that padding crops away, so they are dropped.`,
        )
      : null,
  ];
}
