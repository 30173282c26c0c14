// Pure functions of /network: the layer list as it lives in the URL, the request it
// becomes, and the small helpers that place one output pixel's window in a layer's input.
// No DOM, no fetch. A layer is `{type, ...params}` with the API's own parameter names
// (GET /api/v1/layers); only a conv layer's kernel may also be the page's
// `{random: {count, size, seed}}`, expanded here into seeded weights.

// The edges -> corners example: layer 1's two filters are sobel_x and sobel_y (GET
// /api/v1/kernels) on the gray image, so its maps are the horizontal change gx and the
// vertical change gy. Layer 2 reads both maps with full [out][in][kh][kw] weights:
//   corners       sobel_y on gx + sobel_x on gy: both are the mixed change ∂²/∂x∂y, which
//                 is 0 along a straight horizontal or vertical edge and strong at a corner
//                 (one sign at top-left/bottom-right corners of a bright shape, the other
//                 at top-right/bottom-left);
//   diagonal      1·gx + 1·gy (a 1×1 weight, written as the centre of a 3×3): edges whose
//                 brightness rises towards the bottom right (or falls: negative);
//   anti-diagonal 1·gx − 1·gy: edges rising towards the top right.
const SOBEL_X = [
  [-1, 0, 1],
  [-2, 0, 2],
  [-1, 0, 1],
];
const SOBEL_Y = [
  [-1, -2, -1],
  [0, 0, 0],
  [1, 2, 1],
];
const ONE = (w) => [
  [0, 0, 0],
  [0, w, 0],
  [0, 0, 0],
];
export const CORNERS_STACK = [
  { type: "conv2d", kernel: [[SOBEL_X], [SOBEL_Y]], bias: [0, 0], padding: 1 },
  {
    type: "conv2d",
    kernel: [
      [SOBEL_Y, SOBEL_X],
      [ONE(1), ONE(1)],
      [ONE(1), ONE(-1)],
    ],
    bias: [0, 0, 0],
    padding: 1,
  },
];

/** Layer stacks offered as buttons; parameters the API defaults are left out. `color`: the image colour it is made for. */
export const PRESETS = {
  corners: {
    label: "Stacked edges → corners",
    color: "gray",
    note: "layer 1's filters are sobel_x and sobel_y: its maps gx and gy are the left-to-right and top-to-bottom change of brightness. Layer 2 reads both maps; each of its outputs is a weighted sum of the two (it is linear). Filter 0 finds corners: sobel_y on gx plus sobel_x on gy is 0 along straight horizontal and vertical edges and strong at corners (red, positive, at the top-left and bottom-right corners of a bright shape on a dark ground, blue at the other two; a dark shape swaps them). It also answers along slanted edges, and at the image's own corners, where the zero padding makes a frame. Filter 1 is 1·gx + 1·gy: brightness changing along ↘ gives its strongest answer (6 for a sharp step from 0 to 1, against 4 for a horizontal or vertical step), along ↗ gives 0. Filter 2, 1·gx − 1·gy, is the reverse.",
    layers: CORNERS_STACK,
  },
  edge: {
    label: "Edge detector",
    layers: [
      { type: "conv2d", kernel: ["sobel_x", "sobel_y"], padding: 1 },
      { type: "activation", function: "relu" },
      { type: "pool2d", mode: "max", kernel_size: 2 },
    ],
  },
  blur: {
    label: "Blur and downsample",
    layers: [
      { type: "conv2d", kernel: "gaussian_blur_5x5", padding: 2 },
      { type: "pool2d", mode: "avg", kernel_size: 2 },
      { type: "conv2d", kernel: "gaussian_blur_3x3", padding: 1 },
      { type: "pool2d", mode: "avg", kernel_size: 2 },
    ],
  },
  random: {
    label: "Small random-weight stack",
    layers: [
      { type: "conv2d", kernel: { random: { count: 4, size: 3, seed: 1 } }, padding: 1 },
      { type: "activation", function: "relu" },
      { type: "pool2d", mode: "max", kernel_size: 2 },
      { type: "conv2d", kernel: { random: { count: 4, size: 3, seed: 2 } }, padding: 1 },
      { type: "batch_norm" },
      { type: "activation", function: "leaky_relu", negative_slope: 0.1 },
      { type: "dropout", p: 0.5 },
    ],
  },
};

/** The most layers a link may hold before the page even asks the server (which says 413 past its own limit). */
export const URL_LAYER_CAP = 64;

/** The `layers` URL value: JSON of the layer list. */
export function encodeLayers(layers) {
  return JSON.stringify(layers);
}

