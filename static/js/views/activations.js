// /activations: each activation function and its slope, a softmax demo and two loss
// calculators. Every value comes from the API (POST /api/v1/activation, /api/v1/loss);
// the only arithmetic here is the finite-difference slope of the returned curve, and the
// page says so.

import * as api from "../api.js";
import { byTestId, debounce, h, replaceChildren, sizeCanvas } from "../dom.js";
import { formatNumber, parseNumber } from "../render/format.js";
import { drawPlot, extent } from "../render/plot.js";
import { createStore, field } from "../state.js";
import { createNumberField } from "./widgets/number-field.js";

const FUNCTIONS = [
  { name: "relu", label: "ReLU", formula: "relu(x) = max(0, x)", slope: "1 for x > 0, 0 for x < 0" },
  { name: "leaky_relu", label: "Leaky ReLU", formula: "leaky_relu(x) = x if x > 0, else slope·x", slope: "1 or slope" },
  { name: "elu", label: "ELU", formula: "elu(x) = x if x > 0, else α·(eˣ − 1)", slope: "1, or α·eˣ for x < 0" },
  { name: "gelu", label: "GELU", formula: "gelu(x) = x·Φ(x), Φ the normal CDF", slope: "Φ(x) + x·φ(x)" },
  { name: "sigmoid", label: "Sigmoid", formula: "σ(x) = 1 / (1 + e⁻ˣ)", slope: "σ(x)·(1 − σ(x))" },
  { name: "tanh", label: "Tanh", formula: "tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)", slope: "1 − tanh²(x)" },
  { name: "step", label: "Step", formula: "step(x) = 1 if x > 0, else 0", slope: "0 (undefined at the jump)" },
];
const SAMPLES = 241;
const LIST = /^[-+\d.,eE ]{1,300}$/;
const FUNCTION_COLOR = "#1d4ed8";
const SLOPE_COLOR = "#d62c6a";

const SCHEMA = {
  lo: field.number(-4),
  hi: field.number(4),
  slope: field.number(0.1),
  alpha: field.number(1),
  logits: field.text("2, 1, 0.1, -1", { pattern: LIST }),
  pred: field.text("2.5, 0, 2", { pattern: LIST }),
  target: field.text("3, -0.5, 2", { pattern: LIST }),
  red: field.choice("mean", ["mean", "sum", "none"]),
  ce: field.text("2, 1, 0.1", { pattern: LIST }),
  cls: field.int(0, { min: 0, max: 63 }),
  smooth: field.number(0),
};

/** "1, 2.5, -3" -> [1, 2.5, -3]; undefined (with a reason) when an entry is not a number. */
export function parseList(text) {
  const parts = String(text).split(",").map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => part === "")) return { error: "Write numbers separated by commas, e.g. 1, 2.5, -3." };
  const values = parts.map((part) => parseNumber(part));
  const bad = parts.find((part, i) => values[i] === undefined);
  if (bad !== undefined) return { error: `“${bad}” is not a number.` };
  return { values };
}

/** Central differences of y over x (one-sided at the ends); jumps become gaps (NaN). */
export function finiteDifference(xs, ys) {
  const n = xs.length;
  const d = xs.map((_, i) => {
    const a = Math.max(0, i - 1);
    const b = Math.min(n - 1, i + 1);
    return (ys[b] - ys[a]) / (xs[b] - xs[a]);
  });
  const step = (xs[n - 1] - xs[0]) / (n - 1);
  return d.map((v) => (Math.abs(v) * step > 0.25 ? NaN : v)); // a jump, not a slope
}

