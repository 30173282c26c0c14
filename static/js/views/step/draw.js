// /step: painters. Each takes the API's trace (and the state's numbers) and a canvas or a
// container, and draws; none fetches or reads the store. Every number is tinted by its OWN
// value with the shared diverging palette over a stated symmetric scale (± the largest
// |value| of its grid).

import { h, sizeCanvas } from "../../dom.js";
import { diverging, maxAbs } from "../../render/colors.js";
import { formatNumber, formatShape } from "../../render/format.js";
import { cornerLabel, drawGrid, gridLayout, outlineCells } from "../../render/grid.js";
import { outlineWindow } from "../../render/steps.js";
import { channelName, drawOutputCanvas, equation, signed, stepHeading } from "../shared.js";
import { textPx } from "../../render/text.js";

const LABEL_H = 22;

/** Cell size in CSS px so input, kernel and output fit `width` (side by side when wide). */
export function cellSize(width, { paddedCols, kernelCols, outputCols }) {
  const available = width - 48;
  if (available >= 640) return Math.max(24, Math.min(52, Math.floor((available - 140) / (paddedCols + kernelCols + outputCols))));
  return Math.max(24, Math.min(48, Math.floor((available - 8) / Math.max(paddedCols, kernelCols, outputCols))));
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

/** One grid per channel stacked vertically (with a "Channel R" title when there are several). */
function channelLayouts(count, rows, cols, size) {
  const labelH = count > 1 ? LABEL_H : 0;
  const probe = gridLayout({ rows, cols, cellSize: size, gap: 2 });
  const list = Array.from({ length: count }, (_, ch) =>
    gridLayout({ rows, cols, cellSize: size, gap: 2, x: 1, y: 1 + ch * (probe.height + labelH + 12) + labelH }),
  );
  const last = list[count - 1];
  return { list, width: probe.width + 2, height: last.y + last.height + 1 };
}

function channelTitle(ctx, layout, ch, count) {
  if (count < 2) return;
  ctx.fillStyle = "#1d2433";
  ctx.font = `600 ${textPx(13)}px system-ui, sans-serif`;
  ctx.textBaseline = "alphabetic";
  ctx.fillText(`Channel ${channelName(ch, count)}`, 1, layout.y - 7);
}

/**
 * The padded input, each cell tinted by its own value (`scale`: the symmetric scale), the
 * window outlined with its taps labelled by the kernel value they meet (×k). Returns the
 * layouts (one per channel).
 */
export function drawInput(canvas, { padded, geometry, step, kernel, scale, hover, size }) {
  const [top, , left] = geometry.padding;
  const [H, W] = geometry.input;
  const C = padded.length;
  const rows = padded[0].length;
  const cols = padded[0][0].length;
  const { list, width, height } = channelLayouts(C, rows, cols, size);
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

/** The kernel (one slice per channel), tinted by its own values over ±max|k|. */
export function drawKernel(canvas, { kernel, scale, size }) {
  const C = kernel.length;
  const { list, width, height } = channelLayouts(C, kernel[0].length, kernel[0][0].length, size);
  const ctx = sizeCanvas(canvas, width, height);
  kernel.forEach((matrix, ch) => {
    channelTitle(ctx, list[ch], ch, C);
    drawGrid(ctx, matrix, list[ch], { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2) });
  });
}

/** The output grid: cells done so far, the current one outlined. Returns its layout. */
export function drawOutput(canvas, { result, index, scale, users, size }) {
  const { output, geometry, steps } = result;
  return drawOutputCanvas(canvas, output, geometry.output, { size, margin: 1, steps, index, scale, users, usersColor: "#d62c6a" });
}

/** The caption of the input: "3×4×5" or "6×6, padded to 8×8" (sizes from the API). */
export function inputCaption({ padded_input: padded, geometry }) {
  const C = padded.length;
  const [top, , left] = geometry.padding;
  const paddedShape = [C, padded[0].length, padded[0][0].length];
  return `${formatShape([C, ...geometry.input])}${top || left ? `, padded to ${formatShape(paddedShape)}` : ""}`;
}

function miniGrid(name, matrix, ch, scale) {
  const canvas = h("canvas", { dataset: { testid: `detail-${name}-${ch}` }, aria: { label: `${name} values` }, role: "img" });
  const layout = gridLayout({ rows: matrix.length, cols: matrix[0].length, cellSize: 30, gap: 2, x: 1, y: 1 });
  const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
  drawGrid(ctx, matrix, layout, { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2), fontSize: 11 });
  return h("figure", { class: "mini" }, canvas, h("figcaption", {}, name));
}

/**
 * The step's window × kernel = products, per channel, and the sum line. Window and
 * products use the input's and the output's scales, the kernel its own.
 */
export function stepDetail({ step, index, kernel, scales, single }) {
  const C = step.window.length;
  const blocks = step.window.map((win, ch) => {
    const k = kernel[ch] ?? kernel[0];
    const products = step.products[ch];
    const partial = products.flat().reduce((a, b) => a + b, 0);
    return h(
      "div",
      { class: "channel-block" },
      C > 1 ? h("h4", {}, `Channel ${channelName(ch, C)}`) : null,
      h(
        "div",
        { class: "mini-row" },
        miniGrid("window", win, ch, scales.input),
        h("span", { class: "op", aria: { hidden: "true" } }, "×"),
        miniGrid("kernel", k, ch, scales.kernel),
        h("span", { class: "op", aria: { hidden: "true" } }, "="),
        miniGrid("products", products, ch, maxAbs(products.flat())),
      ),
      h("p", { class: "equation" }, equation(win.flat(), k.flat()), " = ", h("strong", {}, formatNumber(partial, 4))),
    );
  });
  const totalProducts = step.products.flat(2).reduce((a, b) => a + b, 0);
  return [
    stepHeading(index, step.out),
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
    single
      ? h(
          "p",
          { class: "hint" },
          "This example has a single window position. Choose a larger example under Settings (or add input rows and columns) to watch the kernel slide.",
        )
      : null,
  ];
}
