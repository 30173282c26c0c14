// /step: the page's state (one store schema mirrored in the URL), its worked examples and
// the pure helpers that shape a request. No DOM.

import { field, formatMatrix, parseMatrix } from "../../state.js";
import { flipMatrix } from "../widgets/matrix-editor.js";

const CONV = { op: "conv", outpad: 0 };
const ramp = (rows, cols, f) => Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => f(r, c)));

/**
 * Worked examples; `x` is [C][H][W], `k` is [O][C][kh][kw] (O filters) and `bias` [O].
 * `op` "transposed" plays a transposed convolution (one output channel: `k` is [1][C][kh][kw]).
 */
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
        [
          [1, 1, 1],
          [0, 0, 0],
          [-1, -1, -1],
        ],
      ],
    ],
    bias: [0],
    stride: 1,
    padding: 0,
    mode: "zeros",
    dilation: 1,
    ...CONV,
  },
  square: {
    label: "6×6 bright square, edge kernel, padding 1",
    x: [ramp(6, 6, (r, c) => (r >= 1 && r <= 3 && c >= 1 && c <= 3 ? 1 : 0))],
    k: [
      [
        [
          [1, 1, 1],
          [0, 0, 0],
          [-1, -1, -1],
        ],
      ],
    ],
    bias: [0],
    stride: 1,
    padding: 1,
    mode: "zeros",
    dilation: 1,
    ...CONV,
  },
  stride: {
    label: "7×7, Laplacian, stride 2, padding 1",
    x: [ramp(7, 7, (r, c) => ((r * 7 + c * 3) % 5) - 2)],
    k: [
      [
        [
          [0, 1, 0],
          [1, -4, 1],
          [0, 1, 0],
        ],
      ],
    ],
    bias: [0],
    stride: 2,
    padding: 1,
    mode: "zeros",
    dilation: 1,
    ...CONV,
  },
  dilation: {
    label: "7×7, 3×3 kernel with dilation 2",
    x: [ramp(7, 7, (r, c) => ((r + 2 * c) % 4) - 1.5)],
    k: [
      [
        [
          [1, 0, 1],
          [0, 1, 0],
          [1, 0, 1],
        ],
      ],
    ],
    bias: [0],
    stride: 1,
    padding: 0,
    mode: "zeros",
    dilation: 2,
    ...CONV,
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
    ],
    bias: [0.5],
    stride: 1,
    padding: 0,
    mode: "zeros",
    dilation: 1,
    ...CONV,
  },
  cs231n: {
    label: "CS231n volume: 5×5×3, two 3×3×3 filters, stride 2, padding 1",
    x: [
      [
        [1, 0, 2, 1, 0],
        [0, 2, 1, 1, 2],
        [2, 1, 0, 0, 1],
        [1, 1, 2, 2, 0],
        [0, 2, 0, 1, 1],
      ],
      [
        [2, 1, 0, 0, 1],
        [1, 0, 1, 2, 2],
        [0, 2, 2, 1, 0],
        [1, 0, 1, 0, 2],
        [2, 1, 1, 0, 0],
      ],
      [
        [0, 1, 1, 2, 0],
        [2, 2, 0, 1, 1],
        [1, 0, 1, 0, 2],
        [0, 1, 2, 1, 1],
        [1, 2, 0, 2, 0],
      ],
    ],
    k: [
      [
        [
          [1, 0, -1],
          [0, 1, 1],
          [-1, 0, 0],
        ],
        [
          [0, -1, 1],
          [1, 0, -1],
          [0, 1, 0],
        ],
        [
          [-1, 1, 0],
          [0, 0, 1],
          [1, -1, -1],
        ],
      ],
      [
        [
          [0, 1, 1],
          [-1, 0, 0],
          [1, -1, 0],
        ],
        [
          [1, 0, 0],
          [0, -1, 1],
          [-1, 1, -1],
        ],
        [
          [0, 0, -1],
          [1, 1, 0],
          [0, -1, 1],
        ],
      ],
    ],
    bias: [1, 0],
    stride: 2,
    padding: 1,
    mode: "zeros",
    dilation: 1,
    ...CONV,
  },
  transposed: {
    label: "Transposed: 3×3 → 6×6, stride 2, padding 1, output padding 1",
    x: [
      [
        [1, 2, 0],
        [-1, 3, 1],
        [2, 0, -2],
      ],
    ],
    k: [
      [
        [
          [1, 0, -1],
          [2, 1, 0],
          [0, 1, 1],
        ],
      ],
    ],
    bias: [0],
    stride: 2,
    padding: 1,
    mode: "zeros",
    dilation: 1,
    op: "transposed",
    outpad: 1,
  },
};

