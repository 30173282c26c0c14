// /step: painters. Each takes the API's trace (and the state's numbers) and a canvas or a
// container, and draws; none fetches or reads the store. Every number is tinted by its OWN
// value with the shared diverging palette over a stated symmetric scale (± the largest
// |value| of its grid).

import { h, sizeCanvas } from "../../dom.js";
import { diverging, maxAbs } from "../../render/colors.js";
import { formatNumber, formatShape, scaleText } from "../../render/format.js";
import { cornerLabel, drawGrid, gridLayout, outlineCells } from "../../render/grid.js";
import { outlineWindow } from "../../render/steps.js";
import { channelName, equation, roundingNote, signed } from "../shared.js";
import { textPx } from "../../render/text.js";

const LABEL_H = 22;

/** Cell size in CSS px so input, kernel and output fit `width` (side by side when wide). */
export function cellSize(width, { paddedCols, kernelCols, outputCols }) {
  const available = width - 48;
  if (available >= 640) return Math.max(24, Math.min(52, Math.floor((available - 140) / (paddedCols + kernelCols + outputCols))));
  return Math.max(24, Math.min(48, Math.floor((available - 8) / Math.max(paddedCols, kernelCols, outputCols))));
}

/**
 * Cell size for a volume (the figures stacked, each a row of slices): the widest row (the
 * padded input's C slices, or one filter's C slices and its bias) fits `width` if it can;
 * otherwise its slices wrap onto more lines.
 */
export function volumeCellSize(width, { slices, paddedCols, kernelCols }) {
  const available = width - 40;
  const cells = Math.max(slices * paddedCols, slices * kernelCols + 1);
  const inOneRow = Math.floor((available - slices * 18) / cells);
  if (inOneRow >= 26) return Math.min(40, inOneRow);
  return Math.max(22, Math.min(36, Math.floor((available - 8) / paddedCols))); // the slices wrap
}

/** The padded cells a step's kernel taps read: [row, col, kernel row, kernel col]. */
export function taps(geometry, step) {
  const [dh, dw] = geometry.dilation;
  const [kh, kw] = geometry.kernel;
  const [r0, c0] = step.origin;
  const list = [];
  for (let a = 0; a < kh; a += 1) for (let b = 0; b < kw; b += 1) list.push([r0 + a * dh, c0 + b * dw, a, b]);
  return list;
}

/**
 * `count` grids of rows x cols side by side (with a title above each when `titled`),
 * wrapping onto a new line past `maxWidth`; `lead` px are kept free on the left of each line.
 */
function sliceLayouts(count, rows, cols, size, { maxWidth = Infinity, titled = count > 1, lead = 0, y0 = 0, minWidth = 0 } = {}) {
  const labelH = titled ? LABEL_H : 0;
  const probe = gridLayout({ rows, cols, cellSize: size, gap: 2 });
  const step = Math.max(probe.width, minWidth) + 14;
  const perLine = Math.max(1, Math.floor((maxWidth - lead + 14) / step));
  const lines = Math.ceil(count / perLine);
  const list = Array.from({ length: count }, (_, n) =>
    gridLayout({
      rows,
      cols,
      cellSize: size,
      gap: 2,
      x: 1 + lead + (n % perLine) * step,
      y: y0 + 1 + labelH + Math.floor(n / perLine) * (probe.height + labelH + 10),
    }),
  );
  return { list, width: lead + Math.min(count, perLine) * step - 12, height: lines * (probe.height + labelH + 10) - 8 };
}

function title(ctx, layout, text, { bold = true, color = "#1d2433" } = {}) {
  ctx.fillStyle = color;
  ctx.font = `${bold ? 600 : 400} ${textPx(13)}px system-ui, sans-serif`;
  ctx.textBaseline = "alphabetic";
  ctx.fillText(text, layout.x, layout.y - 7);
}

function channelTitle(ctx, layout, ch, count) {
  if (count < 2) return;
  title(ctx, layout, `Channel ${channelName(ch, count)}`);
}

/**
 * The padded input, each cell tinted by its own value (`scale`: the symmetric scale), the
 * window outlined with its taps labelled by the kernel value they meet (×k). Returns the
 * layouts (one per channel).
 */