export function mount(root) {
  const store = createStore(SCHEMA);
  const plotsError = byTestId(root, "plots-error");
  const cardsBox = byTestId(root, "function-cards");
  const curves = new Map(); // name -> {xs, ys, ds}
  const cards = new Map();
  let requestId = 0;

  // ---- plots ------------------------------------------------------------------------
  for (const f of FUNCTIONS) {
    const canvas = h("canvas", { class: "plot-canvas", dataset: { testid: `plot-${f.name}` }, role: "img", aria: { label: `${f.label} and its slope` } });
    const readout = h("p", { class: "hint", dataset: { testid: `readout-${f.name}` } });
    const card = h(
      "figure",
      { class: "function-card", dataset: { testid: `card-${f.name}` } },
      h("h3", {}, f.label),
      h("p", { class: "formula-text" }, f.formula, h("br"), `slope: ${f.slope}`),
      canvas,
      readout,
    );
    cards.set(f.name, { canvas, readout, card });
    cardsBox.append(card);
  }

  const range = {
    lo: createNumberField({ label: "From x =", testid: "range-lo", value: store.state.lo, integer: false, step: 0.5, min: -20, max: 19, check: (v) => (v >= store.state.hi ? `“From” must be below “to” (${store.state.hi}).` : null), onChange: (v) => store.set({ lo: v }) }),
    hi: createNumberField({ label: "to x =", testid: "range-hi", value: store.state.hi, integer: false, step: 0.5, min: -19, max: 20, check: (v) => (v <= store.state.lo ? `“To” must be above “from” (${store.state.lo}).` : null), onChange: (v) => store.set({ hi: v }) }),
    slope: createNumberField({ label: "Leaky ReLU slope", testid: "negative-slope", value: store.state.slope, integer: false, step: 0.05, min: -1, max: 1, onChange: (v) => store.set({ slope: v }) }),
    alpha: createNumberField({ label: "ELU α", testid: "elu-alpha", value: store.state.alpha, integer: false, step: 0.1, min: 0, max: 5, onChange: (v) => store.set({ alpha: v }) }),
  };
  byTestId(root, "range-fields").append(range.lo.root, range.hi.root, range.slope.root, range.alpha.root);

  async function computeCurves() {
    const { lo, hi, slope, alpha } = store.state;
    const xs = Array.from({ length: SAMPLES }, (_, i) => lo + ((hi - lo) * i) / (SAMPLES - 1));
    const id = ++requestId;
    root.querySelector(".act-plots").setAttribute("aria-busy", "true");
    cardsBox.classList.add("stale");
    try {
      const outputs = await Promise.all(
        FUNCTIONS.map((f) => api.activation({ input: xs, function: f.name, negative_slope: slope, alpha })),
      );
      if (id !== requestId) return;
      plotsError.hidden = true;
      plotsError.textContent = "";
      cardsBox.classList.remove("stale");
      FUNCTIONS.forEach((f, i) => curves.set(f.name, { xs, ys: outputs[i].output, ds: finiteDifference(xs, outputs[i].output) }));
      drawCurves();
    } catch (error) {
      if (id !== requestId) return;
      plotsError.textContent = `Could not compute the curves: ${error.message}`;
      plotsError.hidden = false;
    } finally {
      if (id === requestId) root.querySelector(".act-plots").removeAttribute("aria-busy");
    }
  }

  function drawCurves() {
    for (const f of FUNCTIONS) {
      const curve = curves.get(f.name);
      if (!curve) continue;
      const { canvas, readout } = cards.get(f.name);
      const width = Math.max(200, Math.floor(canvas.parentElement.clientWidth - 16));
      const height = Math.round(Math.min(200, width * 0.62));
      const ctx = sizeCanvas(canvas, width, height);
      const [ymin, ymax] = extent([...curve.ys, ...curve.ds]);
      drawPlot(ctx, {
        width,
        height,
        x: { min: curve.xs[0], max: curve.xs[curve.xs.length - 1] },
        y: { min: ymin, max: ymax },
        series: [
          { points: curve.xs.map((x, i) => [x, curve.ys[i]]), color: FUNCTION_COLOR, width: 2.5 },
          { points: curve.xs.map((x, i) => [x, curve.ds[i]]), color: SLOPE_COLOR, width: 2, dash: [5, 4] },
        ],
      });
      const mid = Math.floor(curve.xs.length / 2);
      readout.textContent = `f(${formatNumber(curve.xs[0], 2)}) = ${formatNumber(curve.ys[0], 3)}, f(${formatNumber(curve.xs[mid], 2)}) = ${formatNumber(curve.ys[mid], 3)}, f(${formatNumber(curve.xs.at(-1), 2)}) = ${formatNumber(curve.ys.at(-1), 3)}`;
      canvas.dataset.points = String(curve.xs.length);
    }
  }

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
            h("thead", {}, h("tr", {}, h("th", {}, "logit"), h("th", {}, "probability"), h("th", { class: "bar-cell" }, h("span", { class: "sr-only" }, "bar")))),
            h(
              "tbody",
              {},
              parsed.values.map((z, i) => {
                const bar = h("div", { class: "prob-bar" });
                bar.style.width = `${(probs[i] * 100).toFixed(2)}%`;
                return h("tr", {}, h("td", { class: "num" }, formatNumber(z, 4)), h("td", { class: "num", dataset: { testid: `prob-${i}` } }, formatNumber(probs[i], 4)), h("td", { class: "bar-cell" }, bar));
              }),
            ),
          ),
          h("p", { class: "calc-result" }, "Sum of the probabilities: ", h("strong", { class: "result", dataset: { testid: "softmax-sum" } }, total.toFixed(6))),
          h("p", { class: "hint" }, "softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ: every probability is positive and they add up to one. Adding the same number to every logit changes nothing; doubling them sharpens the distribution."),
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
      if (p.values.length !== t.values.length) return out.error(`Predictions have ${p.values.length} values but targets have ${t.values.length}; they must match.`);
      try {
        const response = await api.loss({ function: "mse", input: p.values, target: t.values, reduction: store.state.red });
        const loss = Array.isArray(response.loss) ? `[${response.loss.map((v) => formatNumber(v, 4)).join(", ")}]` : formatNumber(response.loss, 6);
        out.show(
          h(
            "table",
            { class: "value-table" },
            h("thead", {}, h("tr", {}, h("th", {}, "prediction"), h("th", {}, "target"), h("th", {}, "(p − t)²"))),
            h("tbody", {}, p.values.map((v, i) => h("tr", {}, h("td", { class: "num" }, formatNumber(v, 4)), h("td", { class: "num" }, formatNumber(t.values[i], 4)), h("td", { class: "num" }, formatNumber(response.per_element[i], 4))))),
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
      if (store.state.cls >= z.values.length) return out.error(`The target class must be between 0 and ${z.values.length - 1} (there are ${z.values.length} logits).`);
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
          h("p", { class: "calc-result" }, "Cross-entropy = −Σ target · log p = ", h("strong", { class: "result", dataset: { testid: "ce-loss" } }, formatNumber(response.loss, 6))),
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
    if (changed.has("logits")) softmaxSoon();
    if (["pred", "target", "red"].some((k) => changed.has(k))) mseSoon();
    if (["ce", "cls", "smooth"].some((k) => changed.has(k))) ceSoon();
  });
  new ResizeObserver(debounce(drawCurves, 80)).observe(cardsBox);
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
  const message = h("p", { class: "field-msg field-msg-error calc-error", role: "alert", dataset: { testid: `${container.dataset.testid}-error` }, hidden: true });
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
      const guard = (fn) => (...args) => id === latest && fn(...args);
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
  return outputArea(container, h("div", { class: "field-row" }, pred.root, target.root), h("div", { class: "field" }, h("label", { htmlFor: "mse-reduction" }, "Reduction"), red));
}

function buildCe(container, store) {
  const logits = listField({ testid: "ce-logits", label: "Logits (one per class)", get: () => store.state.ce, set: (v) => store.set({ ce: v }) });
  const cls = createNumberField({ label: "Target class (index)", testid: "ce-class", value: store.state.cls, min: 0, max: 63, onChange: (v) => store.set({ cls: v }) });
  const smooth = createNumberField({ label: "Label smoothing", testid: "ce-smoothing", value: store.state.smooth, integer: false, step: 0.05, min: 0, max: 1, onChange: (v) => store.set({ smooth: v }) });
  return outputArea(container, logits.root, h("div", { class: "field-row" }, cls.root, smooth.root));
}
