// Small helpers shared by the views.

import { formatNumber } from "../render/format.js";

export const padModes = ["zeros", "reflect", "replicate", "circular"];

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

function term(value) {
  const text = formatNumber(value, 3);
  return value < 0 ? `(${text})` : text;
}

/** "0.6×1 + 0.2×1 + …": the window values times the kernel values, written out. */
export function equation(windowValues, kernelValues, { limit = 25 } = {}) {
  const terms = windowValues.map((v, n) => `${term(v)}×${term(kernelValues[n])}`);
  if (terms.length > limit) return `${terms.slice(0, limit).join(" + ")} + … (${terms.length} products)`;
  return terms.join(" + ");
}
