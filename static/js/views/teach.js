// /teach: make up classes, add examples (drawing, upload, webcam), train the digits
// architecture on them live, try the result, export or import weights. Controller only:
// state, storage and requests; painters in ./teach/paint.js and ./classify/paint.js.

import { getLimits, modelInfo } from "../api.js";
import { byTestId, debounce, h } from "../dom.js";
import { createBusy } from "./widgets/busy.js";
import { field, createStore } from "../state.js";
import { createNotice } from "./widgets/notice.js";
import { createNumberField } from "./widgets/number-field.js";
import { createDrawPad } from "./classify/drawpad.js";
import { paintBars, paintOverview, paintTrace } from "./classify/paint.js";
import { base64Blob, predictImage, predictInput, toBase64, trainStream } from "./teach/api.js";
import { createRunPanel, paintClasses, paintConfusion, paintFilters, paintRun, percent } from "./teach/paint.js";

const STORAGE_KEY = "convscope.teach.v1";
const DEFAULT_CLASSES = () => [
  { name: "class A", examples: [] },
  { name: "class B", examples: [] },
];

function loadClasses() {
  try {
    const saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY));
    if (Array.isArray(saved?.classes) && saved.classes.length) return saved.classes;
  } catch {
    /* unreadable storage: start afresh */
  }
  return DEFAULT_CLASSES();
}

/** The four conv widths in the URL as "8,8,16,16"; the server's limit is checked by the fields. */
const widthsField = {
  default: [8, 8, 16, 16],
  parse(text) {
    if (!/^\d+(,\d+){3}$/.test(text)) return undefined;
    const widths = text.split(",").map(Number);
    return widths.every((w) => w >= 1) ? widths : undefined;
  },
  format: (widths) => widths.join(","),
};

const round = (input) => input.map((row) => row.map((v) => Math.round(v * 1000) / 1000));

