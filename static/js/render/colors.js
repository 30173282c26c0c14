// The one palette module. Colour lookup tables and the colour rule are the server's
// (GET /api/v1/colormaps, app/render.py): this module fetches them once and every page
// draws with them, so a colour bar here matches the PNGs the server renders entry for
// entry. In a browser the tables are loaded before any importer runs (top-level await);
// elsewhere (unit tests) `setColormaps` provides them.

import { listColormaps } from "../api.js";
import { textPx } from "./text.js";

let palette = null; // {rule, tables: {name: [[r, g, b] x 256]}, descriptions: {name: str}}
let loadError = null;
let pending = null;

/** Use a `GET /api/v1/colormaps` body: `{rule, colormaps: {name: {description, lut}}}`. */
export function setColormaps(body) {
  const tables = {};
  const descriptions = {};
  for (const [name, map] of Object.entries(body?.colormaps ?? {})) {
    if (!Array.isArray(map.lut) || map.lut.length !== 256) throw new Error(`colormap ${name} does not have 256 entries`);
    tables[name] = map.lut;
    descriptions[name] = map.description ?? "";
  }
  palette = { rule: String(body?.rule ?? ""), tables, descriptions };
  loadError = null;
}

/** Fetch the tables once (later calls share the same promise); rejects with the reason. */
export function loadColormaps(options) {
  if (palette) return Promise.resolve(palette);
  pending ??= listColormaps(options).then(
    (body) => {
      setColormaps(body);
      return palette;
    },
    (error) => {
      pending = null;
      loadError = error;
      throw error;
    },
  );
  return pending;
}

if (typeof window !== "undefined" && window.location?.origin?.startsWith("http")) {
  await loadColormaps().catch(() => {}); // a view asks loadColormaps() again to show the reason
}

/** The colour rule in plain words, as the server states it (empty before loading). */
export function colorRule() {
  return palette?.rule ?? "";
}

/** The names of the served colormaps. */
export function colormapNames() {
  return palette ? Object.keys(palette.tables) : [];
}

/** The 256-entry [r, g, b] table of a served colormap; "rgb" uses "gray" per channel. */
export function colormapTable(name) {
  if (!palette) throw new Error(`The colour tables are not loaded${loadError ? ` (${loadError.message})` : ""}.`);
  const table = palette.tables[name === "rgb" ? "gray" : name];
  if (!table) throw new Error(`Unknown colormap “${name}”; the server serves ${colormapNames().join(", ")}.`);
  return table;
}

// numpy's rint rounds half to even; do the same so indices match the server's.
function rint(x) {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The table index a value gets: rint((v - vmin) / (vmax - vmin) * 255), clipped, as the
 * server does it (NaN and null as 0, ±∞ at the ends of the range).
 */
export function colorIndex(value, vmin, vmax) {
  let v = value;
  if (v === null || v === undefined || Number.isNaN(v)) v = 0;
  if (v === Infinity) return 255;
  if (v === -Infinity) return 0;
  if (!(vmax > vmin)) return v > vmin ? 255 : v < vmin ? 0 : 128;
  // Ends near ±1.8e308 overflow their difference: then halve everything first.
  const t = Number.isFinite(vmax - vmin) ? (v - vmin) / (vmax - vmin) : (v / 2 - vmin / 2) / (vmax / 2 - vmin / 2);
  if (Number.isNaN(t)) return 128;
  return Math.min(255, Math.max(0, rint(t * 255)));
}

/** The [r, g, b] colour of `value` on colormap `name` over [vmin, vmax]. */
export function colorAt(name, value, vmin, vmax) {
  return colormapTable(name)[colorIndex(value, vmin, vmax)];
}

/** Diverging colour centred on zero: blue negative, white zero, red positive. */
export function diverging(value, maxAbs) {
  const m = maxAbs > 0 ? maxAbs : 1;
  return colorAt("diverging", value, -m, m);
}

/** A symmetric scale for diverging colours: the largest |value| (1 for an all-zero list). */
export function maxAbs(values) {
  let m = 0;
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m || 1;
}

export function css([r, g, b], alpha = 1) {
  return alpha === 1 ? `rgb(${r} ${g} ${b})` : `rgb(${r} ${g} ${b} / ${alpha})`;
}

/** Linear mix of two colours, t = 0 gives a. */
export function mix(a, b, t) {
  return a.map((v, i) => Math.round(v + (b[i] - v) * t));
}

function channelLuminance(v) {
  const c = v / 255;
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** WCAG relative luminance of an [r, g, b] colour. */
export function luminance([r, g, b]) {
  return 0.2126 * channelLuminance(r) + 0.7152 * channelLuminance(g) + 0.0722 * channelLuminance(b);
}

export const INK_DARK = "#111418";
export const INK_LIGHT = "#ffffff";

/** Text colour for a number drawn on `background`: dark on light cells, white on dark ones. */
export function textOn(background) {
  const l = luminance(background);
  // Pick whichever of the two inks has the higher contrast ratio.
  const contrastDark = (l + 0.05) / (luminance([17, 20, 24]) + 0.05);
  const contrastLight = 1.05 / (l + 0.05);
  return contrastDark >= contrastLight ? INK_DARK : INK_LIGHT;
}

/**
 * Draw a horizontal colour bar with its range: ticks at vmin, 0 (when inside) and vmax.
 * `ctx` is already scaled to CSS pixels; the bar fills `width` x `height` at (x, y)
 * with the tick labels below it (about 16 px more).
 */
export function drawColorBar(ctx, { colormap, vmin, vmax, x = 0, y = 0, width, height = 12, format = String, ink = INK_DARK }) {
  const table = colormapTable(colormap);
  const steps = Math.max(2, Math.floor(width));
  for (let i = 0; i < steps; i += 1) {
    const index = Math.round((i / (steps - 1)) * 255);
    ctx.fillStyle = css(table[index]);
    ctx.fillRect(x + (i * width) / steps, y, width / steps + 0.6, height);
  }
  ctx.strokeStyle = "rgb(0 0 0 / 0.35)";
  ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, y + 0.5, width - 1, height - 1);
  ctx.fillStyle = ink;
  ctx.font = `${textPx(12)}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  const ticks = [
    [0, vmin, "left"],
    [1, vmax, "right"],
  ];
  if (vmin < 0 && vmax > 0) ticks.push([(0 - vmin) / (vmax - vmin), 0, "center"]);
  for (const [t, value, align] of ticks) {
    const tx = x + t * width;
    ctx.textAlign = align;
    ctx.fillRect(Math.round(tx) - (align === "right" ? 1 : 0), y + height, 1, 4);
    ctx.fillText(format(value), tx, y + height + 5);
  }
}
