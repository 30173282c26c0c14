// A line-plot painter: axes, ticks, grid lines and one polyline per series, on a linear
// or a log y-axis. It takes data and a 2-D context (already scaled to CSS pixels),
// queries no DOM and fetches nothing.

import { formatNumber } from "./format.js";
import { textPx } from "./text.js";

/** About `count` round tick values covering [min, max] (1, 2 or 5 times a power of ten). */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

/** Powers of ten inside [min, max] (both > 0), thinned to at most `count`. */
export function logTicks(min, max, count = 6) {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const every = Math.max(1, Math.ceil((hi - lo + 1) / count));
  const ticks = [];
  for (let e = lo; e <= hi; e += every) {
    const v = 10 ** e;
    if (v >= min * 0.999 && v <= max * 1.001) ticks.push(v);
  }
  return ticks;
}

/** The [min, max] of finite values (positive only when `positive`), padded a little. */
export function extent(values, { positive = false, pad = 0.05 } = {}) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || (positive && v <= 0)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === Infinity) return positive ? [0.1, 1] : [-1, 1];
  if (positive) return hi > lo ? [lo / (1 + pad * 4), hi * (1 + pad * 4)] : [lo / 2, hi * 2];
  if (hi === lo) return [lo - 1, hi + 1];
  const margin = (hi - lo) * pad;
  return [lo - margin, hi + margin];
}

/**
 * Draw a plot into a `width` x `height` box.
 * options: series [{points: [[x, y], ...], color, width, dash, label}],
 *   x {min, max, label}, y {min, max, label, log}, zeroLines (draw x = 0 and y = 0).
 * Returns {toX(x), toY(y), box: {left, top, right, bottom}} for overlays and tests.
 */
export function drawPlot(ctx, { width, height, series, x, y, zeroLines = true }) {
  const box = { left: 48, top: 10, right: width - 10, bottom: height - (x.label ? 38 : 24) };
  const log = Boolean(y.log);
  const ty = (v) => (log ? Math.log10(v) : v);
  const [y0, y1] = [ty(y.min), ty(y.max)];
  const toX = (v) => box.left + ((v - x.min) / (x.max - x.min || 1)) * (box.right - box.left);
  const toY = (v) => box.bottom - ((ty(v) - y0) / (y1 - y0 || 1)) * (box.bottom - box.top);

  ctx.save();
  ctx.clearRect(0, 0, width, height);
  ctx.font = `${textPx(11)}px system-ui, sans-serif`;
  ctx.fillStyle = "#4b5160";
  ctx.strokeStyle = "#e3e6ec";
  ctx.lineWidth = 1;
  // Grid and tick labels.
  const yTicks = log ? logTicks(y.min, y.max) : niceTicks(y.min, y.max, Math.max(2, Math.floor((box.bottom - box.top) / 36)));
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of yTicks) {
    const py = Math.round(toY(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(box.left, py);
    ctx.lineTo(box.right, py);
    ctx.stroke();
    ctx.fillText(log ? `1e${Math.round(Math.log10(v))}` : formatNumber(v, 2), box.left - 5, py);
  }
  const xTicks = niceTicks(x.min, x.max, Math.max(2, Math.floor((box.right - box.left) / 60)));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const v of xTicks) {
    const px = Math.round(toX(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, box.top);
    ctx.lineTo(px, box.bottom);
    ctx.stroke();
    ctx.fillText(formatNumber(v, 2), px, box.bottom + 4);
  }
  // Axes through zero, then the frame.
  ctx.strokeStyle = "#8a919e";
  if (zeroLines && !log && y.min < 0 && y.max > 0) {
    ctx.beginPath();
    ctx.moveTo(box.left, Math.round(toY(0)) + 0.5);
    ctx.lineTo(box.right, Math.round(toY(0)) + 0.5);
    ctx.stroke();
  }
  if (zeroLines && x.min < 0 && x.max > 0) {
    ctx.beginPath();
    ctx.moveTo(Math.round(toX(0)) + 0.5, box.top);
    ctx.lineTo(Math.round(toX(0)) + 0.5, box.bottom);
    ctx.stroke();
  }
  ctx.strokeStyle = "#aab1bf";
  ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.right - box.left - 1, box.bottom - box.top - 1);
  if (x.label) {
    ctx.fillStyle = "#4b5160";
    ctx.fillText(x.label, (box.left + box.right) / 2, box.bottom + 20);
  }
  // Series, clipped to the plot area.
  ctx.beginPath();
  ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  ctx.clip();
  for (const line of series) {
    ctx.strokeStyle = line.color;
    ctx.lineWidth = line.width ?? 2;
    ctx.setLineDash(line.dash ?? []);
    ctx.beginPath();
    let drawing = false;
    for (const [vx, vy] of line.points) {
      const ok = Number.isFinite(vy) && (!log || vy > 0);
      if (!ok) {
        drawing = false;
        continue;
      }
      const [px, py] = [toX(vx), Math.max(-1e4, Math.min(1e4, toY(vy)))];
      if (drawing) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      drawing = true;
    }
    ctx.stroke();
  }
  ctx.restore();
  return { toX, toY, box };
}
