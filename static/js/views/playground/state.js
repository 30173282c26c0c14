// The playground's state (one store schema mirrored in the URL) and the pure helpers that
// shape its requests and its drawing scale. No DOM.

import { field } from "../../state.js";
import { flipMatrix } from "../widgets/matrix-editor.js";

export const FALLBACK_KERNEL = [
  [0, 0, 0],
  [0, 1, 0],
  [0, 0, 0],
];
export const MAX_COMPARE = 6; // presets compared side by side
export const UPLOAD = "upload";
export const ZOOMS = ["fit", "1", "2", "4"];

export const SCHEMA = {
  src: field.text("shapes"),
  // One preset name, "custom" (the numbers in k), or several presets "sobel_x,sobel_y".
  kernel: field.text("sobel_x", { pattern: new RegExp(`^[\\w-]{1,64}(,[\\w-]{1,64}){0,${MAX_COMPARE - 1}}$`) }),
  multi: field.bool(false), // compare several presets: the gallery selects more than one
  k: field.matrix(FALLBACK_KERNEL),
  bias: field.number(0),
  flip: field.bool(false), // true convolution: every kernel is sent rotated by 180°
  stride: field.int(1, { min: 1, max: 64 }),
  // "custom" (rows ph, columns pw) or a padding word of the conv2d schema (GET /api/v1/layers).
  pad: field.text("same"),
  ph: field.int(1, { min: 0, max: 256 }),
  pw: field.int(1, { min: 0, max: 256 }),
  pmode: field.text("zeros"), // a padding mode of the conv2d schema; the server judges it
  dilation: field.int(1, { min: 1, max: 64 }),
  color: field.choice("gray", ["gray", "rgb"]),
  cmode: field.choice("depthwise", ["depthwise", "sum"]),
  size: field.choice("256", ["128", "256", "512"]),
  zoom: field.choice("fit", ZOOMS), // screen pixels per image pixel, the same for input and output
  px: field.int(-1, { min: -1, max: 4096 }), // the inspected output pixel (column), -1: none
  py: field.int(-1, { min: -1, max: 4096 }),
  map: field.int(0, { min: 0, max: 63 }), // the output map inspected (one per filter)
};

/** Keys that change what is inspected or how it is shown, not what is computed. */
export const VIEW_KEYS = new Set(["px", "py", "map", "zoom", "multi"]);

/** The preset names in `kernel` ("custom" for the numbers in k). */
export function kernelNames(s) {
  return s.kernel.split(",");
}

/**
 * The `params` of POST /images/conv2d for state `s` (plus `extra`, e.g. a trace region).
 * Presets go by name, except for a true convolution (`s.flip`): then every kernel is sent
 * as numbers, rotated by 180°, and `presetValues(name)` gives a preset's numbers.
 */
export function convParams(s, extra = {}, presetValues = () => null) {
  const names = kernelNames(s);
  let kernel = s.kernel === "custom" ? s.k : names.length > 1 ? names : names[0];
  if (s.flip) {
    const flipped = s.kernel === "custom" ? [flipMatrix(s.k)] : names.map((name) => flipMatrix(presetValues(name)));
    kernel = flipped.length > 1 ? flipped : flipped[0];
  }
  return {
    kernel,
    bias: s.bias,
    stride: s.stride,
    padding: s.pad === "custom" ? [s.ph, s.pw] : s.pad,
    padding_mode: s.pmode,
    dilation: s.dilation,
    channel_mode: s.cmode,
    ...extra,
  };
}

/**
 * Which output channels each map of an image response holds: `[{start, count}]`. An RGB
 * map (shape [3, H, W]) holds 3 consecutive channels, a gray or diverging map ([H, W]) one;
 * trace steps name their channel in this order (`out[0]`).
 */
export function mapChannels(maps) {
  let start = 0;
  return maps.map((map) => {
    const count = map.shape.length === 3 ? map.shape[0] : 1;
    const span = { start, count };
    start += count;
    return span;
  });
}

/**
 * Screen pixels per image pixel, the same for input and output so both are drawn at their
 * true relative size: `zoom` "1" | "2" | "4", or "fit": the input fills `room` CSS px
 * (whole multiples when it fits at least once, never more than 4).
 */
export function displayScale(zoom, inputWidth, room) {
  if (zoom !== "fit") return Number(zoom);
  const fit = room / inputWidth;
  if (!(fit > 0)) return 1;
  return fit >= 1 ? Math.min(4, Math.floor(fit)) : fit;
}
