// Painters for a replayed trace of window steps (the /step and /pooling views): data and a
// canvas context in, pixels out; no DOM queries.

import { diverging } from "./colors.js";
import { formatNumber } from "./format.js";
import { drawGrid, outlineCells } from "./grid.js";

/**
 * The output grid of a trace at step `index`: cells done so far drawn, the rest shown as
 * "outside"; the current cell outlined; `users` (steps whose window holds a hovered input
 * cell) outlined with dashes in `usersColor`.
 */
export function drawStepOutput(ctx, layout, output, { steps, index, scale, users = [], usersColor }) {
  const done = new Set(steps.slice(0, index + 1).map((st) => `${st.out[1]},${st.out[2]}`));
  drawGrid(ctx, output, layout, {
    fill: (v) => diverging(v, scale),
    text: (v) => formatNumber(v, 2),
    style: (r, c) => (done.has(`${r},${c}`) ? null : "outside"),
  });
  const [, i, j] = steps[index].out;
  outlineCells(ctx, layout, i, j, i, j, { color: "#111418", width: 3 });
  for (const st of users) outlineCells(ctx, layout, st.out[1], st.out[2], st.out[1], st.out[2], { color: usersColor, width: 3, dash: [4, 3] });
}

/** The frame of a window at `origin` spanning `extent` cells: dashed when dilated (it reads only its taps). */
export function outlineWindow(ctx, layout, [r0, c0], [eh, ew], { dilated, inset }) {
  if (dilated) outlineCells(ctx, layout, r0, c0, r0 + eh - 1, c0 + ew - 1, { color: "#111418", width: 2, dash: [6, 4], inset });
  else outlineCells(ctx, layout, r0, c0, r0 + eh - 1, c0 + ew - 1, { color: "#111418", width: 3, inset });
}
