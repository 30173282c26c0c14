// /step: the page's state (one store schema mirrored in the URL), its worked examples and
// the pure helpers that shape a request. No DOM.

import { field } from "../../state.js";
import { flipMatrix } from "../widgets/matrix-editor.js";

const ramp = (rows, cols, f) => Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => f(r, c)));

/** Worked examples; `x` is [C][H][W] and `k` is [C][kh][kw] (one filter). */
export const EXAMPLES = {
  edge: {
    label: "3×3 patch, horizontal-edge kernel (= 2.3)",
    x: [
      [
        [0.6, 0.2, 0.6],
        [0.1, -0.2, -0.3],
        [-0.5, -0.1, -0.3],
      ],
    ],
    k: [
      [
        [1, 1, 1],
        [0, 0, 0],
        [-1, -1, -1],
      ],
    ],
    bias: 0,
    stride: 1,
    padding: 0,
    mode: "zeros",
    dilation: 1,
  },
  square: {
    label: "6×6 bright square, edge kernel, padding 1",
    x: [ramp(6, 6, (r, c) => (r >= 1 && r <= 3 && c >= 1 && c <= 3 ? 1 : 0))],
    k: [
      [
        [1, 1, 1],
        [0, 0, 0],
        [-1, -1, -1],
      ],
    ],
    bias: 0,
    stride: 1,
    padding: 1,
    mode: "zeros",
    dilation: 1,
  },
  stride: {
    label: "7×7, Laplacian, stride 2, padding 1",
    x: [ramp(7, 7, (r, c) => ((r * 7 + c * 3) % 5) - 2)],
    k: [
      [
        [0, 1, 0],
        [1, -4, 1],
        [0, 1, 0],
      ],
    ],
    bias: 0,
    stride: 2,
    padding: 1,
    mode: "zeros",
    dilation: 1,
  },
  dilation: {
    label: "7×7, 3×3 kernel with dilation 2",
    x: [ramp(7, 7, (r, c) => ((r + 2 * c) % 4) - 1.5)],
    k: [
      [
        [1, 0, 1],
        [0, 1, 0],
        [1, 0, 1],
      ],
    ],
    bias: 0,
    stride: 1,
    padding: 0,
    mode: "zeros",
    dilation: 2,
  },
  rgb: {
    label: "RGB 3×4×4, one 3-channel 2×2 filter, bias 0.5",
    x: [
      [
        [0.9, 0.8, 0.1, 0],
        [0.8, 0.9, 0.2, 0.1],
        [0.1, 0.2, 0.3, 0.2],
        [0, 0.1, 0.2, 0.4],
      ],
      [
        [0.1, 0.3, 0.5, 0.7],
        [0.2, 0.4, 0.6, 0.8],
        [0.3, 0.5, 0.7, 0.9],
        [0.4, 0.6, 0.8, 1],
      ],
      [
        [0.5, 0.5, 0.5, 0.5],
        [0.5, 0, 0, 0.5],
        [0.5, 0, 0, 0.5],
        [0.5, 0.5, 0.5, 0.5],
      ],
    ],
    k: [
      [
        [1, 0],
        [0, -1],
      ],
      [
        [0.5, 0.5],
        [0.5, 0.5],
      ],
      [
        [-1, 1],
        [-1, 1],
      ],
    ],
    bias: 0.5,
    stride: 1,
    padding: 0,
    mode: "zeros",
    dilation: 1,
  },
};

// What this page offers (a teaching size, not a server limit): the server checks every
// setting and says why one cannot be computed.
export const LIMITS = { rows: [1, 8], cols: [1, 8], kh: [1, 5], kw: [1, 5], stride: [1, 4], padding: [0, 3], dilation: [1, 3] };
const DEFAULT = EXAMPLES.edge;

export const IMAGE = "image"; // ex: the input is a crop of an image
export const UPLOAD = "upload"; // src: the uploaded file (kept in memory only)
export const IMAGE_SIZES = ["32", "64", "128", "256"];
const DEFAULT_CROP = [23, 4, 6, 6]; // top, left, rows, cols: a corner of the black square in "shapes"