// What this page offers (a teaching size, not a server limit): the server checks every
// setting and says why one cannot be computed.
export const LIMITS = {
  rows: [1, 8],
  cols: [1, 8],
  kh: [1, 5],
  kw: [1, 5],
  stride: [1, 4],
  padding: [0, 3],
  dilation: [1, 3],
  outpad: [0, 3],
};
export const CHANNELS = [1, 2, 3, 4, 8]; // input channels the page offers (3: RGB)
export const FILTERS = [1, 2, 3, 4]; // filters (output channels) the page offers
export const TRANSPOSED = "transposed"; // op: a transposed convolution
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

/** Kernels in a link: one filter as "slice|slice|…" (the old format), several joined by "/". */
const kernelField = {
  default: DEFAULT.k,
  parse(text) {
    const filters = text.split("/").map((part) => parseMatrix(part, 3));
    if (filters.some((f) => f === undefined)) return undefined;
    const shape = (f) => `${f.length}x${f[0].length}x${f[0][0].length}`;
    return filters.every((f) => shape(f) === shape(filters[0])) ? filters : undefined;
  },
  format: (k) => k.map(formatMatrix).join("/"),
};

/** Biases in a link: one number (for every filter) or one per filter, ","-separated. */
const biasField = {
  default: DEFAULT.bias,
  parse(text) {
    const values = text.split(",").map((part) => (part.trim() === "" ? NaN : Number(part)));
    return values.every(Number.isFinite) ? values : undefined;
  },
  format: (bias) => bias.join(","),
};

export const SCHEMA = {
  ex: field.choice("edge", [...Object.keys(EXAMPLES), "custom", IMAGE]),
  op: field.choice("conv", ["conv", TRANSPOSED]),
  x: xField,
  k: kernelField,
  bias: biasField,
  outpad: field.int(0, { min: 0, max: LIMITS.outpad[1] }), // transposed only: output_padding
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

/** Each filter of `k` ([O][C'][kh][kw]) with one slice per input channel (the first repeated). */
export function fitKernel(k, channels) {
  return k.map((filter) => (filter.length === channels ? filter : Array.from({ length: channels }, (_, ch) => structuredClone(filter[ch] ?? filter[0]))));
}

/** The crop [top, left, rows, cols] moved (not shrunk, unless it must) to lie inside H x W. */
export function clampCrop([r0, c0, rows, cols], H, W) {
  const h = Math.min(rows, H);
  const w = Math.min(cols, W);
  return [Math.max(0, Math.min(r0, H - h)), Math.max(0, Math.min(c0, W - w)), h, w];
}

/** The settings an example fixes; a link names the example and only what differs. */
export const EXAMPLE_KEYS = ["op", "x", "k", "bias", "stride", "padding", "mode", "dilation", "outpad"];

/** One bias per filter: a single number applies to every filter. */
export function biases(s) {
  return s.k.map((_, o) => s.bias[o] ?? s.bias[0] ?? 0);
}

/** The kernels the server multiplies with: `k`, or each slice flipped 180° (true convolution). */
export function sentKernel(s) {
  return s.flip ? s.k.map((filter) => filter.map(flipMatrix)) : s.k;
}

/** True when the page shows a volume (several input channels or several filters). */
export function isVolume(s) {
  return s.x.length > 1 || s.k.length > 1;
}

/**
 * The POST /api/v1/conv2d body for state `s`: one filter is sent as [C][kh][kw] (a matrix
 * when C = 1) with one bias, so the output is [H'][W']; several as [O][C][kh][kw] with [O].
 */
export function requestBody(s) {
  const k = sentKernel(s);
  const one = k.length === 1;
  const single = s.x.length === 1 && one;
  return {
    input: single ? s.x[0] : s.x,
    kernel: single ? k[0][0] : one ? k[0] : k,
    bias: one ? biases(s)[0] : biases(s),
    stride: s.stride,
    padding: s.padding,
    padding_mode: s.mode,
    dilation: s.dilation,
    trace: true,
  };
}

/**
 * The POST /api/v1/conv_transpose2d body: the first filter's slices, one per input channel,
 * as PyTorch's [C][1][kh][kw] weight (one output channel) with the first bias.
 */
export function transposedBody(s) {
  return {
    input: s.x,
    kernel: s.k[0].map((slice) => [slice]),
    bias: biases(s)[0],
    stride: s.stride,
    padding: s.padding,
    output_padding: s.outpad,
    dilation: s.dilation,
    trace: true,
  };
}