export function mount(root) {
  const $ = (id) => byTestId(root, id);
  const notice = createNotice($("notice"));
  const store = createStore({
    epochs: field.int(10, { min: 1, max: 1000 }),
    batch: field.int(8, { min: 1, max: 1024 }),
    optimizer: field.choice("adam", ["adam", "sgd"]),
    lr: field.number(0),
    seed: field.int(0, { min: 0, max: 2 ** 32 - 1 }),
    init: field.choice("random", ["random", "digits"]),
    compare: field.bool(false),
    widths: widthsField,
    every: field.int(1, { min: 1 }),
    prep: field.text("digit", { pattern: /^[a-z]{1,16}$/ }),
  });
  let classes = loadClasses();
  let model = null; // {weights, classes, pytorch}
  let controller = null;
  let stream = null; // the webcam MediaStream
  let shipped = null; // the digits model's description: its conv widths and preprocess ways

  const fail = (error, where = $("notice")) => {
    if (error?.name === "AbortError") return;
    notice.error(error.message);
    where.scrollIntoView({ block: "nearest" });
  };

  // ---- classes and examples --------------------------------------------------------------
  function save() {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify({ classes }));
    } catch (error) {
      notice.error(`Could not save the examples in this browser (${error.message}).`);
    }
  }

  function render() {
    paintClasses($("classes"), classes, {
      onRename: (k, name) => {
        classes[k].name = name.trim() || classes[k].name;
        save();
        render();
      },
      onRemoveClass: (k) => {
        classes.splice(k, 1);
        save();
        render();
      },
      onRemoveExample: (k, i) => {
        classes[k].examples.splice(i, 1);
        save();
        render();
      },
      onAdd: (k, kind, files) => addExamples(k, kind, files),
    });
    const total = classes.reduce((n, c) => n + c.examples.length, 0);
    $("example-count").textContent = `${classes.length} classes, ${total} examples (each class needs at least 5; 2 to 10 classes).`;
    $("add-class").disabled = classes.length >= 10;
    root.dataset.examples = String(total);
  }

  const examplePad = createDrawPad($("example-canvas"), { onChange: () => {} });
  $("example-clear").addEventListener("click", () => examplePad.clear());

  async function addExamples(k, kind, files = []) {
    let images;
    if (kind === "drawing") {
      if (examplePad.isEmpty()) return notice.error("Draw an example first (the drawing area is empty).");
      images = [await examplePad.blob()];
    } else if (kind === "webcam") {
      if (!stream) return notice.error("Start the webcam first.");
      images = [await webcamFrame()];
    } else {
      images = files;
    }
    root.dataset.adding = "1";
    try {
      for (const image of images) {
        const body = await predictImage(image, { preprocess: store.state.prep });
        classes[k]?.examples.push(round(body.input));
      }
      notice.clear();
      if (kind === "drawing") examplePad.clear();
    } catch (error) {
      fail(error);
    }
    save();
    render();
    root.dataset.adding = "0";
  }

  $("add-class").addEventListener("click", () => {
    const used = new Set(classes.map((c) => c.name));
    let n = classes.length + 1;
    while (used.has(`class ${String.fromCharCode(64 + n)}`)) n += 1;
    classes.push({ name: `class ${String.fromCharCode(64 + n)}`, examples: [] });
    save();
    render();
  });
  $("clear-examples").addEventListener("click", () => {
    classes = DEFAULT_CLASSES();
    window.localStorage.removeItem(STORAGE_KEY);
    render();
  });

  // ---- webcam ----------------------------------------------------------------------------
  async function startWebcam() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
      $("webcam").srcObject = stream;
      await $("webcam").play();
      $("webcam-start").disabled = true;
      $("webcam-stop").disabled = false;
      root.dataset.webcam = "on";
    } catch (error) {
      notice.error(`The webcam is not available (${error.message}).`);
    }
  }
  function stopWebcam() {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    live = false;
    $("try-webcam").textContent = "Classify the webcam live";
    root.dataset.live = "off";
    $("webcam-start").disabled = false;
    $("webcam-stop").disabled = true;
    root.dataset.webcam = "off";
  }
  /** The video's centre square as a PNG Blob. */
  function webcamFrame() {
    const video = $("webcam");
    const side = Math.min(video.videoWidth, video.videoHeight) || 240;
    const canvas = h("canvas", { width: 280, height: 280 });
    canvas.getContext("2d").drawImage(video, (video.videoWidth - side) / 2, (video.videoHeight - side) / 2, side, side, 0, 0, 280, 280);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }
  $("webcam-start").addEventListener("click", startWebcam);
  $("webcam-stop").addEventListener("click", stopWebcam);

  // ---- settings (in the URL) -------------------------------------------------------------
  const inputs = { epochs: "epochs", batch: "batch-size", optimizer: "optimizer", lr: "learning-rate", seed: "seed" };
  for (const [key, id] of Object.entries(inputs)) {
    $(id).value = store.state[key] === 0 && key === "lr" ? "" : String(store.state[key]);
    $(id).addEventListener("change", () => {
      const raw = $(id).value.trim();
      const value = key === "optimizer" ? raw : raw === "" ? 0 : Number(raw);
      store.set({ [key]: value });
    });
  }
  $("learning-rate").placeholder = "default";
  $("init-digits").checked = store.state.init === "digits";
  $("compare").checked = store.state.compare;
  $("init-digits").addEventListener("change", () => store.set({ init: $("init-digits").checked ? "digits" : "random" }));

  const widthFields = store.state.widths.map((value, k) =>
    createNumberField({
      label: `conv${k + 1}`,
      testid: `width-${k}`,
      value,
      min: 1,
      onChange: (next) => store.set({ widths: store.state.widths.map((w, i) => (i === k ? next : w)) }),
    }),
  );
  $("widths").append(...widthFields.map((f) => f.root));
  const everyField = createNumberField({
    label: "Progress every (steps)",
    testid: "every",
    value: store.state.every,
    min: 1,
    onChange: (next) => store.set({ every: next }),
  });
  $("every-field").append(everyField.root);
  $("prep").addEventListener("change", () => store.set({ prep: $("prep").value }));

  /** The server's bounds and choices: GET /api/v1/limits and GET /api/v1/models/digits. */
  async function loadServerSettings() {
    const [limits, info] = await Promise.all([getLimits(), modelInfo("digits")]);
    shipped = info;
    const most = limits.max_train_width;
    const epochs = limits.max_train_epochs;
    $("epochs").max = String(epochs.value);
    $("epochs").title = `1 to ${epochs.value} (${epochs.env} on the server)`;
    for (const [k, f] of widthFields.entries()) {
      f.setBounds({ min: 1, max: most.value, maxReason: `The server trains at most ${most.value} channels (${most.env}).` });
      if (store.state.widths[k] > most.value) f.showError(`At most ${most.value} (${most.env}); the server will refuse ${store.state.widths[k]}.`);
    }
    $("widths-hint").textContent =
      `out_channels of the four convolutions, 1 to ${most.value}; the digits model has ${shippedWidths().join(", ")} (transfer learning keeps those).`;
    const ways = Object.entries(info.preprocess);
    $("prep").replaceChildren(...ways.map(([name]) => h("option", { value: name }, name)));
    if (!info.preprocess[store.state.prep]) store.set({ prep: info.preprocess_default });
    $("prep").value = store.state.prep;
    const describe = () => {
      $("prep-hint").textContent = info.preprocess[store.state.prep];
    };
    describe();
    $("prep").addEventListener("change", describe);
  }
  const shippedWidths = () => shipped.layers.filter((layer) => layer.type === "conv2d").map((layer) => layer.output[0]);
  $("compare").addEventListener("change", () => store.set({ compare: $("compare").checked }));

  // ---- training --------------------------------------------------------------------------
  function request(init) {
    const st = store.state;
    return {
      dataset: {
        classes: classes.map((c) => c.name),
        examples: classes.flatMap((c) => c.examples.map((input) => ({ label: c.name, input }))),
      },
      epochs: st.epochs,
      batch_size: st.batch,
      optimizer: st.optimizer,
      learning_rate: st.lr > 0 ? st.lr : null,
      seed: st.seed,
      init,
      widths: init === "digits" ? shippedWidths() : st.widths,
      every: st.every,
    };
  }

  async function runOne(init, index, signal) {
    const widths = request(init).widths.join(", ");
    const title = init === "digits" ? `From the digits model (last layer retrained; widths ${widths})` : `From scratch (random weights; widths ${widths})`;
    const panel = createRunPanel(title, index);
    $("runs").append(panel.node);
    const run = { steps: 1, losses: [], accuracies: [], tests: [] };
    let done = null;
    await trainStream(request(init), {
      signal,
      onEvent: (event) => {
        if (event.type === "start") {
          run.steps = event.steps;
          panel.progress.max = event.steps;
          panel.status.textContent = `${event.train_size} training examples, ${event.test_size} held back; ${event.steps} steps.`;
        } else if (event.type === "progress") {
          for (const loss of event.losses) run.losses.push(loss);
          run.accuracies.push([event.step, event.train_accuracy]);
          panel.progress.value = event.step;
          panel.progress.dataset.step = String(event.step);
          panel.progress.dataset.events = String(run.accuracies.length);
          panel.status.textContent = `Epoch ${event.epoch}, step ${event.step} of ${run.steps}: loss ${event.loss.toFixed(4)}, batch accuracy ${percent(event.train_accuracy)}.`;
        } else if (event.type === "epoch") {
          run.tests.push([event.step, event.test_accuracy]);
        } else if (event.type === "done") {
          run.tests.push([event.step, event.test_accuracy]);
          done = event;
        }
        if (event.filters) {
          paintFilters(panel.filters, event.filters);
          panel.scale.textContent = `Scale [−${event.filters.vmax.toFixed(3)}, ${event.filters.vmax.toFixed(3)}] (the largest |weight|).`;
        }
        paintRun(panel, run);
      },
    });
    if (!done) return null;
    const why = done.reason === "time_limit" ? " Stopped by the server's time limit." : "";
    panel.status.textContent = `Done after ${done.step} steps (${done.elapsed.toFixed(1)} s).${why}`;
    panel.result.replaceChildren(
      h(
        "p",
        { class: "final" },
        "Accuracy on the ",
        String(done.test_size),
        " held-back examples: ",
        h("strong", { dataset: { testid: `run-${index}-test-accuracy` } }, percent(done.test_accuracy)),
      ),
      h("div", { class: "table-wrap", dataset: { testid: `run-${index}-confusion` } }),
    );
    paintConfusion(panel.result.lastChild, done.classes, done.confusion);
    panel.node.dataset.state = "done";
    return done;
  }

  async function train() {
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    $("runs").replaceChildren();
    $("train").disabled = true;
    $("stop").disabled = false;
    root.dataset.training = "1";
    notice.clear();
    const first = store.state.init;
    const inits = store.state.compare ? [first, first === "digits" ? "random" : "digits"] : [first];
    try {
      for (const [i, init] of inits.entries()) {
        const done = await runOne(init, i, signal);
        if (done && i === 0)
          setModel(
            { weights: done.weights, classes: done.classes, pytorch: done.pytorch },
            `Trained ${init === "digits" ? "from the digits model" : "from scratch"}: ${percent(done.test_accuracy)} on the held-back examples.`,
          );
      }
    } catch (error) {
      fail(error, $("runs"));
    }
    $("train").disabled = false;
    $("stop").disabled = true;
    root.dataset.training = "0";
  }
  $("train").addEventListener("click", train);
  $("stop").addEventListener("click", () => controller?.abort());

  // ---- try it ----------------------------------------------------------------------------
  function setModel(next, text) {
    model = next;
    $("model-text").textContent = `${text} Classes: ${next.classes ? next.classes.join(", ") : "(numbered)"}.`;
    $("export-npz").disabled = false;
    $("export-py").disabled = !next.pytorch;
    root.dataset.model = "ready";
    if (!tryPad.isEmpty()) {
      tryBusy.schedule(true);
      sendTry();
    }
  }

  let result = null;
  let tryToken = 0;
  // data-try-busy: "1" while a drawing to try waits for its debounce or is being classified.
  const tryBusy = createBusy(root, "tryBusy");
  async function classify(image) {
    const mine = ++tryToken;
    $("try-panel").classList.add("stale");
    tryBusy.start();
    try {
      const body = await predictImage(image, { model, trace: { layer: "softmax", unit: [0] }, preprocess: store.state.prep });
      if (mine !== tryToken) return;
      result = body;
      $("try-panel").classList.remove("stale");
      $("try-input").src = body.layers[0].atlas.data_url;
      $("prediction").textContent = body.label;
      const names = model.classes ?? body.trace.probabilities.map((_, i) => String(i));
      paintBars($("prob-bars"), names, body.probabilities, body.prediction);
      paintOverview($("overview"), body.layers, { onUnit });
      root.dataset.tried = String(mine);
    } catch (error) {
      $("try-panel").classList.remove("stale");
      fail(error, $("try-panel"));
    } finally {
      tryBusy.end();
    }
  }
  async function onUnit(index, unit, kind) {
    if (kind !== "click" || !result) return;
    try {
      const layer = result.layers[index].name;
      const body = await predictInput(result.input, { model, trace: { layer, unit } });
      paintTrace($("trace"), body.trace);
      $("trace").dataset.unit = `${layer}:${unit.join(",")}`;
    } catch (error) {
      fail(error, $("trace"));
    }
  }
  const tryPad = createDrawPad($("try-canvas"), {
    onChange: (n) => {
      if (!n || !model) return;
      tryBusy.schedule(true);
      sendTry();
    },
  });
  const sendTry = debounce(async () => {
    tryBusy.schedule(false);
    if (!model || tryPad.isEmpty()) return;
    tryBusy.start(); // the PNG encoding counts as busy
    const image = await tryPad.blob();
    tryBusy.end();
    classify(image);
  }, 200);
  $("try-clear").addEventListener("click", () => tryPad.clear());

  let live = false;
  $("try-webcam").addEventListener("click", async () => {
    if (!model) return notice.error("Train (or import weights) first.");
    if (!stream) await startWebcam();
    live = !live;
    $("try-webcam").textContent = live ? "Stop the live webcam" : "Classify the webcam live";
    root.dataset.live = live ? "on" : "off";
    while (live && stream) await classify(await webcamFrame()); // one request at a time
  });

  // ---- export and import -----------------------------------------------------------------
  function download(blob, name) {
    const a = h("a", { href: URL.createObjectURL(blob), download: name });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
  $("export-npz").addEventListener("click", () => download(base64Blob(model.weights), "teach.npz"));
  $("export-py").addEventListener("click", () => download(new Blob([model.pytorch], { type: "text/x-python" }), "teach_model.py"));
  $("import").addEventListener("change", async (event) => {
    const file = event.target.files?.[0];
    if (!file) return;
    const weights = toBase64(await file.arrayBuffer());
    const names = classes.map((c) => c.name);
    try {
      // The .npz holds no class names: this page's names when their number fits the
      // outputs, which one probe (a white square on black) tells.
      const square = Array.from({ length: 28 }, (_, r) => Array.from({ length: 28 }, (_, c) => (r >= 10 && r < 18 && c >= 10 && c < 18 ? 1 : 0)));
      const probed = await predictInput(square, { model: { weights, classes: null } });
      const candidate = { weights, classes: probed.probabilities.length === names.length ? names : null };
      setModel({ ...candidate, pytorch: null }, `Imported ${file.name}.`);
    } catch (error) {
      fail(error);
    }
  });

  render();
  loadServerSettings()
    .then(() => {
      root.dataset.ready = "1";
    })
    .catch((error) => notice.error(`Could not load the server's limits and the digits model: ${error.message}`));
  return { store };
}