/** Parse the `layers` URL value; undefined when it is not a list of 1…64 `{type, ...}` objects. */
export function decodeLayers(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const ok =
    Array.isArray(value) &&
    value.length >= 1 &&
    value.length <= URL_LAYER_CAP &&
    value.every((layer) => layer && typeof layer === "object" && !Array.isArray(layer) && typeof layer.type === "string");
  return ok ? value : undefined;
}

/** A state-store field for the layer list (see state.js). */
export function layersField(defaultLayers = PRESETS.edge.layers) {
  return { default: defaultLayers, parse: decodeLayers, format: encodeLayers };
}

// ---- seeded random weights ----------------------------------------------------------------

/** A seeded PRNG (mulberry32): the same seed gives the same random kernels. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** [O][C][k][k] uniform in ±1/sqrt(C·k·k), PyTorch's default range for Conv2d weights. */
export function randomWeight(count, channels, size, seed) {
  const next = prng(seed);
  const bound = 1 / Math.sqrt(channels * size * size);
  const round = (v) => Math.round(v * 1e4) / 1e4;
  const matrix = () => Array.from({ length: size }, () => Array.from({ length: size }, () => round((next() * 2 - 1) * bound)));
  return Array.from({ length: count }, () => Array.from({ length: channels }, matrix));
}

export function isRandomKernel(kernel) {
  return Boolean(kernel && typeof kernel === "object" && !Array.isArray(kernel) && kernel.random);
}

const depth = (value) => (Array.isArray(value) ? 1 + depth(value[0]) : 0);

// ---- full weights [out][in][kh][kw] ---------------------------------------------------------

const zeros = (rows, cols) => Array.from({ length: rows }, () => Array(cols).fill(0));

/** A conv layer's kernel as a literal [O][C][kh][kw] weight, or null when it is not one. */
export function literalWeights(kernel) {
  if (isRandomKernel(kernel)) return null;
  const d = depth(kernel);
  if (d === 4) return kernel;
  if (d === 3) return [kernel];
  return null;
}

/**
 * The same filters written out as full weights for `channels` input channels (the count the
 * server reported): preset names or a 2-D kernel are repeated on every channel ("sum"), or
 * placed on one channel each with zeros elsewhere ("depthwise", one filter per channel,
 * which gives the same maps); seeded random weights are drawn as buildPipeline does.
 */
export function fullWeights(kernel, { channels, mode = "depthwise", presets }) {
  const literal = literalWeights(kernel);
  if (literal) return fitWeights(literal, channels);
  if (isRandomKernel(kernel)) {
    const { count, size, seed } = kernel.random;
    return randomWeight(count, channels, size, seed);
  }
  const names = typeof kernel === "string" ? [kernel] : depth(kernel) === 1 ? kernel : null;
  const matrices = names ? names.map((name) => presets.find((k) => k.name === name)?.values ?? [[0]]) : [kernel];
  const out = [];
  for (const m of matrices) {
    if (mode === "sum") out.push(Array.from({ length: channels }, () => m.map((row) => row.slice())));
    else
      for (let c = 0; c < channels; c += 1)
        out.push(Array.from({ length: channels }, (_, i) => (i === c ? m.map((row) => row.slice()) : zeros(m.length, m[0].length))));
  }
  return out;
}

/** Each filter cut or padded (with zero kernels) to `channels` input channels. */
export function fitWeights(weight, channels) {
  const [kh, kw] = [weight[0][0].length, weight[0][0][0].length];
  return weight.map((filter) => Array.from({ length: channels }, (_, c) => (filter[c] ? filter[c].map((row) => row.slice()) : zeros(kh, kw))));
}

/** Every kernel resized to kh×kw, keeping the overlap and filling new cells with 0. */
export function resizeWeights(weight, kh, kw) {
  return weight.map((filter) => filter.map((m) => Array.from({ length: kh }, (_, r) => Array.from({ length: kw }, (_, c) => m[r]?.[c] ?? 0))));
}

/** The bias as one number per filter (`count` of them). */
export function biasList(bias, count) {
  return Array.from({ length: count }, (_, o) => (Array.isArray(bias) ? (bias[o] ?? 0) : (bias ?? 0)));
}

/**
 * The pipeline's layers for the API, plus what the page needs to explain each conv pixel:
 * `info[i].weights[ch]` is output channel ch's {kernel: [C'][kh][kw], channel: input
 * channel or null (all)}. Channel counts are followed only to size random weights and
 * these explanations: a conv makes one map per filter ("sum", 4-D weights) or per filter
 * and input channel ("depthwise"); every other layer keeps its input's channels.
 * Throws an Error naming the layer (1-based, as the cards) when a preset is unknown.
 */
