// /classify: draw, pick or upload a digit; see every layer, the probabilities, and any
// unit's exact computation. Controller only: requests and state; painters in ./classify/.

import { modelInfo, modelPredict, modelSample, modelSamples } from "../api.js";
import { byTestId, debounce, h } from "../dom.js";
import { field, createStore } from "../state.js";
import { createBusy } from "./widgets/busy.js";
import { createNotice } from "./widgets/notice.js";
import { createPlayerControls } from "./widgets/player-controls.js";
import { Player } from "../player.js";
import { createDrawPad } from "./classify/drawpad.js";
import { predictImage } from "./teach/api.js";
import { mapZoom, outline, paintBars, paintPlayFrame, paintConfusion, paintGallery, paintOverview, paintSoftmax, paintTrace } from "./classify/paint.js";

const MODEL = "digits";
const SOFTMAX = { layer: "softmax", unit: [0] };

export function mount(root) {
  const $ = (id) => byTestId(root, id);
  const notice = createNotice($("notice"));
  const store = createStore({
    sample: field.int(-1, { min: -1, max: 1999 }),
    prep: field.text("digit", { pattern: /^[a-z]{1,16}$/ }),
  });
  let info = null;
  let result = null; // the last predict response
  let token = 0;
  let controller = null;
  let played = null; // the conv trace the player steps through
  let lastImage = null; // the last drawing or upload, {image, source}, re-sent when the way changes

  const player = new Player({ count: 0, speed: 1 });
  $("trace-controls").append(createPlayerControls(player, { label: "Channels" }).root);
  player.subscribe(({ index }) => {
    if (!played) return;
    paintPlayFrame($("trace"), $("play-text"), played.trace, index);
    clearMarks("ov-play");
    const { trace: tr, before } = played;
    if (index < tr.channels.length) {
      const box = root.querySelector(`.ov-map[data-layer="${before.name}"][data-channel="${index}"]`);
      const rows = [tr.origin[0], tr.origin[0] + 2];
      const cols = [tr.origin[1], tr.origin[1] + 2];
      if (box) outline(box, rows, cols, before.shape[1], "ov-play");
    }
  });

  function showPlayer(tr) {
    const conv = tr.type === "conv2d";
    $("trace-player").hidden = !conv;
    player.pause();
    clearMarks("ov-play");
    if (!conv) {
      played = null;
      return;
    }
    const before = result.layers.find((layer) => layer.name === tr.input_layer);
    played = { trace: tr, before };
    player.setCount(tr.channels.length + 1, { index: 0 });
  }

  function stale(on) {
    for (const id of ["overview", "prob-bars", "softmax-table", "trace", "preprocessed"]) $(id).classList.toggle("stale", on);
  }

  // data-busy: "1" while a drawing waits for its debounce or a prediction is in flight.
  const busy = createBusy(root);

  async function predict(request, source) {
    const mine = ++token;
    controller?.abort();
    controller = new AbortController();
    stale(true);
    busy.start();
    try {
      const { signal } = controller;
      const body = request.image
        ? await predictImage(request.image, { trace: SOFTMAX, preprocess: store.state.prep, signal })
        : await modelPredict(MODEL, { ...request, trace: SOFTMAX, signal });
      if (mine !== token) return;
      notice.clear();
      show(body, source);
    } catch (error) {
      if (error?.name === "AbortError" || mine !== token) return;
      notice.error(error.message);
      $("notice").scrollIntoView({ block: "nearest" });
    } finally {
      busy.end();
    }
  }

  function show(body, source) {
    result = body;
    stale(false);
    $("preprocessed").src = body.layers[0].atlas.data_url;
    $("source-text").textContent = source;
    $("prediction").textContent = body.label;
    $("confidence").textContent = `(${(body.probabilities[body.prediction] * 100).toFixed(1)} %)`;
    root.dataset.state = "ready";
    paintBars($("prob-bars"), info.classes, body.probabilities, body.prediction);
    paintSoftmax($("softmax-table"), info.classes, body.trace);
    paintOverview($("overview"), body.layers, { onUnit });
    delete $("trace").dataset.unit;
    played = null;
    player.pause();
    $("trace-player").hidden = true;
    clearMarks("ov-play");
    $("trace").replaceChildren(h("p", { class: "hint" }, "Click a unit in the overview to see its computation."));
  }

  // ---- hover and click on units --------------------------------------------------------
  function clearMarks(cls) {
    for (const node of root.querySelectorAll(`.${cls}`)) node.remove();
    for (const node of root.querySelectorAll(".ov-values button.lit")) node.classList.remove("lit");
  }

  function onUnit(index, unit, kind) {
    if (!result) return;
    const layer = result.layers[index];
    if (kind === "leave") return clearMarks("ov-light");
    if (kind === "click") return traceUnit(layer, unit);
    clearMarks("ov-light");
    const before = result.layers[index - 1];
    if (!before.atlas || !layer.inputs.rows) {
      if (before.values) for (const b of root.querySelectorAll(`[data-testid^="unit-${before.name}-"]`)) b.classList.add("lit");
      return;
    }
    const [c, r, col] = unit;
    const channels = layer.inputs.channels === "all" ? before.maps.map((_, i) => i) : [c];

    for (const ch of channels) {
      const box = root.querySelector(`.ov-map[data-layer="${before.name}"][data-channel="${ch}"]`);
      outline(box, layer.inputs.rows[r], layer.inputs.cols[col], before.shape[1], "ov-light");
    }
  }

  async function traceUnit(layer, unit) {
    clearMarks("ov-pick");
    if (unit.length === 3) {
      const box = root.querySelector(`.ov-map[data-layer="${layer.name}"][data-channel="${unit[0]}"]`);
      outline(box, [unit[1]], [unit[2]], layer.shape[1], "ov-pick");
    }
    $("trace").classList.add("stale");
    try {
      const body = await modelPredict(MODEL, { input: result.input, trace: { layer: layer.name, unit } });
      $("trace").classList.remove("stale");
      $("trace").dataset.unit = `${layer.name}:${unit.join(",")}`;
      paintTrace($("trace"), body.trace);
      showPlayer(body.trace);
      $("trace-panel").scrollIntoView({ block: "nearest", behavior: "smooth" });
    } catch (error) {
      $("trace").classList.remove("stale");
      notice.error(error.message);
    }
  }

  // ---- inputs ----------------------------------------------------------------------------
  const pad = createDrawPad($("draw-canvas"), {
    onChange: (strokes) => {
      store.set({ sample: -1 });
      busy.schedule(strokes > 0);
      if (strokes) sendDrawing();
      else sendDrawing.cancel();
    },
  });
  const sendDrawing = debounce(async () => {
    busy.schedule(false);
    if (pad.isEmpty()) return;
    busy.start(); // the PNG encoding counts as in flight
    const image = await pad.blob();
    busy.end();
    sendImage(image, "Your drawing");
  }, 200);
  $("undo").addEventListener("click", () => pad.undo());
  $("clear").addEventListener("click", () => pad.clear());
  $("upload").addEventListener("change", (event) => {
    const file = event.target.files?.[0];
    if (!file) return;
    store.set({ sample: -1 });
    sendImage(file, file.name);
  });

  /** A drawing or upload, preprocessed the way the switch says (the server's description). */
  function sendImage(image, name) {
    lastImage = { image, name };
    const way = info?.preprocess?.[store.state.prep] ?? "";
    predict({ image }, `${name}, preprocessed "${store.state.prep}": ${way}`);
  }
  $("prep").addEventListener("change", () => {
    store.set({ prep: $("prep").value });
    $("prep-hint").textContent = info?.preprocess?.[store.state.prep] ?? "";
    if (lastImage && store.state.sample < 0) sendImage(lastImage.image, lastImage.name);
  });

  async function pickSample(index) {
    lastImage = null;
    store.set({ sample: index });
    try {
      const s = await modelSample(MODEL, index);
      predict({ input: s.input }, `Held-out digit #${index}: a ${s.label} the network never trained on.`);
    } catch (error) {
      notice.error(error.message);
    }
  }

  let galleryToken = 0;
  async function showGallery(query, title) {
    const mine = ++galleryToken; // the last gallery asked for is the one shown
    $("gallery-title").textContent = title;
    $("gallery").classList.add("stale");
    try {
      const page = await modelSamples(MODEL, { ...query, limit: 60 });
      if (mine !== galleryToken) return;
      paintGallery($("gallery"), page.samples, { onPick: pickSample });
      $("gallery").classList.remove("stale");
      $("gallery").dataset.filter = new URLSearchParams(query).toString();
      if (page.total > page.samples.length) $("gallery-title").textContent += ` (first ${page.samples.length} of ${page.total})`;
    } catch (error) {
      if (mine === galleryToken) notice.error(error.message);
    }
  }

  async function start() {
    try {
      info = await modelInfo(MODEL);
    } catch (error) {
      notice.error(error.message);
      return;
    }
    $("prep").replaceChildren(...Object.keys(info.preprocess).map((name) => h("option", { value: name }, name)));
    if (!info.preprocess[store.state.prep]) store.set({ prep: info.preprocess_default });
    $("prep").value = store.state.prep;
    $("prep-hint").textContent = info.preprocess[store.state.prep];
    const wrong = Math.round(info.test_size * (1 - info.test_accuracy));
    $("accuracy-text").textContent =
      `Accuracy on the ${info.test_size} held-out digits (the last 200 of each class, never trained on): ${(info.test_accuracy * 100).toFixed(2)} % (${wrong} wrong).`;
    paintConfusion($("confusion"), info.classes, info.confusion, {
      onCell: (t, p) => showGallery({ label: t, prediction: p }, `True ${info.classes[t]}, predicted ${info.classes[p]}`),
    });
    showGallery({ misclassified: true }, "Misclassified digits (true→predicted)");
    root.dataset.model = "ready";
    if (store.state.sample >= 0) pickSample(store.state.sample);
  }

  start();
  return { pad, mapZoom };
}
