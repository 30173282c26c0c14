// Painters for /teach: they build DOM and draw from the data they are given.

import { h, replaceChildren, sizeCanvas } from "../../dom.js";
import { formatNumber } from "../../render/format.js";
import { drawPlot, extent } from "../../render/plot.js";

/** A 28x28 input in [0, 1] as a small gray canvas (0 black ... 1 white, as the network sees it). */
export function thumbnail(input, size = 42) {
  const canvas = h("canvas", { width: 28, height: 28, class: "thumb-canvas" });
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  input.flat().forEach((v, i) => {
    const g = Math.round(Math.min(1, Math.max(0, v)) * 255);
    image.data.set([g, g, g, 255], i * 4);
  });
  ctx.putImageData(image, 0, 0);
  canvas.style.width = canvas.style.height = `${size}px`;
  return canvas;
}

/** One card per class: name, thumbnails (each removable), buttons to add examples. */
export function paintClasses(node, classes, { onRename, onRemoveClass, onRemoveExample, onAdd }) {
  replaceChildren(
    node,
    classes.map((cls, k) => {
      const name = h("input", {
        type: "text",
        value: cls.name,
        maxlength: "64",
        aria: { label: `Name of class ${k + 1}` },
        dataset: { testid: `class-name-${k}` },
      });
      name.addEventListener("change", () => onRename(k, name.value));
      const upload = h("input", { type: "file", accept: "image/*", multiple: true, class: "sr-only", dataset: { testid: `class-upload-${k}` } });
      upload.addEventListener("change", () => onAdd(k, "files", [...upload.files]));
      const button = (label, testid, fn) => {
        const b = h("button", { type: "button", class: "btn btn-small", dataset: { testid } }, label);
        b.addEventListener("click", fn);
        return b;
      };
      const thumbs = cls.examples.map((input, i) => {
        const remove = button("×", `remove-${k}-${i}`, () => onRemoveExample(k, i));
        remove.setAttribute("aria-label", `Remove example ${i + 1} of ${cls.name}`);
        return h("span", { class: "thumb" }, thumbnail(input), remove);
      });
      return h(
        "article",
        { class: "class-card", dataset: { testid: `class-${k}`, count: String(cls.examples.length) } },
        h(
          "div",
          { class: "class-head" },
          name,
          h("span", { class: "muted", dataset: { testid: `class-count-${k}` } }, `${cls.examples.length} example${cls.examples.length === 1 ? "" : "s"}`),
          button("Remove class", `remove-class-${k}`, () => onRemoveClass(k)),
        ),
        h(
          "div",
          { class: "button-row" },
          button("Add the drawing", `add-drawing-${k}`, () => onAdd(k, "drawing")),
          button("Add a webcam frame", `add-webcam-${k}`, () => onAdd(k, "webcam")),
          h("label", { class: "btn btn-small file-btn" }, "Upload files", upload),
        ),
        h("div", { class: "thumbs", dataset: { testid: `thumbs-${k}` } }, thumbs),
      );
    }),
  );
}

/** A run's panel: title, progress bar, loss and accuracy canvases, filters, result. */
export function createRunPanel(title, index) {
  const id = (name) => `run-${index}-${name}`;
  const progress = h("progress", { max: "1", value: "0", dataset: { testid: id("progress") } });
  const status = h("p", { class: "hint", dataset: { testid: id("status") }, aria: { live: "polite" } }, "Starting…");
  const loss = h("canvas", { class: "plot", dataset: { testid: id("loss") }, role: "img", aria: { label: "Loss per step" } });
  const acc = h("canvas", { class: "plot", dataset: { testid: id("accuracy-plot") }, role: "img", aria: { label: "Accuracy" } });
  const filters = h("canvas", { class: "filters", role: "img", aria: { label: "First-layer filters" }, dataset: { testid: id("filters") } });
  const scale = h("p", { class: "hint", dataset: { testid: id("filters-scale") } });
  const result = h("div", { dataset: { testid: id("result") } });
  const node = h(
    "article",
    { class: "run", dataset: { testid: `run-${index}` } },
    h("h3", {}, title),
    progress,
    status,
    h("figure", { class: "figure" }, h("figcaption", {}, "Loss (cross-entropy) of every batch"), loss),
    h("figure", { class: "figure" }, h("figcaption", {}, "Accuracy: each batch (thin), held-back examples after each epoch (dots)"), acc),
    h("figure", { class: "figure" }, h("figcaption", {}, "First layer's 3×3 filters, blue − / white 0 / red +"), filters, scale),
    result,
  );
  return { node, progress, status, loss, acc, filters, scale, result };
}

/** Redraw a run from its accumulated data: {steps, losses, accuracies: [[step, acc]], tests: [[step, acc]]}. */
export function paintRun(panel, run) {
  const width = Math.max(220, Math.min(520, panel.node.clientWidth - 4 || 320));
  const height = 160;
  const lossCtx = sizeCanvas(panel.loss, width, height);
  const xs = { min: 0, max: Math.max(1, run.steps), label: "step" };
  const [lo, hi] = extent(run.losses, { positive: false });
  drawPlot(lossCtx, {
    width,
    height,
    x: xs,
    y: { min: Math.min(0, lo), max: hi },
    series: [{ points: run.losses.map((v, i) => [i + 1, v]), color: "#3b5bdb", width: 1.5 }],
  });
  const accCtx = sizeCanvas(panel.acc, width, height);
  const plot = drawPlot(accCtx, {
    width,
    height,
    x: xs,
    y: { min: 0, max: 1 },
    series: [
      { points: run.accuracies, color: "#8a919e", width: 1 },
      { points: run.tests, color: "#d9480f", width: 2 },
    ],
  });
  accCtx.fillStyle = "#d9480f";
  for (const [x, y] of run.tests) {
    accCtx.beginPath();
    accCtx.arc(plot.toX(x), plot.toY(y), 3.5, 0, 2 * Math.PI);
    accCtx.fill();
  }
}

/**
 * The first layer's filters side by side from the API's atlas (tiles stacked top to
 * bottom in one PNG, already coloured): each tile scaled to `zoom` px per weight.
 */
export async function paintFilters(canvas, filters, zoom = 12) {
  const image = new Image();
  image.src = filters.data_url;
  await image.decode();
  const [th, tw] = filters.tile;
  const gap = 4;
  const ctx = sizeCanvas(canvas, filters.count * (tw * zoom + gap), th * zoom);
  ctx.imageSmoothingEnabled = false;
  for (let k = 0; k < filters.count; k += 1) {
    ctx.drawImage(image, 0, k * th, tw, th, k * (tw * zoom + gap), 0, tw * zoom, th * zoom);
  }
  canvas.dataset.count = String(filters.count);
}

/** The held-back confusion matrix (rows true, columns predicted) with the counts. */
export function paintConfusion(node, classes, confusion) {
  const head = h(
    "tr",
    {},
    h("th", { scope: "col" }, "true ↓ / predicted →"),
    classes.map((c) => h("th", { scope: "col" }, c)),
  );
  const rows = confusion.map((row, t) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, classes[t]),
      row.map((n, p) => h("td", { class: t === p ? "diag" : n ? "off" : "" }, String(n))),
    ),
  );
  replaceChildren(node, h("table", { class: "confusion-table" }, h("thead", {}, head), h("tbody", {}, rows)));
}

export const percent = (x) => `${formatNumber(x * 100, 3)} %`;