export function buildPipeline(layers, { inputChannels, presets }) {
  let channels = inputChannels;
  const out = [];
  const info = [];
  layers.forEach((layer, index) => {
    if (layer.type !== "conv2d") {
      out.push({ ...layer });
      info.push({ inChannels: channels });
      return;
    }
    const mode = layer.channel_mode ?? "depthwise";
    let kernel = layer.kernel;
    let weights;
    if (isRandomKernel(kernel)) {
      const { count, size, seed } = kernel.random;
      kernel = randomWeight(count, channels, size, seed);
      weights = kernel.map((k) => ({ kernel: k, channel: null }));
    } else if (depth(kernel) >= 3) {
      const weight = depth(kernel) === 3 ? [kernel] : kernel;
      weights = weight.map((k) => ({ kernel: k, channel: null }));
    } else {
      const names = typeof kernel === "string" ? [kernel] : depth(kernel) === 1 ? kernel : null;
      const matrices = names
        ? names.map((name) => {
            const preset = presets.find((k) => k.name === name);
            if (!preset) throw new Error(`layer ${index + 1}: unknown preset kernel “${name}”`);
            return preset.values;
          })
        : [kernel];
      weights = [];
      for (const m of matrices) {
        if (mode === "depthwise") for (let c = 0; c < channels; c += 1) weights.push({ kernel: [m], channel: c });
        else weights.push({ kernel: Array.from({ length: channels }, () => m), channel: null });
      }
    }
    out.push({ ...layer, kernel });
    info.push({ weights, inChannels: channels });
    channels = weights.length;
  });
  return { layers: out, info };
}

// ---- errors ---------------------------------------------------------------------------------

/**
 * Name layers as the cards do: the API's paths count from 0 (`params.layers[8].stride`),
 * the cards from 1, so this reads "layer 9, stride". When the server's own words follow
 * the path ("params.layers[8].kernel_size: layer 9 (pool2d): …") they are merged into
 * "layer 9 (pool2d), kernel_size: …". Other text is kept.
 */
export function nameLayers(message) {
  return String(message).replace(/(?:params\.)?layers\[(\d+)\](?:\.([\w.[\]]+))?(?:: layer (\d+) \(([\w-]+)\))?/g, (_, n, rest, said, type) => {
    const number = Number(n) + 1;
    const what = said !== undefined && Number(said) === number ? ` (${type})` : "";
    return `layer ${number}${what}${rest ? `, ${rest}` : ""}`;
  });
}

/** The 0-based index of the first layer an error message names (by its API path), or null. */
export function erroredLayer(message) {
  const match = /layers\[(\d+)\]/.exec(String(message));
  return match ? Number(match[1]) : null;
}

// ---- one output pixel's window ----------------------------------------------------------------

/**
 * Where output cell `i`'s window lies on one axis of a layer's input (size `size`), from the
 * geometry the API returned (`stride`, `before` = padding before, `effective` kernel):
 * `window` is the exact crop [start, end) with the padding it hangs over ([before, after]),
 * so convolving the crop alone gives exactly that cell.
 */
export function windowAxis(i, { stride, before, effective, size }) {
  const w0 = i * stride - before;
  const w1 = w0 + effective;
  return { start: Math.max(0, w0), end: Math.min(size, w1), pad: [Math.max(0, -w0), Math.max(0, w1 - size)], empty: w1 <= 0 || w0 >= size, origin: w0 };
}

/**
 * A crop for /step: the window plus up to `context` strides around it, padded by `pad`
 * on both sides (the step page pads symmetrically), no wider than `limit` cells; the
 * window must start on the crop's stride grid. Returns {start, end} or null.
 */
export function contextAxis(i, { stride, before, effective, size, pad, context = 1, limit = 8 }) {
  const w0 = i * stride - before;
  const w1 = w0 + effective;
  if (-w0 > pad || w1 - size > pad) return null;
  for (let u = context; u >= 0; u -= 1) {
    for (let shift = 0; shift < stride; shift += 1) {
      const start = w0 < 0 ? 0 : w0 - u * stride - shift;
      if (start < 0 || (w0 - start + pad) % stride !== 0) continue;
      for (let v = context; v >= 0; v -= 1) {
        const end = w1 > size ? size : Math.min(size, w1 + v * stride);
        if (end - start <= limit && end > start) return { start, end };
      }
    }
  }
  return null;
}

/** The output index whose window (receptive-field list from POST /geometry) starts at input cell `first`; -1 if none. */
export function outputIndexStartingAt(fields, first) {
  return fields.findIndex((cells) => cells[0] === first);
}