export function drawInput(canvas, { padded, geometry, step, kernel, scale, hover, size, maxWidth }) {
  const [top, , left] = geometry.padding;
  const [H, W] = geometry.input;
  const C = padded.length;
  const rows = padded[0].length;
  const cols = padded[0][0].length;
  const { list, width, height } = sliceLayouts(C, rows, cols, size, { maxWidth });
  const ctx = sizeCanvas(canvas, width, height);
  const isPad = (r, c) => r < top || r >= top + H || c < left || c >= left + W;
  const tapped = taps(geometry, step);
  const dilated = geometry.dilation[0] > 1 || geometry.dilation[1] > 1;
  padded.forEach((matrix, ch) => {
    const layout = list[ch];
    channelTitle(ctx, layout, ch, C);
    const k = kernel[ch] ?? kernel[0];
    drawGrid(ctx, matrix, layout, {
      fill: (v) => diverging(v, scale),
      text: (v) => formatNumber(v, 2),
      style: (r, c) => (isPad(r, c) ? "padding" : null),
    });
    for (const [r, c, a, b] of tapped) {
      if (r >= rows || c >= cols) continue;
      outlineCells(ctx, layout, r, c, r, c, { color: "#111418", width: 2 });
      if (size >= 30) cornerLabel(ctx, layout, r, c, `×${formatNumber(k[a][b], 2)}`);
    }
    outlineWindow(ctx, layout, step.origin, geometry.effective_kernel, { dilated, inset: -1 });
    if (hover) outlineCells(ctx, layout, hover[0], hover[1], hover[0], hover[1], { color: "#d62c6a", width: 3 });
  });
  return list;
}

/**
 * The filters, one line per filter: its slices (one per input channel) and its bias, each
 * tinted by its own value over ±max|k| (the bias over ±max|b|). The filter of the current
 * step is outlined; the others are drawn paler. Returns nothing.
 */
export function drawKernel(canvas, { kernel, bias, current, scale, size, maxWidth }) {
  const O = kernel.length;
  const C = kernel[0].length;
  const [kh, kw] = [kernel[0][0].length, kernel[0][0][0].length];
  const lead = O > 1 ? 34 : 0;
  let y = 0;
  const lines = kernel.map(() => {
    const slices = sliceLayouts(C, kh, kw, size, { maxWidth: maxWidth - size - 14, titled: C > 1, lead, y0: y, minWidth: 44 });
    const line = { slices, y };
    y += Math.max(slices.height, size + LABEL_H) + (O > 1 ? 16 : 0);
    return line;
  });
  const widest = Math.max(...lines.map((l) => l.slices.width));
  const biasScale = maxAbs(bias);
  const ctx = sizeCanvas(canvas, widest + (O > 1 ? size + 16 : 0) + 2, y + 2);
  kernel.forEach((filter, o) => {
    const { slices } = lines[o];
    ctx.globalAlpha = O > 1 && o !== current ? 0.45 : 1;
    if (O > 1) {
      ctx.fillStyle = "#1d2433";
      ctx.font = `600 ${textPx(14)}px system-ui, sans-serif`;
      ctx.textBaseline = "middle";
      ctx.fillText(`W${o}`, 2, slices.list[0].y + size / 2);
    }
    filter.forEach((matrix, ch) => {
      if (C > 1) title(ctx, slices.list[ch], `W${O > 1 ? o : ""}[${channelName(ch, C)}]`, { bold: false });
      drawGrid(ctx, matrix, slices.list[ch], { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2) });
    });
    if (O > 1) {
      // The filter's bias: one cell after its slices.
      const cell = gridLayout({ rows: 1, cols: 1, cellSize: size, gap: 2, x: widest + 14, y: slices.list[0].y });
      title(ctx, cell, `b${o}`, { bold: false });
      drawGrid(ctx, [[bias[o]]], cell, { fill: (v) => diverging(v, biasScale), text: (v) => formatNumber(v, 2) });
      ctx.globalAlpha = 1;
      if (o === current) outlineCells(ctx, cell, 0, 0, 0, 0, { color: "#111418", width: 3 });
    }
    ctx.globalAlpha = 1;
  });
}

/**
 * The output volume: one slice per filter, side by side; the cells computed up to step
 * `index` drawn (the rest dashed), the current cell outlined, `users` dashed in pink.
 * Records what it drew in `canvas.dataset.values` (JSON, null for a cell not reached yet).
 * Returns the slices' layouts.
 */
