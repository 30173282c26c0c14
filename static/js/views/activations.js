// /activations: every activation function and its derivative on one plot (toggle each),
// a hover readout at any sample, a softmax demo and two loss calculators. Every value and
// every derivative comes from the API (POST /api/v1/activation with derivative: true).

import * as api from "../api.js";
import { byTestId, debounce, h, replaceChildren, sizeCanvas } from "../dom.js";
import { formatNumber, parseNumber } from "../render/format.js";
import { createStore, field } from "../state.js";
import { drawOverlay, nearestSample } from "./activations/overlay.js";
import { createNumberField } from "./widgets/number-field.js";

// Which functions there are, and their formulas, come from GET /api/v1/activations (the one
// registry in app/core/activations.py). Colours here only tell the curves apart: the
// legend beside each checkbox names the function a colour draws.
const SERIES_COLORS = ["#1d4ed8", "#0891b2", "#15803d", "#a16207", "#dc2626", "#c026d3", "#4b5563", "#7c2d12"];
const SAMPLES = 241;
const LIST = /^[-+\d.,eE ]{1,300}$/;

/** The elementwise functions (softmax has its own demo below) with a colour each. */
async function elementwiseFunctions() {
  const { activations } = await api.listActivations();
  return activations.filter((a) => a.derivative !== null).map((a, i) => ({ ...a, color: SERIES_COLORS[i % SERIES_COLORS.length] }));
}

const schema = (names) => ({
  lo: field.number(-4),
  hi: field.number(4),
  slope: field.number(0.1),
  alpha: field.number(1),
  show: field.text(names.join(","), { pattern: /^[a-z_,]{0,120}$/ }),
  deriv: field.bool(true),
  equal: field.bool(false),
  logits: field.text("2, 1, 0.1, -1", { pattern: LIST }),
  pred: field.text("2.5, 0, 2", { pattern: LIST }),
  target: field.text("3, -0.5, 2", { pattern: LIST }),
  red: field.choice("mean", ["mean", "sum", "none"]),
  ce: field.text("2, 1, 0.1", { pattern: LIST }),
  cls: field.int(0, { min: 0, max: 63 }),
  smooth: field.number(0),
});

/** "1, 2.5, -3" -> [1, 2.5, -3]; undefined (with a reason) when an entry is not a number. */
export function parseList(text) {
  const parts = String(text)
    .split(",")
    .map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => part === "")) return { error: "Write numbers separated by commas, e.g. 1, 2.5, -3." };
  const values = parts.map((part) => parseNumber(part));
  const bad = parts.find((part, i) => values[i] === undefined);
  if (bad !== undefined) return { error: `“${bad}” is not a number.` };
  return { values };
}

/** The shown functions of `names` from the URL's "relu,tanh" (unknown names dropped, order kept). */
export function parseShown(text, names) {
  const wanted = new Set(String(text).split(","));
  return names.filter((name) => wanted.has(name));
}

