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
  const cleaned = String(text).trim().replace(/\u2212/g, "-").replace(/^(-?\d*),(\d+)$/, "$1.$2");
  if (cleaned === "" || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cleaned)) return undefined;
  const value = Number(cleaned);
  return Number.isFinite(value) ? value : undefined;
}

/** A tensor size as written on every page: "C×H×W", or "H×W" for one channel. */
export function formatShape(shape) {
  const dims = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
  return dims.join("×");
}

/**
 * A map's data range (FeatureMap `min`/`max`): "−0.05 … 0.5", "constant 0" when every
 * value is the same, "no finite values" when none is finite (null).
 */
export function formatDataRange(min, max, digits = 3) {
  if (min === null || max === null || min === undefined || max === undefined) return "no finite values";
  if (min === max) return `constant ${formatNumber(min, digits)}`;
  return `${formatNumber(min, digits)} … ${formatNumber(max, digits)}`;
}
