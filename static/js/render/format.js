// Number formatting shared by the painters and the panels.

/** A short readable number: up to `digits` decimals, no trailing zeros, "−" for minus. */
export function formatNumber(value, digits = 3) {
  if (value === null || value === undefined) return "–";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : value < 0 ? "−∞" : "NaN";
  let text;
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-4)) {
    text = value.toExponential(2);
  } else if (magnitude !== 0 && magnitude < 10 ** -digits) {
    text = String(Number(value.toPrecision(2))); // 0.0039 rather than 0
  } else {
    text = value.toFixed(digits);
    if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  }
  if (text === "-0") text = "0";
  return text.replace("-", "−");
}

/** Parse what a person typed as a number: accepts "−", "," as decimal comma, spaces. */
export function parseNumber(text) {
  const cleaned = String(text)
    .trim()
    .replace(/\u2212/g, "-")
    .replace(/^(-?\d*),(\d+)$/, "$1.$2");
  if (cleaned === "" || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cleaned)) return undefined;
  const value = Number(cleaned);
  return Number.isFinite(value) ? value : undefined;
}

/** A size as the pages write it: C×H×W, or H×W for one channel ([H, W] or [1, H, W]). */
export function formatShape(shape) {
  const dims = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
  return dims.join("×");
}

/** The smallest and largest finite numbers of a nested list: `{min, max}` (null when none). */
export function finiteRange(values) {
  let min = null;
  let max = null;
  for (const v of [values].flat(Infinity)) {
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    if (min === null || v < min) min = v;
    if (max === null || v > max) max = v;
  }
  return { min, max };
}

/** A map's data range in words: "−0.05 to 0.5", "constant 0", or "no finite values". */
export function rangeText(min, max, digits = 3) {
  if (min === null || max === null || min === undefined || max === undefined) return "no finite values";
  if (min === max) return `constant ${formatNumber(min, digits)}`;
  return `${formatNumber(min, digits)} to ${formatNumber(max, digits)}`;
}

/** A colour scale in words: "−1.05 (blue) to 1.05 (red)" style ends, "±m" when symmetric. */
export function scaleText(vmin, vmax, digits = 3) {
  if (vmin === -vmax && vmax > 0) return `±${formatNumber(vmax, digits)}`;
  return `${formatNumber(vmin, digits)} to ${formatNumber(vmax, digits)}`;
}
