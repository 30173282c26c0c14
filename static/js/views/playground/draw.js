// The playground's painters: they draw what the API returned (decoded map images, the
// kernel, a pixel's trace) into the canvas or container they are given. No fetching, no
// store.

import { h, replaceChildren, s as svg, sizeCanvas } from "../../dom.js";
import { colorAt, diverging, drawColorBar, maxAbs } from "../../render/colors.js";
import { formatNumber, scaleText } from "../../render/format.js";
import { drawGrid, gridLayout } from "../../render/grid.js";
import { drawImageExact } from "../../render/image.js";
import { channelName, equation, roundingNote } from "../shared.js";

/** Draw a decoded map pixel for pixel, shown `scale` CSS px per pixel (its true size × zoom). */
export function drawMap(canvas, image, overlay, scale) {
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  drawImageExact(canvas.getContext("2d"), image);
  const box = canvas.parentElement;
  box.style.width = `${image.naturalWidth * scale}px`;
  box.style.height = `${image.naturalHeight * scale}px`;
  canvas.dataset.scale = String(scale);
  overlay.setAttribute("viewBox", `0 0 ${image.naturalWidth} ${image.naturalHeight}`);
  overlay.setAttribute("preserveAspectRatio", "none");
}

/** The colour bar of a map: its colormap over [vmin, vmax], the ends labelled. */
export function drawBar(canvas, map, width) {
  const ctx = sizeCanvas(canvas, width, 36);
  drawColorBar(ctx, { colormap: map.colormap, vmin: map.vmin, vmax: map.vmax, x: 0, y: 2, width, height: 14, format: (v) => formatNumber(v, 3) });
  const each = map.colormap === "rgb" ? " in each channel" : "";
  canvas.setAttribute("aria-label", `Colour scale: ${map.colormap}, ${scaleText(map.vmin, map.vmax, 4)}${each}`);
  Object.assign(canvas.dataset, { colormap: map.colormap, vmin: String(map.vmin), vmax: String(map.vmax) });
}

/** The kernel as a heat map on its own symmetric scale; numbers when the cells are large. */
export function drawKernel(canvas, values) {
  const rows = values.length;
  const cols = values[0].length;
  const cell = Math.max(4, Math.min(40, Math.floor(200 / Math.max(rows, cols))));
  const layout = gridLayout({ rows, cols, cellSize: cell, gap: cell >= 12 ? 2 : 0, x: 1, y: 1 });
  const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
  const scale = maxAbs(values.flat());
  drawGrid(ctx, values, layout, { fill: (v) => diverging(v, scale), text: cell >= 26 ? (v) => formatNumber(v, 2) : null });
}

/**
 * Outline output pixel (px, py) and, once its trace has come back, its window on the input:
 * `origin` is the trace's own top-left cell of that window (padded coordinates, so the
 * padding before it is taken off to place it on the unpadded input); the window's extent
 * is the geometry's effective kernel. Without `origin` only the output pixel is outlined.
 */
export function drawReceptiveField(overlays, geometry, px, py, origin = null) {
  const box = (x, y, w, hgt, cls) => svg("rect", { x, y, width: w, height: hgt, class: cls, "vector-effect": "non-scaling-stroke" });
  replaceChildren(overlays.output, box(px, py, 1, 1, "field-halo"), box(px, py, 1, 1, "field"));
  if (!origin) {
    replaceChildren(overlays.input);
    delete overlays.input.dataset.field;
    return;
  }
  const [top, , left] = geometry.padding;
  const r0 = origin[0] - top;
  const c0 = origin[1] - left;
  const [ekh, ekw] = geometry.effective_kernel;
  const taps = [];
  const [kh, kw] = geometry.kernel;
  const [dh, dw] = geometry.dilation;
  if ((dh > 1 || dw > 1) && kh * kw <= 121) {
    for (let a = 0; a < kh; a += 1) for (let b = 0; b < kw; b += 1) taps.push(box(c0 + b * dw, r0 + a * dh, 1, 1, "tap"));
  }
  replaceChildren(overlays.input, box(c0, r0, ekw, ekh, "field-halo"), box(c0, r0, ekw, ekh, "field"), taps);
  overlays.input.dataset.field = `${r0},${c0},${ekh},${ekw}`;
}

