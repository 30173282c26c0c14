// Painters for matrices drawn as grids of coloured cells. They take data and a 2-D
// context (already scaled to CSS pixels), query no DOM and fetch nothing.

import { css, textOn } from "./colors.js";
import { textPx } from "./text.js";

/**
 * Geometry of a rows x cols grid: `cellSize` CSS px per cell, `gap` px between cells,
 * top-left corner at (x, y). `rect(r, c)` gives a cell's box, `cellAt(px, py)` the cell
 * under a point (or null), `width`/`height` the whole grid.
 */
export function gridLayout({ rows, cols, cellSize, gap = 1, x = 0, y = 0 }) {
  const pitch = cellSize + gap;
  return {
    rows,
    cols,
    cellSize,
    gap,
    x,
    y,
    width: cols * pitch - gap,
    height: rows * pitch - gap,
    rect(r, c) {
      return { x: x + c * pitch, y: y + r * pitch, w: cellSize, h: cellSize };
    },
    cellAt(px, py) {
      const c = Math.floor((px - x) / pitch);
      const r = Math.floor((py - y) / pitch);
      if (r < 0 || c < 0 || r >= rows || c >= cols) return null;
      return [r, c];
    },
  };
}

/** The font size that fits `digits` characters in a cell. */
export function fontSizeFor(cellSize, chars = 4) {
  return Math.max(8, Math.min(textPx(16), Math.floor((cellSize * 1.6) / Math.max(3, chars))));
}

/**
 * Draw `matrix` (rows of numbers; null for "no value") into `layout`.
 * Options:
 *   fill(value, r, c)  -> [r, g, b] background colour of a cell
 *   text(value, r, c)  -> string drawn centred, or null for none
 *   style(r, c)        -> "padding" (hatched, muted text) | "outside" (dashed, empty) | null
 *   ink(background)    -> text colour (default: flips to white on dark cells)
 */
export function drawGrid(ctx, matrix, layout, { fill, text = null, style = null, ink = textOn, fontSize = null } = {}) {
  const size = fontSize ?? fontSizeFor(layout.cellSize);
  ctx.save();
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.font = `${size}px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace`;
  for (let r = 0; r < layout.rows; r += 1) {
    for (let c = 0; c < layout.cols; c += 1) {
      const value = matrix[r]?.[c];
      const box = layout.rect(r, c);
      const kind = style ? style(r, c) : null;
      if (kind === "outside") {
        drawOutside(ctx, box);
        continue;
      }
      const background = fill(value, r, c) ?? [238, 240, 244];
      ctx.fillStyle = css(background);
      ctx.fillRect(box.x, box.y, box.w, box.h);
      ctx.strokeStyle = "rgb(17 20 24 / 0.14)";
      ctx.lineWidth = 1;
      ctx.strokeRect(box.x + 0.5, box.y + 0.5, box.w - 1, box.h - 1);
      if (kind === "padding") drawHatch(ctx, box, "rgb(60 64 72 / 0.35)");
      const label = text ? text(value, r, c) : null;
      if (label !== null && label !== undefined && label !== "") {
        ctx.fillStyle = kind === "padding" ? "#4b5160" : ink(background);
        const room = box.w - 4;
        const width = ctx.measureText(label).width;
        if (width > room) {
          // Shrink this label to fit its cell rather than spill into the next one.
          ctx.save();
          ctx.font = `${Math.max(6, Math.floor((size * room) / width))}px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace`;
          ctx.fillText(label, box.x + box.w / 2, box.y + box.h / 2 + 0.5);
          ctx.restore();
        } else {
          ctx.fillText(label, box.x + box.w / 2, box.y + box.h / 2 + 0.5);
        }
      }
    }
  }
  ctx.restore();
}

/** Diagonal hatching inside a box (used for padding cells). */
export function drawHatch(ctx, box, color, spacing = 6) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(box.x, box.y, box.w, box.h);
  ctx.clip();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let d = -box.h; d < box.w; d += spacing) {
    ctx.moveTo(box.x + d, box.y + box.h);
    ctx.lineTo(box.x + d + box.h, box.y);
  }
  ctx.stroke();
  ctx.restore();
}

function drawOutside(ctx, box) {
  ctx.save();
  ctx.setLineDash([3, 3]);
  ctx.strokeStyle = "rgb(60 64 72 / 0.45)";
  ctx.lineWidth = 1;
  ctx.strokeRect(box.x + 0.5, box.y + 0.5, box.w - 1, box.h - 1);
  ctx.restore();
}

/** Outline the rectangle of cells [r0, r1] x [c0, c1] (inclusive), cells may lie outside. */
export function outlineCells(ctx, layout, r0, c0, r1, c1, { color = "#111418", width = 3, dash = null, inset = 0 } = {}) {
  const a = layout.rect(r0, c0);
  const b = layout.rect(r1, c1);
  ctx.save();
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  if (dash) ctx.setLineDash(dash);
  const half = width / 2;
  ctx.strokeRect(a.x + half + inset, a.y + half + inset, b.x + b.w - a.x - width - 2 * inset, b.y + b.h - a.y - width - 2 * inset);
  ctx.restore();
}

/** A translucent fill over one cell (e.g. the kernel's colour on the cell it meets). */
export function tintCell(ctx, layout, r, c, color, alpha = 0.5) {
  const box = layout.rect(r, c);
  ctx.fillStyle = css(color, alpha);
  ctx.fillRect(box.x, box.y, box.w, box.h);
}

/** A small label in a cell's bottom-right corner on a light chip ("×−1"). */
export function cornerLabel(ctx, layout, r, c, label, { color = "#111418" } = {}) {
  const box = layout.rect(r, c);
  const size = Math.max(8, Math.floor(box.w / 4.2));
  ctx.save();
  ctx.font = `600 ${size}px system-ui, sans-serif`;
  const width = ctx.measureText(label).width + 4;
  const chipX = box.x + box.w - width - 1;
  const chipY = box.y + box.h - size - 3;
  ctx.fillStyle = "rgb(255 255 255 / 0.88)";
  ctx.fillRect(chipX, chipY, width, size + 2);
  ctx.fillStyle = color;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(label, chipX + 2, chipY + 1);
  ctx.restore();
}
