// /learn: watch gradient descent find a kernel. The server runs the loop and streams
// progress (POST /api/v1/learn, server-sent events); this view queues the events and
// shows them at a watchable pace: loss curve, kernel numbers, current output.

import * as api from "../api.js";
import { byTestId, h, replaceChildren, sizeCanvas, debounce } from "../dom.js";
import { diverging, maxAbs } from "../render/colors.js";
import { formatNumber, parseNumber } from "../render/format.js";
import { drawGrid, gridLayout } from "../render/grid.js";
import { drawImageExact, loadImage } from "../render/image.js";
import { drawPlot, extent } from "../render/plot.js";
import { createStore, field } from "../state.js";
import { createNotice } from "./widgets/notice.js";
import { createNumberField } from "./widgets/number-field.js";

const NOISE = "noise";
const PACES = { slow: 90, fast: 0 }; // ms between shown events

const SCHEMA = {
  sample: field.text("scene"),
  target: field.text("sobel_x"),
  opt: field.choice("sgd", ["sgd", "adam"]),
  lr: field.number(0), // 0: the optimizer's default
  steps: field.int(200, { min: 1, max: 2000 }),
  every: field.int(5, { min: 1, max: 100 }),
  size: field.choice("64", ["32", "64", "128"]),
  seed: field.int(0, { min: 0, max: 99999 }),
  pace: field.choice("slow", Object.keys(PACES)),
};

const REASONS = {
  finished: "Finished all steps.",
  time_limit: "Stopped by the server's time limit (CONVSCOPE_MAX_LEARN_SECONDS).",
  diverged: "Diverged: the loss blew up. Try a smaller learning rate.",
};

