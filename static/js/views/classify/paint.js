// Painters for /classify: they build DOM from API responses and query nothing else.

import { h, replaceChildren } from "../../dom.js";
import { css, diverging, maxAbs, textOn } from "../../render/colors.js";
import { formatNumber } from "../../render/format.js";

const ZOOM = { 28: 3, 14: 4, 7: 6 };
export const mapZoom = (size) => ZOOM[size] ?? Math.max(2, Math.round(84 / size));

const shape = (dims) => dims.join("×");

/** Set inline styles through the CSSOM (the page's CSP forbids style attributes). */
function styled(node, styles) {
  Object.assign(node.style, styles);
  return node;
}

/** Probability bars for every class; the largest is marked. */
export function paintBars(node, classes, probabilities, prediction) {
  replaceChildren(
    node,
    classes.map((label, i) => {
      const top = i === prediction ? " prob-row-top" : "";
      return [
        h("span", { class: top.trim() }, label),
        h("span", { class: "prob-bar" }, styled(h("span"), { width: `${(probabilities[i] * 100).toFixed(2)}%` })),
        h("span", { class: top.trim(), dataset: { testid: `prob-${label}` } }, formatNumber(probabilities[i], 4)),
      ];
    }),
  );
}

/** One column per layer. `onUnit(layer, unit, kind)` gets hover ("enter"/"leave") and clicks. */
export function paintOverview(node, layers, { onUnit }) {
  const columns = layers.map((layer, index) => {
    const head = [h("h3", {}, layer.name), h("span", { class: "muted", dataset: { testid: `shape-${layer.name}` } }, shape(layer.shape))];
    if (layer.atlas) {
      const [size] = layer.atlas.tile;
      const zoom = mapZoom(size);
      const canvases = layer.maps.map(() => h("canvas", { width: size * zoom, height: size * zoom }));
      const maps = canvases.map((canvas, c) => {
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", `${layer.maps[c].label}: min ${formatNumber(layer.maps[c].min)}, max ${formatNumber(layer.maps[c].max)}`);
        const box = h("div", { class: "ov-map", dataset: { layer: layer.name, channel: c } }, canvas);
        const unitAt = (event) => {
          const rect = canvas.getBoundingClientRect();
          const r = Math.min(size - 1, Math.floor(((event.clientY - rect.top) / rect.height) * size));
          const col = Math.min(size - 1, Math.floor(((event.clientX - rect.left) / rect.width) * size));
          return [c, r, col];
        };
        if (index > 0) {
          canvas.addEventListener("mousemove", (event) => onUnit(index, unitAt(event), "enter"));
          canvas.addEventListener("mouseleave", () => onUnit(index, null, "leave"));
          canvas.addEventListener("click", (event) => onUnit(index, unitAt(event), "click"));
        }
        return box;
      });
      drawAtlas(layer.atlas, canvases, zoom);
      const scale = layer.type === "input" ? "gray 0 … 1" : `±${formatNumber(layer.atlas.vmax, 3)}`;
      return h("div", { class: "ov-col", dataset: { testid: `col-${layer.name}` } }, head, maps, h("span", { class: "muted" }, scale));
    }
    if (layer.type === "flatten") {
      const [c, hh, ww] = layers[index - 1].shape;
      return h(
        "div",
        { class: "ov-col", dataset: { testid: `col-${layer.name}` } },
        head,
        h("p", { class: "ov-note" }, `${layer.shape[0]} values: the ${c} maps of ${hh}×${ww} laid end to end, row by row`),
      );
    }
    const buttons = layer.values.map((v, i) => [
      h("span", {}, String(i)),
      h(
        "button",
        {
          type: "button",
          dataset: { testid: `unit-${layer.name}-${i}` },
          title: `${layer.name}[${i}]`,
          onClick: () => onUnit(index, [i], "click"),
          onMouseenter: () => onUnit(index, [i], "enter"),
          onMouseleave: () => onUnit(index, null, "leave"),
        },
        formatNumber(v, 3),
      ),
    ]);
    return h("div", { class: "ov-col", dataset: { testid: `col-${layer.name}` } }, head, h("div", { class: "ov-values" }, buttons));
  });
  replaceChildren(node, columns);
}

/** Cut the atlas (maps stacked top to bottom) into its canvases, pixels kept square. */
function drawAtlas(atlas, canvases, zoom) {
  const [th, tw] = atlas.tile;
  const image = new Image();
  image.addEventListener("load", () => {
    canvases.forEach((canvas, k) => {
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, 0, k * th, tw, th, 0, 0, tw * zoom, th * zoom);
    });
  });
  image.src = atlas.data_url;
}

