// Painter for /activations: every shown function (solid) and its derivative (dashed, same
// colour) on one plot, with a cursor at the hovered sample. Takes data, draws, queries no DOM.

import { drawPlot, extent } from "../../render/plot.js";

/**
 * curves: [{name, color, xs, ys, ds}] (the API's values and derivatives at the same xs).
 * cursor: index into xs or null. equalAxes: the y-axis uses the x-axis's units per pixel.
 * Returns the plot's {toX, toY, box}.
 */
export function drawOverlay(ctx, { width, height, curves, derivatives, cursor, equalAxes, xRange }) {
  const [lo, hi] = xRange;
  let y;
  const plotWidth = width - 58; // drawPlot's left and right margins
  const plotHeight = height - 34;
  if (equalAxes) {
    // Same units per pixel on both axes, centred on y = 0: a slope of 1 is drawn at 45°.
    const half = ((hi - lo) * plotHeight) / plotWidth / 2;
    y = { min: -half, max: half };
  } else {
    const values = curves.flatMap((c) => (derivatives ? [...c.ys, ...c.ds] : c.ys));
    const [min, max] = extent(values);
    y = { min, max };
  }
  const series = curves.flatMap((c) => [
    { points: c.xs.map((x, i) => [x, c.ys[i]]), color: c.color, width: 2.5 },
    ...(derivatives ? [{ points: c.xs.map((x, i) => [x, c.ds[i]]), color: c.color, width: 1.5, dash: [6, 4] }] : []),
  ]);
  const frame = drawPlot(ctx, { width, height, series, x: { min: lo, max: hi }, y });
  if (cursor !== null && curves.length > 0) {
    const px = Math.round(frame.toX(curves[0].xs[cursor])) + 0.5;
    ctx.save();
    ctx.strokeStyle = "#1f2430";
    ctx.lineWidth = 1;
    ctx.setLineDash([2, 3]);
    ctx.beginPath();
    ctx.moveTo(px, frame.box.top);
    ctx.lineTo(px, frame.box.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    for (const c of curves) {
      const dots = derivatives ? [c.ys[cursor], c.ds[cursor]] : [c.ys[cursor]];
      dots.forEach((v, k) => {
        if (!Number.isFinite(v) || v < y.min || v > y.max) return;
        ctx.beginPath();
        ctx.arc(px, frame.toY(v), k === 0 ? 4 : 3, 0, 2 * Math.PI);
        ctx.fillStyle = k === 0 ? c.color : "#fff";
        ctx.strokeStyle = c.color;
        ctx.fill();
        ctx.stroke();
      });
    }
    ctx.restore();
  }
  return frame;
}

/** The index of the sample nearest to CSS pixel `px`, given the plot's frame and xs. */
export function nearestSample(frame, xs, px) {
  const { left, right } = frame.box;
  const t = (px - left) / (right - left || 1);
  return Math.max(0, Math.min(xs.length - 1, Math.round(t * (xs.length - 1))));
}