// In image mode the crop parameters reproduce x, so x stays out of the link: its "default"
// is then the crop's values themselves (state.js leaves a key out when it equals its default).
let linkedX = null;
/** Make `x` (the crop's values) the default of x, or null to use the example's. */
export function setLinkedX(x) {
  linkedX = x;
}
/** True once the crop's values are in (image mode draws nothing before). */
export function hasLinkedX() {
  return linkedX !== null;
}

const matrixX = field.matrix(DEFAULT.x, { depth: 3 });
const xField = {
  parse: matrixX.parse,
  format: matrixX.format,
  get default() {
    return linkedX ?? DEFAULT.x;
  },
};

const cropField = {
  default: DEFAULT_CROP,
  parse(text) {
    const parts = text.split(",");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,4}$/.test(p))) return undefined;
    const [r0, c0, rows, cols] = parts.map(Number);
    const ok = rows >= LIMITS.rows[0] && rows <= LIMITS.rows[1] && cols >= LIMITS.cols[0] && cols <= LIMITS.cols[1];
    return ok ? [r0, c0, rows, cols] : undefined;
  },
  format: (crop) => crop.join(","),
};

const cellField = {
  default: null,
  parse: (text) => (/^\d{1,2},\d{1,2}$/.test(text) ? text.split(",").map(Number) : undefined),
  format: (cell) => (cell ? cell.join(",") : ""),
};

export const SCHEMA = {
  ex: field.choice("edge", [...Object.keys(EXAMPLES), "custom", IMAGE]),
  x: xField,
  k: field.matrix(DEFAULT.k, { depth: 3 }),
  bias: field.number(DEFAULT.bias),
  stride: field.int(DEFAULT.stride, { min: 1, max: LIMITS.stride[1] }),
  padding: field.int(DEFAULT.padding, { min: 0, max: LIMITS.padding[1] }),
  mode: field.text(DEFAULT.mode), // a padding mode of the conv2d schema; the server judges it
  dilation: field.int(DEFAULT.dilation, { min: 1, max: LIMITS.dilation[1] }),
  flip: field.bool(false), // true convolution: the kernel is sent rotated by 180°
  step: field.int(0, { min: 0 }), // the player clamps it to the trace
  at: cellField, // an output cell to show (applied once, then replaced by step)
  kernel: field.text(""), // a preset kernel name (applied once, then replaced by k)
  src: field.text("shapes"),
  size: field.choice("64", IMAGE_SIZES),
  crop: cropField,
  color: field.choice("gray", ["gray", "rgb"]),
};
export const CROP_KEYS = ["src", "size", "crop", "color"];

/** The kernel stack `k` with one slice per input channel (a single slice is repeated). */
export function fitKernel(k, channels) {
  if (k.length === channels) return k;
  return Array.from({ length: channels }, (_, ch) => structuredClone(k[ch] ?? k[0]));
}

/** The crop [top, left, rows, cols] moved (not shrunk, unless it must) to lie inside H x W. */
export function clampCrop([r0, c0, rows, cols], H, W) {
  const h = Math.min(rows, H);
  const w = Math.min(cols, W);
  return [Math.max(0, Math.min(r0, H - h)), Math.max(0, Math.min(c0, W - w)), h, w];
}

/** The settings an example fixes; a link names the example and only what differs. */
export const EXAMPLE_KEYS = ["x", "k", "bias", "stride", "padding", "mode", "dilation"];

/** The kernel the server multiplies with: `k`, or each slice flipped 180° (true convolution). */
export function sentKernel(s) {
  return s.flip ? s.k.map(flipMatrix) : s.k;
}

/** The POST /api/v1/conv2d body for state `s` (one channel is sent as a matrix). */
export function requestBody(s) {
  const single = s.x.length === 1 && s.k.length === 1;
  const k = sentKernel(s);
  return {
    input: single ? s.x[0] : s.x,
    kernel: single ? k[0] : k,
    bias: s.bias,
    stride: s.stride,
    padding: s.padding,
    padding_mode: s.mode,
    dilation: s.dilation,
    trace: true,
  };
}