/** Outline the cells rows × cols of map box `box` (a .ov-map) with class `cls`. */
export function outline(box, rows, cols, size, cls) {
  const r0 = Math.max(0, Math.min(...rows));
  const r1 = Math.min(size - 1, Math.max(...rows));
  const c0 = Math.max(0, Math.min(...cols));
  const c1 = Math.min(size - 1, Math.max(...cols));
  if (r1 < r0 || c1 < c0) return;
  const cell = box.firstChild.width / size;
  box.append(
    styled(h("div", { class: cls }), {
      top: `${r0 * cell - 1}px`,
      left: `${c0 * cell - 1}px`,
      width: `${(c1 - c0 + 1) * cell}px`,
      height: `${(r1 - r0 + 1) * cell}px`,
    }),
  );
}

/** A small number table, each cell tinted by its own value (diverging, scale ±m of the table). */
function mini(matrix) {
  const m = maxAbs(matrix.flat());
  const cell = (v) => {
    const color = diverging(v, m);
    return styled(h("td", {}, formatNumber(v, 3)), { background: css(color), color: textOn(color) });
  };
  return h(
    "table",
    { class: "trace-mini", title: `tint: blue −, white 0, red +, scale ±${formatNumber(m, 3)}` },
    matrix.map((row) => h("tr", {}, row.map(cell))),
  );
}

/** The exact computation of one unit (a `trace` from the API). */
export function paintTrace(node, tr) {
  const title = h("p", {}, h("strong", {}, `${tr.layer}[${tr.unit.join(", ")}]`), ` (${tr.type}) from ${tr.input_layer}`);
  const total = (label, value) => h("p", { class: "trace-total" }, `${label} = `, h("strong", { dataset: { testid: "trace-value" } }, formatNumber(value, 6)));
  if (tr.type === "conv2d") {
    const cards = tr.channels.map((ch) =>
      h(
        "div",
        { class: "trace-card", dataset: { channel: ch.channel } },
        h("h4", {}, `channel ${ch.channel}: window × kernel`),
        h("div", { class: "classify-row" }, mini(ch.window), h("span", {}, "×"), mini(ch.kernel), h("span", {}, "="), mini(ch.products)),
        h("p", { class: "muted" }, `sum ${formatNumber(ch.sum, 5)}`),
      ),
    );
    replaceChildren(
      node,
      title,
      h(
        "p",
        { class: "hint" },
        `3×3 window of every input channel at rows ${tr.origin[0]}…${tr.origin[0] + 2}, columns ${tr.origin[1]}…${tr.origin[1] + 2} (outside the map: zero padding), times the filter's slice for that channel. Each table's cells are tinted by their own value: blue negative, white 0, red positive, on a scale ±(that table's largest |value|).`,
      ),
      h("div", { class: "trace-channels" }, cards),
      h("p", { class: "trace-total" }, `Σ channel sums ${formatNumber(tr.sum, 6)} + bias ${formatNumber(tr.bias, 6)}`),
      total("pre-activation", tr.pre_activation),
      h("p", { class: "trace-total" }, `ReLU → ${tr.relu_layer} = max(0, ${formatNumber(tr.pre_activation, 6)}) = ${formatNumber(tr.relu, 6)}`),
    );
  } else if (tr.type === "relu") {
    replaceChildren(node, title, h("p", { class: "trace-total" }, `max(0, ${formatNumber(tr.input, 6)})`), total("output", tr.output));
  } else if (tr.type === "max_pool2d") {
    replaceChildren(
      node,
      title,
      h(
        "p",
        { class: "hint" },
        `2×2 window at rows ${tr.origin[0]}…${tr.origin[0] + 1}, columns ${tr.origin[1]}…${tr.origin[1] + 1}; the largest is at [${tr.argmax.join(", ")}].`,
      ),
      mini(tr.window),
      total("max", tr.max),
    );
  } else if (tr.type === "linear") {
    const rows = tr.top.map((c) =>
      h(
        "tr",
        {},
        h("td", {}, String(c.index)),
        h("td", {}, `[${c.source.join(", ")}]`),
        h("td", {}, formatNumber(c.input, 4)),
        h("td", {}, formatNumber(c.weight, 4)),
        h("td", {}, formatNumber(c.product, 4)),
      ),
    );
    replaceChildren(
      node,
      title,
      h("p", { class: "hint" }, `Its ${tr.top.length} largest contributions (by |input × weight|) of ${tr.top.length + tr.rest_count}:`),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data-table" },
          h(
            "tr",
            {},
            ["input #", "from [c, row, col]", "input", "weight", "product"].map((t) => h("th", {}, t)),
          ),
          rows,
        ),
      ),
      h(
        "p",
        { class: "trace-total" },
        `top ${tr.top.length}: ${formatNumber(tr.top_sum, 6)} + other ${tr.rest_count}: ${formatNumber(tr.rest_sum, 6)} = ${formatNumber(tr.sum, 6)}; + bias ${formatNumber(tr.bias, 6)}`,
      ),
      total("class score (logit)", tr.logit),
    );
  } else if (tr.type === "softmax") {
    replaceChildren(
      node,
      title,
      total(`probability of "${tr.class}"`, tr.probabilities[tr.unit[0]]),
      h("p", { class: "hint" }, "The whole step is in the table below."),
    );
  } else {
    replaceChildren(node, title, h("p", {}, `comes from ${tr.input_layer}[${tr.source.join(", ")}]`), total("value", tr.value));
  }
}