export function drawOutput(canvas, { result, index, scale, users, size, maxWidth }) {
  const { geometry, steps } = result;
  const slices = Array.isArray(result.output[0][0]) ? result.output : [result.output];
  const O = slices.length;
  const [rows, cols] = geometry.output;
  const { list, width, height } = sliceLayouts(O, rows, cols, size, { maxWidth, minWidth: 56 });
  const ctx = sizeCanvas(canvas, width + 2, height + 2);
  const done = new Set(steps.slice(0, index + 1).map((st) => st.out.join(",")));
  const isDone = (o, r, c) => done.has(`${o},${r},${c}`);
  const [o, i, j] = steps[index].out;
  slices.forEach((matrix, n) => {
    if (O > 1) title(ctx, list[n], `Slice ${n}`, { bold: n === o });
    drawGrid(ctx, matrix, list[n], {
      fill: (v) => diverging(v, scale),
      text: (v) => formatNumber(v, 2),
      style: (r, c) => (isDone(n, r, c) ? null : "outside"),
    });
    for (const st of users)
      if (st.out[0] === n) outlineCells(ctx, list[n], st.out[1], st.out[2], st.out[1], st.out[2], { color: "#d62c6a", width: 3, dash: [4, 3] });
  });
  outlineCells(ctx, list[o], i, j, i, j, { color: "#111418", width: 3 });
  canvas.dataset.values = JSON.stringify(slices.map((m, n) => m.map((row, r) => row.map((v, c) => (isDone(n, r, c) ? v : null)))));
  return list;
}

/** The caption of the input: "3×4×5" or "6×6, padded to 8×8" (sizes from the API). */
export function inputCaption({ padded_input: padded, geometry }) {
  const C = padded.length;
  const [top, , left] = geometry.padding;
  const paddedShape = [C, padded[0].length, padded[0][0].length];
  return `${formatShape([C, ...geometry.input])}${top || left ? `, padded to ${formatShape(paddedShape)}` : ""}`;
}

/** A small grid of the step, captioned with its name and the colour scale it is drawn on. */
function miniGrid(name, matrix, ch, scale, whose) {
  const canvas = h("canvas", { dataset: { testid: `detail-${name}-${ch}` }, aria: { label: `${name} values` }, role: "img" });
  const layout = gridLayout({ rows: matrix.length, cols: matrix[0].length, cellSize: 30, gap: 2, x: 1, y: 1 });
  const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
  drawGrid(ctx, matrix, layout, { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2), fontSize: 11 });
  const caption = h("span", { class: "muted", dataset: { testid: `detail-${name}-${ch}-scale` } }, `colour ${scaleText(-scale, scale)} (${whose})`);
  return h("figure", { class: "mini" }, canvas, h("figcaption", {}, name, h("br"), caption));
}

/**
 * The step's window × kernel = products, per channel, each channel's sum, and the sum line
 * (the channel sums, the bias, the output value: all the API's numbers). The window is on
 * the input's colour scale, the kernel on the kernels', the products of all channels on one
 * scale of their own; each grid's caption says which.
 */
export function stepDetail({ step, index, kernel, scales, single, volume }) {
  const C = step.window.length;
  const [o, i, j] = step.out;
  const productScale = maxAbs(step.products.flat(2));
  const blocks = step.window.map((win, ch) => {
    const k = kernel[ch] ?? kernel[0];
    const products = step.products[ch];
    return h(
      "div",
      { class: "channel-block" },
      C > 1 ? h("h4", {}, `Channel ${channelName(ch, C)}`) : null,
      h(
        "div",
        { class: "mini-row" },
        miniGrid("window", win, ch, scales.input, "the input's"),
        h("span", { class: "op", aria: { hidden: "true" } }, "×"),
        miniGrid(volume ? `W${o}[${channelName(ch, C)}]` : "kernel", k, ch, scales.kernel, "the kernels'"),
        h("span", { class: "op", aria: { hidden: "true" } }, "="),
        miniGrid("products", products, ch, productScale, C > 1 ? "this step's products" : "these products"),
      ),
      h(
        "p",
        { class: "equation" },
        equation(win.flat(), k.flat()),
        " = ",
        h("strong", { dataset: { testid: `channel-sum-${ch}` } }, formatNumber(step.channel_sums[ch], 4)),
        roundingNote(win.flat(), k.flat()),
      ),
    );
  });
  const sums = step.channel_sums.map((v, ch) => [ch ? " + " : "", h("span", { class: "num" }, formatNumber(v, 4))]);
  const where = volume ? `output slice ${o}, cell (row ${i}, column ${j})` : `output cell (row ${i}, column ${j})`;
  return [
    h("h3", { dataset: { testid: "step-heading", out: step.out.join(",") } }, `Step ${index + 1}: ${where}`),
    blocks,
    h(
      "p",
      { class: "sum-line" },
      C > 1 ? `Channel sums ` : "Sum of products ",
      sums,
      " + bias ",
      h("span", { class: "num" }, signed(step.bias)),
      " = ",
      h("strong", { class: "result", dataset: { testid: "step-sum" } }, formatNumber(step.sum, 4)),
      volume ? h("span", { class: "hint" }, ` → ${where}`) : null,
    ),
    single
      ? h(
          "p",
          { class: "hint" },
          "This example has a single window position. Choose a larger example under Settings (or add input rows and columns) to watch the kernel slide.",
        )
      : null,
  ];
}
