// Colour scales. The anchors match app/render.py, so a colour bar drawn here agrees with
// the PNGs the server renders: "gray", "diverging" (blue - white at zero - red, like
// matplotlib's RdBu_r) and "sequential" (viridis samples). Pure functions, no DOM.

const ANCHORS = {
  gray: [
    [0, [0, 0, 0]],
    [1, [255, 255, 255]],
  ],
  diverging: [
    [0.0, [5, 48, 97]],
    [0.1, [33, 102, 172]],
    [0.2, [67, 147, 195]],
    [0.3, [146, 197, 222]],
    [0.4, [209, 229, 240]],
    [127 / 255, [255, 255, 255]],
    [128 / 255, [255, 255, 255]],
    [0.6, [253, 219, 199]],
    [0.7, [244, 165, 130]],
    [0.8, [214, 96, 77]],
    [0.9, [178, 24, 43]],
    [1.0, [103, 0, 31]],
  ],
  sequential: [
    [0 / 9, [68, 1, 84]],
    [1 / 9, [72, 40, 120]],
    [2 / 9, [62, 73, 137]],
    [3 / 9, [49, 104, 142]],
    [4 / 9, [38, 130, 142]],
    [5 / 9, [31, 158, 137]],
    [6 / 9, [53, 183, 121]],
    [7 / 9, [110, 206, 88]],
    [8 / 9, [181, 222, 43]],
    [9 / 9, [253, 231, 37]],
  ],
};

export const COLORMAPS = Object.keys(ANCHORS);

// numpy's rint rounds half to even; do the same so tables match entry for entry.
function rint(x) {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

const tables = new Map();

/** The 256-entry [r, g, b] table of a colormap ("rgb" and unknown names use gray). */
export function colormapTable(name) {
  const key = name in ANCHORS ? name : "gray";
  if (!tables.has(key)) {
    const anchors = ANCHORS[key];
    const table = [];
    for (let i = 0; i < 256; i += 1) {
      const x = i / 255;
      let k = 0;
      while (k < anchors.length - 2 && x > anchors[k + 1][0]) k += 1;
      const [x0, c0] = anchors[k];
      const [x1, c1] = anchors[k + 1];
      const t = x1 === x0 ? 0 : Math.min(1, Math.max(0, (x - x0) / (x1 - x0)));
      table.push(c0.map((v, ch) => rint(v + (c1[ch] - v) * t)));
    }
    tables.set(key, table);
  }
  return tables.get(key);
}

/** The table index a value gets: rint((v - vmin) / (vmax - vmin) * 255), clipped. */
export function colorIndex(value, vmin, vmax) {
  if (!(vmax > vmin)) return value > vmin ? 255 : value < vmin ? 0 : 128;
  // Ends near ±1.8e308 overflow their difference: then halve everything first.
  const t = Number.isFinite(vmax - vmin) ? (value - vmin) / (vmax - vmin) : (value / 2 - vmin / 2) / (vmax / 2 - vmin / 2);
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
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "top";
  const ticks = [[0, vmin, "left"], [1, vmax, "right"]];
  if (vmin < 0 && vmax > 0) ticks.push([(0 - vmin) / (vmax - vmin), 0, "center"]);
  for (const [t, value, align] of ticks) {
    const tx = x + t * width;
    ctx.textAlign = align;
    ctx.fillRect(Math.round(tx) - (align === "right" ? 1 : 0), y + height, 1, 4);
    ctx.fillText(format(value), tx, y + height + 5);
  }
}