function miniGrid(matrix, testid, label, { image = false } = {}) {
  const rows = matrix.length;
  const cols = matrix[0].length;
  const cell = Math.max(3, Math.min(34, Math.floor(220 / Math.max(rows, cols))));
  const canvas = h("canvas", { dataset: { testid }, role: "img", aria: { label } });
  const layout = gridLayout({ rows, cols, cellSize: cell, gap: cell >= 10 ? 2 : 0, x: 1, y: 1 });
  const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
  const scale = maxAbs(matrix.flat());
  // The window is part of the input image: gray over 0…1, as the input is drawn.
  const fill = image ? (v) => colorAt("gray", v, 0, 1) : (v) => diverging(v, scale);
  drawGrid(ctx, matrix, layout, { fill, text: cell >= 30 ? (v) => formatNumber(v, 2) : null, fontSize: 11 });
  return h("figure", { class: "mini" }, canvas, h("figcaption", {}, label));
}

/** The trace of one output pixel of one map: window × kernel = products, and the sum. */
export function traceView({ px, py, steps, kernel, span, title }) {
  const { start, count } = span;
  const blocks = steps.map((step, n) => {
    const C = step.window.length;
    const perChannel = step.window.map((win, ch) =>
      h(
        "div",
        { class: "channel-block" },
        C > 1 ? h("h4", {}, `Channel ${channelName(ch, C)}`) : null,
        h(
          "div",
          { class: "mini-row" },
          miniGrid(win, `trace-window-${n}-${ch}`, "window", { image: true }),
          h("span", { class: "op", aria: { hidden: "true" } }, "×"),
          miniGrid(kernel, `trace-kernel-${n}-${ch}`, "kernel"),
          h("span", { class: "op", aria: { hidden: "true" } }, "="),
          miniGrid(step.products[ch], `trace-products-${n}-${ch}`, "products"),
        ),
        win.length * win[0].length <= 25 ? h("p", { class: "equation" }, equation(win.flat(), kernel.flat()), roundingNote(win.flat(), kernel.flat())) : null,
      ),
    );
    const products = step.products.flat(2).reduce((a, b) => a + b, 0);
    const o = step.out[0];
    return h(
      "div",
      { class: "trace-step" },
      count > 1 ? h("h4", {}, `Output channel ${channelName(o - start, count)}`) : null,
      perChannel,
      h(
        "p",
        { class: "sum-line" },
        `Sum of ${step.products.flat(2).length} products `,
        h("span", { class: "num" }, formatNumber(products, 4)),
        " + bias ",
        h("span", { class: "num" }, formatNumber(step.bias, 4)),
        " = ",
        h("strong", { class: "result", dataset: { testid: "trace-sum", channel: o } }, formatNumber(step.sum, 4)),
      ),
    );
  });
  return [
    h("h3", { dataset: { testid: "trace-title" } }, `Output pixel (row ${py}, column ${px})${title}`),
    h(
      "p",
      { class: "hint" },
      "The window is the input under the kernel (outlined on the input, with padding where it hangs over the edge). Each product is window × kernel; their sum plus the bias is the pixel's value.",
    ),
    blocks,
  ];
}

/** Small multiples: every output map with its label; `onChoose(n)` / `onHover(n, px, py)`. */
export function mapCards(maps, images, selected, { onChoose, onHover, canvasPoint }) {
  return maps.map((map, n) => {
    const canvas = h("canvas", { class: "pixelated", dataset: { testid: `map-canvas-${n}` } });
    const image = images[n];
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    drawImageExact(canvas.getContext("2d"), image);
    canvas.addEventListener("pointermove", (event) => {
      const [x, y] = canvasPoint(canvas, event);
      onHover(n, Math.floor(x), Math.floor(y));
    });
    return h(
      "button",
      {
        type: "button",
        class: "map-card",
        aria: { pressed: String(n === selected), label: `Output map ${n + 1}: ${map.label}` },
        dataset: { testid: `map-${n}`, map: n },
        onClick: () => onChoose(n),
      },
      canvas,
      h("span", { class: "map-card-label" }, `${n + 1}. ${map.label}`),
    );
  });
}
