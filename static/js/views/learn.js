// /learn: watch gradient descent find a kernel. The server runs the loop and streams
// progress (POST /api/v1/learn, server-sent events); this view queues the events and
// shows them at a watchable pace: loss curve, kernel numbers, current output. Stop aborts
// the stream; Resume sends a new request starting from the last shown kernel and bias
// (initial_kernel, initial_bias, start_step), whose events extend the same loss curve.

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
import { createRangeLabel } from "./widgets/range-label.js";

const NOISE = "noise";
const PACES = { slow: 90, fast: 0 }; // ms between shown events
// The settings that define the loss (image, target): a resume must keep them. The others
// (optimizer, learning rate, steps, update interval, pace) may change between stop and resume.
const WHAT = ["sample", "target", "size", "seed"];

const SCHEMA = {
  sample: field.text("scene"),
  target: field.text("sobel_x"),
  opt: field.choice("sgd", ["sgd", "adam"]),
  lr: field.number(0), // 0: the optimizer's default
  steps: field.int(200, { min: 1 }), // the server's bound: GET /api/v1/limits (max_learn_steps)
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
  const resumeNote = el("resume-note");
  const buttons = { start: el("start"), stop: el("stop"), resume: el("resume") };
  // {controller, queue, timer, losses (one per step, index = step), last (shown event),
  //  steps (the total), done, finished, firstLoss, what (WHAT settings),
  //  resumedAt (the steps where a resume took over)}
  let run = null;

  buildSettings(el("learn-settings"), store);

  // Under every map and kernel: the data's own range and its colour scale (stated apart).
  const ranges = {};
  for (const name of ["kernel", "target", "input", "target-output", "output"]) {
    ranges[name] = createRangeLabel({ testid: `${name}-range` });
    el(`${name}-canvas`).after(ranges[name].root);
  }
  const showRange = (name, map, scaleNote = "") =>
    ranges[name].show({ min: map.min, max: map.max, vmin: map.vmin, vmax: map.vmax, colormap: map.colormap, scaleNote });
  const kernelRange = (values, scale, scaleNote) => {
    const flat = values.flat();
    return { min: Math.min(...flat), max: Math.max(...flat), vmin: -scale, vmax: scale, colormap: "diverging", scaleNote };
  };

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
    canvas.dataset.points = String(losses.length);
    el("resume-legend").hidden = !run?.resumedAt.length;
    drawPlot(ctx, {
      width,
      height,
      x: { min: 0, max: Math.max(1, run?.steps ?? store.state.steps), label: "step" },
      y: { min: lo, max: hi, log: true },
      series: [
        // a dashed line where each resume took over
        ...(run?.resumedAt ?? []).map((step) => ({
          points: [
            [step, lo],
            [step, hi],
          ],
          color: "#8a919e",
          width: 1,
          dash: [4, 4],
        })),
        { points: losses.map((v, i) => [i, v]), color: "#1d4ed8", width: 2 },
      ],
      zeroLines: false,
    });
  }

  function show(event) {
    // event.losses are the losses of the steps up to event.step: place them by step, so
    // a resumed run (whose first event repeats the stop's step) extends the same curve
    const from = event.step - event.losses.length + 1;
    run.losses.length = Math.min(run.losses.length, Math.max(0, from));
    while (run.losses.length < from) run.losses.push(NaN);
    event.losses.forEach((v, j) => {
      if (from + j >= 0) run.losses[from + j] = v ?? NaN;
    });
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
    if (event.input && run.resumedAt.length > 0) stage.dataset.resumeLoss = String(event.loss);
    const scale = maxAbs([...event.kernel.flat(), ...event.target_kernel.flat()]);
    drawKernel(el("kernel-canvas"), event.kernel, scale);
    drawKernel(el("target-canvas"), event.target_kernel, scale);
    ranges.kernel.show(kernelRange(event.kernel, scale, "shared by both kernels"));
    ranges.target.show(kernelRange(event.target_kernel, scale, "shared by both kernels"));
    el("bias-text").textContent = event.bias === null ? "no bias" : `bias ${formatNumber(event.bias, 4)} (target 0)`;
    if (event.input) {
      drawMap(el("input-canvas"), event.input);
      showRange("input", event.input);
      el("input-caption").textContent = `(x − ${formatNumber(event.input_mean, 3)}) / ${formatNumber(event.input_std, 3)}`;
    }
    if (event.target_output) {
      drawMap(el("target-output-canvas"), event.target_output);
      showRange("target-output", event.target_output);
    }
    drawMap(el("output-canvas"), event.output);
    showRange("output", event.output, "the target's, so it fades into the target");
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

  /** Why Resume cannot continue the last run now ("" if it can; null if there is no run to resume). */
  function resumeBlocker() {
    if (!run || !run.done || !run.last) return null;
    if (run.last.reason === "diverged") return null;
    const s = store.state;
    if (WHAT.some((key) => s[key] !== run.what[key]))
      return "The image, target kernel, image size or seed changed since the stop, so Resume is off: “Start again” uses the new settings.";
    if (s.steps <= run.last.step) return `Raise Steps above ${run.last.step} to resume this run.`;
    return "";
  }

  function updateResume() {
    const blocker = resumeBlocker();
    buttons.resume.disabled = blocker !== "";
    resumeNote.textContent = blocker ?? "";
    resumeNote.hidden = !blocker;
  }

  function setRunning(running) {
    buttons.start.disabled = running;
    buttons.stop.disabled = !running;
    updateResume();
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

  function requestBody(what, steps) {
    const s = store.state;
    return {
      sample: what.sample === NOISE ? null : what.sample,
      target: what.target,
      steps,
      optimizer: s.opt,
      lr: s.lr > 0 ? s.lr : null,
      seed: what.seed,
      every: s.every,
      max_side: Number(what.size),
    };
  }

  function start() {
    if (run && !run.done) return;
    const s = store.state;
    const what = Object.fromEntries(WHAT.map((key) => [key, s[key]]));
    run = {
      controller: null,
      queue: [],
      timer: null,
      losses: [],
      last: null,
      steps: s.steps,
      done: false,
      finished: false,
      firstLoss: undefined,
      what,
      resumedAt: [],
    };
    for (const key of ["step", "loss", "firstLoss", "resumedAt", "resumeLoss"]) delete stage.dataset[key];
    progress.max = s.steps;
    progress.value = 0;
    progress.setAttribute("aria-valuetext", `step 0 of ${s.steps}`);
    el("step-text").textContent = "Starting…";
    stream(requestBody(what, s.steps), `Learning, from a random kernel (seed ${what.seed})…`);
  }

  function resume() {
    if (resumeBlocker() !== "") return;
    const last = run.last;
    const steps = store.state.steps;
    Object.assign(run, { queue: [], timer: null, steps, done: false, finished: false });
    run.resumedAt.push(last.step);
    stage.dataset.resumedAt = String(last.step);
    const body = { ...requestBody(run.what, steps - last.step), initial_kernel: last.kernel, initial_bias: last.bias ?? 0, start_step: last.step };
    const fresh = store.state.opt === "adam" ? "Adam's moment estimates restart" : "the momentum restarts";
    stream(body, `Resumed at step ${last.step} from its kernel (${fresh} from zero)…`);
  }

  async function stream(body, message) {
    const controller = new AbortController();
    run.controller = controller;
    const current = run;
    // a resume reuses the run object, so a stream is current while its controller is
    const live = () => current === run && current.controller === controller;
    notice.clear();
    stage.dataset.done = "false";
    status.textContent = message;
    setRunning(true);
    drawLoss();
    try {
      await api.learnStream(body, { signal: controller.signal, onEvent: (event) => live() && enqueue(event) });
      if (!live()) return;
      current.finished = true;
      if (!current.done && current.queue.length === 0 && current.timer === null && current.last && !current.last.done)
        finish("The server closed the stream early.");
    } catch (error) {
      if (error?.name === "AbortError" || !live()) return;
      notice.error(error.message);
      finish("The run failed.");
    }
  }

  function stop() {
    if (!run || run.done) return;
    const at = run.last?.step ?? 0;
    finish(
      `Stopped at step ${at}. “Resume” continues from this kernel (a new learning rate or optimizer applies from here); “Start again” restarts from the same random kernel (seed ${store.state.seed}).`,
    );
  }

  buttons.start.addEventListener("click", start);
  buttons.stop.addEventListener("click", stop);
  buttons.resume.addEventListener("click", resume);
  store.subscribe(() => {
    if (!run || run.done) updateResume();
  });
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
  // The samples come from GET /api/v1/samples; until they arrive the select holds the current one.
  const sample = select("learn-sample", "Image", [[store.state.sample, store.state.sample]], "sample", "sample");
  const target = select("learn-target", "Target kernel", [[store.state.target, store.state.target]], "target", "target");
  const opt = select(
    "learn-opt",
    "Optimizer",
    [
      ["sgd", "Gradient descent + momentum"],
      ["adam", "Adam"],
    ],
    "opt",
    "optimizer",
  );
  const size = select(
    "learn-size",
    "Image size (longest side)",
    [
      ["32", "32 px"],
      ["64", "64 px"],
      ["128", "128 px"],
    ],
    "size",
    "size",
  );
  const pace = select(
    "learn-pace",
    "Show progress",
    [
      ["slow", "Slow motion (about 11 updates/s)"],
      ["fast", "As fast as the server computes"],
    ],
    "pace",
    "pace",
  );
  const steps = createNumberField({ label: "Steps", testid: "steps", value: store.state.steps, min: 1, onChange: (v) => store.set({ steps: v }) });
  const every = createNumberField({
    label: "Update every … steps",
    testid: "every",
    value: store.state.every,
    min: 1,
    max: 100,
    onChange: (v) => store.set({ every: v }),
  });
  const seed = createNumberField({
    label: "Seed (random start)",
    testid: "seed",
    value: store.state.seed,
    min: 0,
    max: 99999,
    onChange: (v) => store.set({ seed: v }),
  });

  const lrInput = h("input", {
    type: "text",
    id: "learn-lr",
    inputMode: "decimal",
    placeholder: "default",
    value: store.state.lr > 0 ? String(store.state.lr) : "",
    dataset: { testid: "lr" },
    aria: { describedby: "learn-lr-msg" },
  });
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
    h(
      "fieldset",
      {},
      h("legend", {}, "How"),
      opt.root,
      h("div", { class: "field" }, h("label", { htmlFor: "learn-lr" }, "Learning rate"), lrInput, lrMsg),
      h("div", { class: "field-row" }, steps.root, every.root),
      seed.root,
      pace.root,
    ),
  );

  const loadMsg = h("p", { class: "field-msg field-msg-error", role: "alert", dataset: { testid: "settings-error" }, hidden: true });
  container.prepend(loadMsg);
  Promise.all([api.listSamples(), api.listKernels(), api.getLimits()])
    .then(([samples, kernels, limits]) => {
      const options = [...samples.map((k) => [k.name, k.label]), [NOISE, "Random noise (easiest)"]];
      replaceChildren(
        sample.control,
        options.map(([value, text]) => h("option", { value, selected: value === store.state.sample }, text)),
      );
      if (!options.some(([value]) => value === store.state.sample)) store.set({ sample: options[0][0] });
      const side = limits.max_learn_kernel_side?.value ?? Infinity;
      const usable = kernels.filter((k) => k.values.length <= side && k.values[0].length <= side);
      replaceChildren(
        target.control,
        usable.map((k) => h("option", { value: k.name, selected: k.name === store.state.target }, `${k.label} (${k.values.length}×${k.values[0].length})`)),
      );
      if (!usable.some((k) => k.name === store.state.target)) store.set({ target: usable[0]?.name ?? store.state.target });
      const most = limits.max_learn_steps?.value;
      if (most) steps.setBounds({ min: 1, max: most, maxReason: `The server runs at most ${most} steps (${limits.max_learn_steps.env}).` });
      const image = limits.max_learn_image_side?.value ?? Infinity;
      for (const option of size.control.options) option.disabled = Number(option.value) > image;
    })
    .catch((error) => {
      loadMsg.textContent = `Could not load the samples, kernels and limits: ${error.message}`;
      loadMsg.hidden = false;
    });
}