/** logits -> minus max -> exp -> / sum -> probabilities (a softmax trace). */
export function paintSoftmax(node, classes, tr) {
  const head = h(
    "tr",
    {},
    h("th", {}, "class"),
    classes.map((c) => h("th", {}, c)),
  );
  const row = (label, values, digits = 4) =>
    h(
      "tr",
      {},
      h("th", {}, label),
      values.map((v) => h("td", {}, formatNumber(v, digits))),
    );
  replaceChildren(
    node,
    h(
      "table",
      { class: "data-table", dataset: { testid: "softmax-steps" } },
      head,
      row("logit z", tr.logits),
      row(`z − max (${formatNumber(tr.max, 4)})`, tr.shifted),
      row("exp(z − max)", tr.exp),
      row(`÷ Σ = ${formatNumber(tr.sum, 6)}`, tr.probabilities),
    ),
  );
}

/** Rows: true digit; columns: predicted; `onCell(true, predicted)`. */
export function paintConfusion(node, classes, confusion, { onCell }) {
  const head = h(
    "tr",
    {},
    h("th", {}, "true \\ predicted"),
    classes.map((c) => h("th", {}, c)),
  );
  const rows = confusion.map((counts, t) =>
    h(
      "tr",
      {},
      h("th", {}, classes[t]),
      counts.map((n, p) =>
        h(
          "td",
          { class: t === p ? "diag" : n ? "off" : "" },
          h(
            "button",
            {
              type: "button",
              dataset: { testid: `cell-${t}-${p}` },
              onClick: () => onCell(t, p),
              aria: { label: `${n} digits ${classes[t]} predicted as ${classes[p]}` },
            },
            String(n),
          ),
        ),
      ),
    ),
  );
  replaceChildren(node, h("table", { class: "data-table confusion" }, head, rows));
}

/** Thumbnails of held-out digits; `onPick(index)`. */
export function paintGallery(node, samples, { onPick }) {
  if (!samples.length) {
    replaceChildren(node, h("p", { class: "hint" }, "No digits here."));
    return;
  }
  replaceChildren(
    node,
    samples.map((s) =>
      h(
        "button",
        {
          type: "button",
          dataset: { testid: `sample-${s.index}` },
          onClick: () => onPick(s.index),
          title: `held-out #${s.index}: true ${s.label}, predicted ${s.prediction} (${formatNumber(s.probability, 3)})`,
        },
        h("img", { src: s.data_url, alt: `digit ${s.label}` }),
        `${s.label}→${s.prediction}`,
      ),
    ),
  );
}

/** The "play it" frame `index` of a conv trace: channels one by one, then bias and ReLU. */
export function paintPlayFrame(traceNode, textNode, tr, index) {
  const last = tr.channels.length;
  for (const card of traceNode.querySelectorAll(".trace-card")) {
    card.classList.toggle("active", index < last && Number(card.dataset.channel) === index);
  }
  if (index < last) {
    const ch = tr.channels[index];
    textNode.textContent = `channel ${index}: Σ window × kernel = ${formatNumber(ch.sum, 6)}; running sum over channels 0…${index} = ${formatNumber(tr.cumulative[index], 6)}`;
  } else {
    textNode.textContent = `${formatNumber(tr.sum, 6)} + bias ${formatNumber(tr.bias, 6)} = ${formatNumber(tr.pre_activation, 6)}; ReLU → ${formatNumber(tr.relu, 6)}`;
  }
}
