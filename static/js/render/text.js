// One text scale for every number and label drawn in a canvas: 1 normally, larger in lecture
// mode (static/js/lecture.js sets it before a view mounts). Canvases are sized in CSS pixels
// with a backing store of devicePixelRatio, so browser zoom scales them as well.

let scale = 1;

/** Set the factor applied by `textPx` (lecture mode). */
export function setTextScale(factor) {
  scale = factor > 0 ? factor : 1;
}

/** `n` CSS pixels of canvas text, scaled for the current mode. */
export function textPx(n) {
  return Math.round(n * scale);
}