export async function mount(root) {
  let functions;
  try {
    functions = await elementwiseFunctions();
  } catch (error) {
    const plotsError = byTestId(root, "plots-error");
    plotsError.textContent = `Could not load the list of functions: ${error.message}`;
    plotsError.hidden = false;
    return;
  }
  const names = functions.map((f) => f.name);
  const store = createStore(schema(names));
  const shownNames = () => parseShown(store.state.show, names);
  const plotsError = byTestId(root, "plots-error");
  const plotBox = byTestId(root, "overlay");
  const canvas = h("canvas", {
    class: "plot-canvas",
    tabIndex: 0,
    role: "img",
    dataset: { testid: "overlay-plot" },
    aria: { label: "The shown activation functions (solid) and their derivatives (dashed); move the pointer or press the arrow keys to read values" },
  });
  const readout = h("div", { class: "act-readout", aria: { live: "polite" }, dataset: { testid: "readout" } });
  plotBox.append(canvas, readout);
  let curves = new Map(); // name -> {xs, ys, ds}
  let cursor = null;
  let frame = null;
  let requestId = 0;

  // ---- controls ---------------------------------------------------------------------
  const toggles = byTestId(root, "function-toggles");
  for (const f of functions) {
    const id = `show-${f.name}`;
    const box = h("input", { type: "checkbox", id, dataset: { testid: id }, checked: shownNames().includes(f.name) });
    box.addEventListener("change", () => {
      const shown = new Set(shownNames());
      if (box.checked) shown.add(f.name);
      else shown.delete(f.name);
      store.set({ show: names.filter((n) => shown.has(n)).join(",") });
    });
    const swatch = h("span", { class: "swatch-line", aria: { hidden: "true" } });
    swatch.style.borderTopColor = f.color;
    toggles.append(
      h(
        "li",
        {},
        h("label", { htmlFor: id }, box, swatch, h("strong", {}, f.label)),
        h("span", { class: "formula-text" }, `f(x) = ${f.formula}; f′(x) = ${f.derivative}`),
      ),
    );
  }
  const options = byTestId(root, "plot-options");
  for (const [key, label] of [
    ["deriv", "Show the derivatives (dashed)"],
    ["equal", "Shared scale: the y-axis uses the x-axis's units, so a slope of 1 is drawn at 45°"],
  ]) {
    const id = `opt-${key}`;
    const box = h("input", { type: "checkbox", id, dataset: { testid: id }, checked: store.state[key], onChange: () => store.set({ [key]: box.checked }) });
    options.append(h("label", { htmlFor: id }, box, ` ${label}`));
  }

  const range = {
    lo: createNumberField({
      label: "From x =",
      testid: "range-lo",
      value: store.state.lo,
      integer: false,
      step: 0.5,
      min: -20,
      max: 19,
      check: (v) => (v >= store.state.hi ? `“From” must be below “to” (${store.state.hi}).` : null),
      onChange: (v) => store.set({ lo: v }),
    }),
    hi: createNumberField({
      label: "to x =",
      testid: "range-hi",
      value: store.state.hi,
      integer: false,
      step: 0.5,
      min: -19,
      max: 20,
      check: (v) => (v <= store.state.lo ? `“To” must be above “from” (${store.state.lo}).` : null),
      onChange: (v) => store.set({ hi: v }),
    }),
    slope: createNumberField({
      label: "Leaky ReLU slope",
      testid: "negative-slope",
      value: store.state.slope,
      integer: false,
      step: 0.05,
      min: -1,
      max: 1,
      onChange: (v) => store.set({ slope: v }),
    }),
    alpha: createNumberField({
      label: "ELU α",
      testid: "elu-alpha",
      value: store.state.alpha,
      integer: false,
      step: 0.1,
      min: 0,
      max: 5,
      onChange: (v) => store.set({ alpha: v }),
    }),
  };
  byTestId(root, "range-fields").append(range.lo.root, range.hi.root, range.slope.root, range.alpha.root);

  async function computeCurves() {
    const { lo, hi, slope, alpha } = store.state;
    const xs = Array.from({ length: SAMPLES }, (_, i) => lo + ((hi - lo) * i) / (SAMPLES - 1));
    const id = ++requestId;
    root.querySelector(".act-plots").setAttribute("aria-busy", "true");
    plotBox.classList.add("stale");
    try {
      const outputs = await Promise.all(functions.map((f) => api.activation({ input: xs, function: f.name, negative_slope: slope, alpha, derivative: true })));
      if (id !== requestId) return;
      plotsError.hidden = true;
      plotsError.textContent = "";
      plotBox.classList.remove("stale");
      curves = new Map(functions.map((f, i) => [f.name, { xs, ys: outputs[i].output, ds: outputs[i].derivative }]));
      cursor ??= Math.floor(SAMPLES / 2);
      draw();
    } catch (error) {
      if (id !== requestId) return;
      plotsError.textContent = `Could not compute the curves: ${error.message}`;
      plotsError.hidden = false;
    } finally {
      if (id === requestId) root.querySelector(".act-plots").removeAttribute("aria-busy");
    }
  }

  function shownCurves() {
    return functions.filter((f) => curves.has(f.name) && shownNames().includes(f.name)).map((f) => ({ ...f, ...curves.get(f.name) }));
  }

  function draw() {
    if (curves.size === 0) return;
    const shown = shownCurves();
    const width = Math.max(240, Math.floor(plotBox.clientWidth));
    const height = Math.round(Math.max(220, Math.min(420, width * 0.6)));
    const ctx = sizeCanvas(canvas, width, height);
    const xs = curves.values().next().value.xs;
    frame = drawOverlay(ctx, {
      width,
      height,
      curves: shown,
      derivatives: store.state.deriv,
      cursor,
      equalAxes: store.state.equal,
      xRange: [xs[0], xs.at(-1)],
    });
    canvas.dataset.points = String(xs.length);
    canvas.dataset.shown = shown.map((c) => c.name).join(",");
    drawReadout(shown, xs);
  }

  function drawReadout(shown, xs) {
    const x = xs[cursor];
    readout.dataset.x = String(x);
    replaceChildren(
      readout,
      h("p", {}, "At x = ", h("strong", { dataset: { testid: "readout-x" } }, formatNumber(x, 4)), shown.length ? "" : " (no function shown: tick one above)"),
      shown.length
        ? h(
            "table",
            { class: "value-table" },
            h("thead", {}, h("tr", {}, h("th", {}, "function"), h("th", {}, "f(x)"), h("th", {}, "f′(x)"))),
            h(
              "tbody",
              {},
              shown.map((c) => {
                const swatch = h("span", { class: "swatch-line", aria: { hidden: "true" } });
                swatch.style.borderTopColor = c.color;
                return h(
                  "tr",
                  {},
                  h("td", {}, swatch, c.label),
                  h("td", { class: "num", dataset: { testid: `value-${c.name}` } }, formatNumber(c.ys[cursor], 4)),
                  h("td", { class: "num", dataset: { testid: `deriv-${c.name}` } }, formatNumber(c.ds[cursor], 4)),
                );
              }),
            ),
          )
        : null,
    );
  }

  canvas.addEventListener("pointermove", (event) => {
    if (!frame || curves.size === 0) return;
    const rect = canvas.getBoundingClientRect();
    const xs = curves.values().next().value.xs;
    const index = nearestSample(frame, xs, ((event.clientX - rect.left) * canvas.clientWidth) / (rect.width || 1));
    if (index === cursor) return;
    cursor = index;
    draw();
  });
  canvas.addEventListener("keydown", (event) => {
    if (cursor === null) return;
    const move = { ArrowLeft: -1, ArrowRight: 1, PageDown: -10, PageUp: 10 }[event.key];
    if (move === undefined) return;
    event.preventDefault();
    cursor = Math.max(0, Math.min(SAMPLES - 1, cursor + move));
    draw();
  });

  // ---- softmax ----------------------------------------------------------------------
  const softmax = buildListCalc(byTestId(root, "softmax"), {
    testid: "logits",
    label: "Logits (comma-separated)",
    get: () => store.state.logits,
    set: (text) => store.set({ logits: text }),
  });

  function computeSoftmax() {
    return softmax.run(async (out) => {
      const parsed = parseList(store.state.logits);
      if (parsed.error) return out.error(parsed.error);
      try {
        const response = await api.activation({ input: parsed.values, function: "softmax", dim: 0 });
        const probs = response.output;
        const total = probs.reduce((a, b) => a + b, 0);
        out.show(
          h(
            "table",
            { class: "value-table", dataset: { testid: "softmax-table" } },
            h(
              "thead",
              {},
              h("tr", {}, h("th", {}, "logit"), h("th", {}, "probability"), h("th", { class: "bar-cell" }, h("span", { class: "sr-only" }, "bar"))),
            ),
            h(
              "tbody",
              {},
              parsed.values.map((z, i) => {
                const bar = h("div", { class: "prob-bar" });
                bar.style.width = `${(probs[i] * 100).toFixed(2)}%`;
                return h(
                  "tr",
                  {},
                  h("td", { class: "num" }, formatNumber(z, 4)),
                  h("td", { class: "num", dataset: { testid: `prob-${i}` } }, formatNumber(probs[i], 4)),
                  h("td", { class: "bar-cell" }, bar),
                );
              }),
            ),
          ),
          h(
            "p",
            { class: "calc-result" },
            "Sum of the probabilities: ",
            h("strong", { class: "result", dataset: { testid: "softmax-sum" } }, total.toFixed(6)),
          ),
          h(
            "p",
            { class: "hint" },
            "softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ: every probability is positive and they add up to one. Adding the same number to every logit changes nothing; doubling them sharpens the distribution.",
          ),
        );
      } catch (error) {
        out.error(error.message);
      }
    });
  }

  // ---- MSE --------------------------------------------------------------------------
  const mse = buildMse(byTestId(root, "mse"), store);
  function computeMse() {
    return mse.run(async (out) => {
      const p = parseList(store.state.pred);
      const t = parseList(store.state.target);
      if (p.error || t.error) return out.error(p.error ? `Predictions: ${p.error}` : `Targets: ${t.error}`);
      if (p.values.length !== t.values.length)
        return out.error(`Predictions have ${p.values.length} values but targets have ${t.values.length}; they must match.`);
      try {
        const response = await api.loss({ function: "mse", input: p.values, target: t.values, reduction: store.state.red });
        const loss = Array.isArray(response.loss) ? `[${response.loss.map((v) => formatNumber(v, 4)).join(", ")}]` : formatNumber(response.loss, 6);
        out.show(
          h(
            "table",
            { class: "value-table" },
            h("thead", {}, h("tr", {}, h("th", {}, "prediction"), h("th", {}, "target"), h("th", {}, "(p − t)²"))),
            h(
              "tbody",
              {},
              p.values.map((v, i) =>
                h(
                  "tr",
                  {},
                  h("td", { class: "num" }, formatNumber(v, 4)),
                  h("td", { class: "num" }, formatNumber(t.values[i], 4)),
                  h("td", { class: "num" }, formatNumber(response.per_element[i], 4)),
                ),
              ),
            ),
          ),
          h("p", { class: "calc-result" }, `MSE (${response.reduction}) = `, h("strong", { class: "result", dataset: { testid: "mse-loss" } }, loss)),
        );
        if (out.isLatest()) mse.root.dataset.loss = JSON.stringify(response.loss);
      } catch (error) {
        out.error(error.message);
      }
    });
  }

  // ---- cross-entropy ----------------------------------------------------------------
  const ce = buildCe(byTestId(root, "ce"), store);
  function computeCe() {
    return ce.run(async (out) => {
      const z = parseList(store.state.ce);
      if (z.error) return out.error(`Logits: ${z.error}`);
      if (store.state.cls >= z.values.length)
        return out.error(`The target class must be between 0 and ${z.values.length - 1} (there are ${z.values.length} logits).`);
      try {
        const response = await api.loss({ function: "cross_entropy", input: z.values, target: store.state.cls, label_smoothing: store.state.smooth });
        out.show(
          h(
            "table",
            { class: "value-table" },
            h("thead", {}, h("tr", {}, h("th", {}, "class"), h("th", {}, "logit"), h("th", {}, "softmax"), h("th", {}, "target"), h("th", {}, "log p"))),
            h(
              "tbody",
              {},
              z.values.map((v, i) =>
                h(
                  "tr",
                  {},
                  h("td", {}, i === store.state.cls ? `${i} (target)` : String(i)),
                  h("td", { class: "num" }, formatNumber(v, 4)),
                  h("td", { class: "num" }, formatNumber(response.probabilities[i], 4)),
                  h("td", { class: "num" }, formatNumber(response.target_distribution[i], 4)),
                  h("td", { class: "num" }, formatNumber(response.log_probabilities[i], 4)),
                ),
              ),
            ),
          ),
          h(
            "p",
            { class: "calc-result" },
            "Cross-entropy = −Σ target · log p = ",
            h("strong", { class: "result", dataset: { testid: "ce-loss" } }, formatNumber(response.loss, 6)),
          ),
        );
        if (out.isLatest()) ce.root.dataset.loss = JSON.stringify(response.loss);
      } catch (error) {
        out.error(error.message);
      }
    });
  }

  const curvesSoon = debounce(computeCurves, 150);
  const softmaxSoon = debounce(computeSoftmax, 200);
  const mseSoon = debounce(computeMse, 200);
  const ceSoon = debounce(computeCe, 200);
  store.subscribe((state, changed) => {
    if (["lo", "hi", "slope", "alpha"].some((k) => changed.has(k))) curvesSoon();
    if (["show", "deriv", "equal"].some((k) => changed.has(k))) draw();
    if (changed.has("logits")) softmaxSoon();
    if (["pred", "target", "red"].some((k) => changed.has(k))) mseSoon();
    if (["ce", "cls", "smooth"].some((k) => changed.has(k))) ceSoon();
  });
  new ResizeObserver(debounce(draw, 80)).observe(plotBox);
  computeCurves();
  computeSoftmax();
  computeMse();
  computeCe();
}