export function mount(root) {
  const store = createStore(SCHEMA);
  const notice = createNotice(byTestId(root, "notice"));
  const el = (id) => byTestId(root, id);
  const stage = el("learn-stage");
  const progress = el("progress");
  const status = el("status");
  const buttons = { start: el("start"), stop: el("stop") };
  let run = null; // {controller, queue, timer, losses, last, steps, done}

  buildSettings(el("learn-settings"), store);

  // ---- drawing ----------------------------------------------------------------------
  async function drawMap(canvas, map) {
    const image = await loadImage(map.data_url);
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    drawImageExact(canvas.getContext("2d"), image);
  }

  function drawKernel(canvas, values, scale) {
    const rows = values.length;
    const cols = values[0].length;
    const cell = Math.max(22, Math.min(44, Math.floor(200 / Math.max(rows, cols))));
    const layout = gridLayout({ rows, cols, cellSize: cell, gap: 2, x: 1, y: 1 });
    const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
    drawGrid(ctx, values, layout, { fill: (v) => diverging(v, scale), text: (v) => formatNumber(v, 2) });
    canvas.setAttribute("aria-label", values.map((row) => row.map((v) => formatNumber(v, 3)).join(" ")).join("; "));
  }

  function drawLoss() {
    const canvas = el("loss-plot");
    const width = Math.max(260, Math.floor(canvas.parentElement.clientWidth));
    const height = Math.round(Math.min(260, Math.max(180, width * 0.4)));
    const ctx = sizeCanvas(canvas, width, height);
    const losses = run?.losses ?? [];
    const [lo, hi] = extent(losses, { positive: true });
    drawPlot(ctx, {
      width,
      height,
      x: { min: 0, max: Math.max(1, run?.steps ?? store.state.steps), label: "step" },
      y: { min: lo, max: hi, log: true },
      series: [{ points: losses.map((v, i) => [i, v]), color: "#1d4ed8", width: 2 }],
      zeroLines: false,
    });
  }

  function show(event) {
    for (const v of event.losses) run.losses.push(v ?? NaN);
    run.last = event;
    progress.max = run.steps;
    progress.value = event.step;
    progress.setAttribute("aria-valuetext", `step ${event.step} of ${run.steps}`);
    el("step-text").textContent = `Step ${event.step} of ${run.steps}`;
    el("loss-text").textContent = formatNumber(event.loss, 5);
    el("grad-text").textContent = formatNumber(event.grad_norm, 4);
    el("time-text").textContent = `${event.elapsed.toFixed(2)} s`;
    stage.dataset.step = String(event.step);
    stage.dataset.loss = String(event.loss);
    if (run.firstLoss === undefined) {
      run.firstLoss = event.loss;
      stage.dataset.firstLoss = String(event.loss);
    }
    const scale = maxAbs([...event.kernel.flat(), ...event.target_kernel.flat()]);
    drawKernel(el("kernel-canvas"), event.kernel, scale);
    drawKernel(el("target-canvas"), event.target_kernel, scale);
    el("bias-text").textContent = event.bias === null ? "no bias" : `bias ${formatNumber(event.bias, 4)} (target 0)`;
    if (event.input) drawMap(el("input-canvas"), event.input);
    if (event.target_output) drawMap(el("target-output-canvas"), event.target_output);
    drawMap(el("output-canvas"), event.output);
    drawLoss();
    if (event.done) finish(REASONS[event.reason] ?? "Done.");
  }

  function drain() {
    if (!run) return;
    run.timer = null;
    const event = run.queue.shift();
    if (!event) return;
    show(event);
    if (run && run.queue.length) run.timer = setTimeout(drain, PACES[store.state.pace]);
  }

  function enqueue(event) {
    run.queue.push(event);
    if (run.timer === null) run.timer = setTimeout(drain, run.queue.length === 1 && run.losses.length === 0 ? 0 : PACES[store.state.pace]);
  }

  function setRunning(running) {
    buttons.start.disabled = running;
    buttons.stop.disabled = !running;
    stage.dataset.running = String(running);
    if (running) stage.setAttribute("aria-busy", "true");
    else stage.removeAttribute("aria-busy");
  }

  function finish(message) {
    if (!run) return;
    clearTimeout(run.timer);
    const drop = run.finished ? 0 : run.queue.length;
    run.done = true;
    const summary = run.firstLoss !== undefined && run.last ? ` Loss ${formatNumber(run.firstLoss, 4)} → ${formatNumber(run.last.loss, 5)}.` : "";
    status.textContent = `${message}${summary}${drop ? "" : ""}`;
    stage.dataset.done = "true";
    run.controller.abort();
    setRunning(false);
    buttons.start.textContent = "Start again";
  }

  async function start() {
    if (run && !run.done) return;
    const s = store.state;
    const controller = new AbortController();
    run = { controller, queue: [], timer: null, losses: [], last: null, steps: s.steps, done: false, finished: false, firstLoss: undefined };
    const current = run;
    notice.clear();
    stage.dataset.done = "false";
    status.textContent = "Starting from a random kernel…";
    setRunning(true);
    drawLoss();
    const body = {
      sample: s.sample === NOISE ? null : s.sample,
      target: s.target,
      steps: s.steps,
      optimizer: s.opt,
      lr: s.lr > 0 ? s.lr : null,
      seed: s.seed,
      every: s.every,
      max_side: Number(s.size),
    };
    try {
      await api.learnStream(body, { signal: controller.signal, onEvent: (event) => current === run && enqueue(event) });
      current.finished = true;
      if (current === run && !current.done && current.queue.length === 0 && current.timer === null && current.last && !current.last.done) finish("The server closed the stream early.");
    } catch (error) {
      if (error?.name === "AbortError" || current !== run) return;
      notice.error(error.message);
      finish("The run failed.");
    }
  }

  function stop() {
    if (!run || run.done) return;
    const at = run.last?.step ?? 0;
    finish(`Stopped at step ${at}. The API cannot continue a stopped run from its kernel, so “Start again” restarts from the same random kernel (seed ${store.state.seed}); change the seed for another start.`);
  }

  buttons.start.addEventListener("click", start);
  buttons.stop.addEventListener("click", stop);
  setRunning(false);
  new ResizeObserver(debounce(drawLoss, 80)).observe(el("loss-box"));
  drawLoss();
}

// ---- settings --------------------------------------------------------------------------