// ---- calculator forms ----------------------------------------------------------------

/** A labelled text field for a list of numbers plus an output area. */
function listField({ testid, label, get, set }) {
  const id = `field-${testid}`;
  const input = h("input", { type: "text", id, value: get(), inputMode: "decimal", autocomplete: "off", spellcheck: false, dataset: { testid } });
  input.addEventListener("input", () => {
    set(input.value.slice(0, 300)); // the calculator says what is wrong with a bad list
  });
  return { root: h("div", { class: "field" }, h("label", { htmlFor: id }, label), input), input };
}

/**
 * A calculator's output area. `run(task)` dims the shown result (class `stale`) until the
 * latest task's answer arrives (`show`) or it fails (`error`: the reason beside the
 * still-dimmed result). Answers to superseded tasks are dropped.
 */
function outputArea(container, ...fields) {
  const out = h("div", { class: "calc-out", aria: { live: "polite" }, dataset: { testid: `${container.dataset.testid}-out` } });
  const message = h("p", {
    class: "field-msg field-msg-error calc-error",
    role: "alert",
    dataset: { testid: `${container.dataset.testid}-error` },
    hidden: true,
  });
  replaceChildren(container, ...fields, message, out);
  let latest = 0;
  const area = {
    root: container,
    show(...children) {
      message.textContent = "";
      message.hidden = true;
      replaceChildren(out, ...children);
      out.classList.remove("stale");
      container.dataset.stale = "false";
    },
    error(text) {
      message.textContent = text;
      message.hidden = false;
      out.classList.add("stale");
      container.dataset.stale = "true";
    },
    /** Run `task()` (which calls show/error itself); only the latest call may report. */
    async run(task) {
      const id = ++latest;
      out.classList.add("stale");
      const guard =
        (fn) =>
        (...args) =>
          id === latest && fn(...args);
      try {
        await task({ show: guard(area.show), error: guard(area.error), isLatest: () => id === latest });
      } catch (error) {
        if (id === latest) area.error(error?.message ?? String(error));
      }
    },
  };
  return area;
}