function buildSettings(container, store) {
  const select = (id, label, options, key, testid) => {
    const control = h(
      "select",
      { id, dataset: { testid }, onChange: () => store.set({ [key]: control.value }) },
      options.map(([value, text]) => h("option", { value, selected: value === String(store.state[key]) }, text)),
    );
    return { control, root: h("div", { class: "field" }, h("label", { htmlFor: id }, label), control) };
  };
  const sample = select("learn-sample", "Image", [["scene", "Scene"], ["shapes", "Shapes"], ["checkerboard", "Checkerboard"], ["text", "Text"], ["gradient", "Gradient"], [NOISE, "Random noise (easiest)"]], "sample", "sample");
  const target = select("learn-target", "Target kernel", [[store.state.target, store.state.target]], "target", "target");
  const opt = select("learn-opt", "Optimizer", [["sgd", "Gradient descent + momentum"], ["adam", "Adam"]], "opt", "optimizer");
  const size = select("learn-size", "Image size (longest side)", [["32", "32 px"], ["64", "64 px"], ["128", "128 px"]], "size", "size");
  const pace = select("learn-pace", "Show progress", [["slow", "Slow motion (about 11 updates/s)"], ["fast", "As fast as the server computes"]], "pace", "pace");
  const steps = createNumberField({ label: "Steps", testid: "steps", value: store.state.steps, min: 1, max: 2000, onChange: (v) => store.set({ steps: v }) });
  const every = createNumberField({ label: "Update every … steps", testid: "every", value: store.state.every, min: 1, max: 100, onChange: (v) => store.set({ every: v }) });
  const seed = createNumberField({ label: "Seed (random start)", testid: "seed", value: store.state.seed, min: 0, max: 99999, onChange: (v) => store.set({ seed: v }) });

  const lrInput = h("input", { type: "text", id: "learn-lr", inputMode: "decimal", placeholder: "default", value: store.state.lr > 0 ? String(store.state.lr) : "", dataset: { testid: "lr" }, aria: { describedby: "learn-lr-msg" } });
  const lrMsg = h("span", { id: "learn-lr-msg", class: "field-msg" });
  const lrHint = () => (store.state.opt === "sgd" ? "Empty: 1 (sgd's step is scaled so 1 is the largest safe step)." : "Empty: Adam's default, 0.1.");
  lrMsg.textContent = lrHint();
  lrInput.addEventListener("change", () => {
    const text = lrInput.value.trim();
    const value = text === "" ? 0 : parseNumber(text);
    if (value === undefined || value < 0 || value > 100) {
      lrInput.setAttribute("aria-invalid", "true");
      lrMsg.textContent = `“${text}” is not a learning rate between 0 and 100; kept ${store.state.lr > 0 ? store.state.lr : "the default"}.`;
      lrMsg.classList.add("field-msg-error");
      lrInput.value = store.state.lr > 0 ? String(store.state.lr) : "";
      return;
    }
    lrInput.removeAttribute("aria-invalid");
    lrMsg.classList.remove("field-msg-error");
    store.set({ lr: value });
    lrMsg.textContent = lrHint();
  });
  opt.control.addEventListener("change", () => {
    if (!lrInput.hasAttribute("aria-invalid")) lrMsg.textContent = lrHint();
  });

  replaceChildren(
    container,
    h("fieldset", {}, h("legend", {}, "What to learn"), sample.root, target.root, size.root),
    h("fieldset", {}, h("legend", {}, "How"), opt.root, h("div", { class: "field" }, h("label", { htmlFor: "learn-lr" }, "Learning rate"), lrInput, lrMsg), h("div", { class: "field-row" }, steps.root, every.root), seed.root, pace.root),
  );

  api
    .listKernels()
    .then((kernels) => {
      const usable = kernels.filter((k) => k.values.length <= 15 && k.values[0].length <= 15);
      replaceChildren(target.control, usable.map((k) => h("option", { value: k.name, selected: k.name === store.state.target }, `${k.label} (${k.values.length}×${k.values[0].length})`)));
      if (!usable.some((k) => k.name === store.state.target)) store.set({ target: usable[0]?.name ?? "sobel_x" });
    })
    .catch(() => {
      /* keep the one option; a failed start will say why */
    });
}