function buildListCalc(container, spec) {
  return outputArea(container, listField(spec).root);
}

function buildMse(container, store) {
  const pred = listField({ testid: "mse-pred", label: "Predictions", get: () => store.state.pred, set: (v) => store.set({ pred: v }) });
  const target = listField({ testid: "mse-target", label: "Targets", get: () => store.state.target, set: (v) => store.set({ target: v }) });
  const red = h(
    "select",
    { id: "mse-reduction", dataset: { testid: "mse-reduction" }, onChange: () => store.set({ red: red.value }) },
    ["mean", "sum", "none"].map((r) => h("option", { value: r, selected: r === store.state.red }, r)),
  );
  return outputArea(
    container,
    h("div", { class: "field-row" }, pred.root, target.root),
    h("div", { class: "field" }, h("label", { htmlFor: "mse-reduction" }, "Reduction"), red),
  );
}

function buildCe(container, store) {
  const logits = listField({ testid: "ce-logits", label: "Logits (one per class)", get: () => store.state.ce, set: (v) => store.set({ ce: v }) });
  const cls = createNumberField({
    label: "Target class (index)",
    testid: "ce-class",
    value: store.state.cls,
    min: 0,
    max: 63,
    onChange: (v) => store.set({ cls: v }),
  });
  const smooth = createNumberField({
    label: "Label smoothing",
    testid: "ce-smoothing",
    value: store.state.smooth,
    integer: false,
    step: 0.05,
    min: 0,
    max: 1,
    onChange: (v) => store.set({ smooth: v }),
  });
  return outputArea(container, logits.root, h("div", { class: "field-row" }, cls.root, smooth.root));
}
