// /: filter an image with a kernel. The server computes everything (POST
// /api/v1/images/conv2d): maps, sizes, the size formula, each map's data range and colour
// scale. This controller keeps the state and the requests; ./playground/draw.js paints the
// answers and ./playground/controls.js is the settings form.

import * as api from "../api.js";
import { byTestId, debounce, h, latestSignal, replaceChildren, soonByInput } from "../dom.js";
import { colorRule, loadColormaps } from "../render/colors.js";
import { formatShape } from "../render/format.js";
import { loadImage } from "../render/image.js";
import { createStore } from "../state.js";
import { createNotice } from "./widgets/notice.js";
import { flipMatrix } from "./widgets/matrix-editor.js";
import { createRangeLabel } from "./widgets/range-label.js";
import { buildCamera } from "./playground/camera.js";
import { buildControls } from "./playground/controls.js";
import { drawBar, drawKernel, drawMap, drawReceptiveField, mapCards, traceView } from "./playground/draw.js";
import { SCHEMA, UPLOAD, VIEW_KEYS, convParams, displayScale, kernelNames, mapChannels } from "./playground/state.js";
import { canvasPoint, errorFields, layerChoices, showFormula } from "./shared.js";

export { kernelNames, mapChannels };

export function mount(root) {
  const store = createStore(SCHEMA);
  const el = (id) => byTestId(root, id);
  const notice = createNotice(el("notice"));
  const stage = el("play-stage");
  const canvases = { input: el("input-canvas"), output: el("output-canvas"), kernel: el("kernel-canvas"), bar: el("colorbar") };
  const overlays = { input: el("input-overlay"), output: el("output-overlay") };
  const ranges = { input: createRangeLabel({ testid: "input-range" }), output: createRangeLabel({ testid: "output-range" }) };
  canvases.input.closest("figure").append(ranges.input.root);
  canvases.bar.after(ranges.output.root);
  const uploadMsg = el("upload-msg");
  const tracePanel = el("trace-panel");
  const traceHint = tracePanel.firstElementChild;
  let kernels = []; // presets from the API
  let upload = null; // the uploaded Blob, when src is "upload"
  let lastSample = SCHEMA.src.default; // where a failed upload goes back to
  let result = null; // the last images/conv2d response
  let inputImage = null; // its input map, decoded
  let mapImages = []; // its output maps, decoded
  let lastTrace = null; // {px, py, steps} of the last trace, all channels
  let requestId = 0;
  let traceId = 0;
  let restoring = false; // putting back the sample after a failed upload: nothing to send
  let edited = []; // the settings changed last: a server error is shown next to them

  if (store.state.src === UPLOAD) {
    store.set({ src: SCHEMA.src.default });
    notice.info("Links cannot carry an uploaded image, so a sample is shown: upload it again to continue.");
  }

  // ---- what to send ------------------------------------------------------------------
  /** The kernel of output map `map`: one 2-D filter per map, in the order of the names. */
  function kernelValues(map = selectedMap()) {
    const s = store.state;
    if (s.kernel === "custom") return s.k;
    const names = kernelNames(s);
    const name = names[Math.min(map, names.length - 1)];
    return kernels.find((k) => k.name === name)?.values ?? s.k;
  }

  /** The kernel the server multiplies with for map `map`: flipped 180° for a true convolution. */
  function sentValues(map = selectedMap()) {
    const values = kernelValues(map);
    return store.state.flip ? flipMatrix(values) : values;
  }

  const presetValues = (name) => kernels.find((k) => k.name === name)?.values;
  /** Presets are flipped here for a true convolution, so their numbers must be in first. */
  const canSend = () => !store.state.flip || store.state.kernel === "custom" || kernelNames(store.state).every(presetValues);

  function selectedMap() {
    const count = result?.output.length ?? 1;
    return Math.min(store.state.map, count - 1);
  }

  function source() {
    return store.state.src === UPLOAD && upload ? upload : store.state.src;
  }

  const call = (extra, format = "json", signal = undefined) =>
    api.imageConv2d(source(), {
      params: convParams(store.state, extra, presetValues),
      color: store.state.color,
      maxSide: Number(store.state.size),
      format,
      signal,
    });
  const computeSignal = latestSignal(); // a new setting aborts the request it makes stale
  const traceSignal = latestSignal();

  // ---- errors --------------------------------------------------------------------------
  /**
   * A failed request: say why in the stage and beside what it concerns (`near`, else the
   * settings changed last, else the fields the error names), and dim the result it replaces.
   */
  function fail(message, { near = null, error = null, keys = edited } = {}) {
    notice.error(message);
    const beside = controls.showError(keys.length ? keys : [...errorFields(error)], message);
    if (result) stage.classList.add("stale");
    el("notice").scrollIntoView({ block: "nearest" });
    (near ?? beside)?.scrollIntoView({ block: "nearest" });
  }

  /** The server refused the uploaded file: forget it, go back to the last sample. */
  function forgetUpload(message) {
    upload = null;
    el("upload-input").value = "";
    el("upload-name").textContent = "";
    uploadMsg.textContent = message;
    uploadMsg.hidden = false;
    notice.error(message);
    uploadMsg.scrollIntoView({ block: "nearest" });
    // The picture shown is the last sample's, which is what the settings say again now.
    restoring = true;
    store.set({ src: lastSample });
    restoring = false;
  }

  // ---- compute and draw ------------------------------------------------------------------
  async function compute() {
    if (!canSend()) return; // the presets' numbers are on their way (start)
    const id = ++requestId;
    const sent = store.state.src;
    stage.setAttribute("aria-busy", "true");
    try {
      const response = await call({}, "json", computeSignal());
      if (id !== requestId) return;
      const [input, ...outputs] = await Promise.all([response.input, ...response.output].map((map) => loadImage(map.data_url)));
      if (id !== requestId) return;
      notice.clear();
      controls.clearErrors();
      stage.classList.remove("stale");
      if (sent !== UPLOAD) lastSample = sent;
      result = response;
      lastTrace = null; // traced with the old settings
      inputImage = input;
      mapImages = outputs;
      drawAll();
      stage.dataset.renders = String(Number(stage.dataset.renders || 0) + 1);
      selectPixel(store.state.px, store.state.py, { fetch: true });
    } catch (error) {
      if (id !== requestId) return;
      if (sent === UPLOAD && [400, 413, 415].includes(error.status)) {
        forgetUpload(`The upload could not be used. ${error.message}`);
      } else fail(error.message, { error });
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = soonByInput(root, compute, 150);

  /** The room for the input pane, so "fit" fills it; input and output share one scale. */
  function paneRoom() {
    const panes = el("image-panes");
    const kernelPane = el("kernel-pane");
    const lecture = document.documentElement.classList.contains("lecture");
    const wide = lecture || window.matchMedia("(min-width: 700px)").matches;
    const gap = 16;
    const width = panes.clientWidth;
    const room = wide ? (width - kernelPane.offsetWidth - 2 * gap) / 2 : (width - gap) / 2;
    // Lecture mode: the images also fit the screen's height (captions and colour bar below).
    return lecture ? Math.min(room, window.innerHeight - 330) : room;
  }

  function drawAll() {
    if (!result) return;
    const m = selectedMap();
    const map = result.output[m];
    const [H, W] = result.geometry.input;
    const [ho, wo] = result.geometry.output;
    drawKernelPane();
    const scale = displayScale(store.state.zoom, W, paneRoom());
    drawMap(canvases.input, inputImage, overlays.input, scale);
    drawMap(canvases.output, mapImages[m], overlays.output, scale);
    const channels = result.input.shape.length === 3 ? result.input.shape[0] : 1;
    el("input-caption").textContent = `${formatShape([channels, H, W])} px, ${channels === 3 ? "RGB" : "gray"}`;
    const count = result.output.length;
    el("output-caption").textContent = `${formatShape(map.shape)} px${count > 1 ? `, map ${m + 1} of ${count}: ${map.label}` : ""}`;
    el("zoom-caption").textContent = `${formatShape([H, W])} → ${formatShape([ho, wo])}, both at ${Number(scale.toFixed(2))} screen px per pixel`;
    ranges.input.show(result.input);
    ranges.output.show(map);
    // As wide as the output (160–320 px), never wider than its pane: the end labels stay on screen.
    const room = canvases.bar.parentElement.clientWidth || 320;
    drawBar(canvases.bar, map, Math.min(room, Math.max(160, Math.min(320, wo * scale))));
    showFormula(el("formula"), result.geometry);
    drawMapStrip();
  }

  function drawKernelPane() {
    const values = sentValues();
    drawKernel(canvases.kernel, values);
    const [dh] = result?.geometry?.dilation ?? [store.state.dilation];
    el("kernel-caption").textContent =
      `${formatShape([values.length, values[0].length])}${dh > 1 ? `, dilation ${dh}` : ""}${store.state.bias ? `, bias ${store.state.bias}` : ""}${store.state.flip ? ", flipped 180° (true convolution)" : ""}`;
    el("operator").textContent = store.state.flip ? "∗" : "⋆";
  }

  function drawMapStrip() {
    const strip = el("map-strip");
    const maps = result.output;
    strip.hidden = maps.length < 2;
    if (maps.length < 2) return replaceChildren(strip);
    const cards = mapCards(maps, mapImages, selectedMap(), {
      canvasPoint,
      onChoose: chooseMap,
      onHover(n, px, py) {
        if (n === store.state.map && px === store.state.px && py === store.state.py) return;
        chooseMap(n);
        selectPixel(px, py, { fetch: true });
      },
    });
    replaceChildren(
      strip,
      h("h3", {}, `${maps.length} output maps, one per kernel`),
      h("p", { class: "hint" }, "Pick or hover one to inspect it above; each map has its own colour scale."),
      h("div", { class: "map-grid" }, cards),
    );
  }

  function chooseMap(n) {
    if (!result || n === selectedMap()) return;
    store.set({ map: n });
    drawAll();
    if (lastTrace && lastTrace.px === store.state.px && lastTrace.py === store.state.py) renderTrace(lastTrace.px, lastTrace.py, lastTrace.steps);
  }

  // ---- inspecting one output pixel ---------------------------------------------------------
  function selectPixel(px, py, { fetch = false } = {}) {
    if (!result) return;
    const [ho, wo] = result.geometry.output;
    if (px < 0 || py < 0 || px >= wo || py >= ho) {
      replaceChildren(overlays.input);
      replaceChildren(overlays.output);
      if (store.state.px !== -1) store.set({ px: -1, py: -1 });
      replaceChildren(tracePanel, traceHint);
      return;
    }
    store.set({ px, py });
    const traced = lastTrace && lastTrace.px === px && lastTrace.py === py ? lastTrace.steps[0]?.origin : null;
    drawReceptiveField(overlays, result.geometry, px, py, traced);
    if (fetch) traceSoon(px, py);
  }

  async function fetchTrace(px, py) {
    const id = ++traceId;
    tracePanel.setAttribute("aria-busy", "true");
    try {
      const response = await call({ trace_region: { rows: [py, py + 1], cols: [px, px + 1] } }, "json", traceSignal());
      if (id !== traceId) return;
      lastTrace = { px, py, steps: response.steps ?? [] };
      renderTrace(px, py, lastTrace.steps);
      tracePanel.dataset.traces = String(Number(tracePanel.dataset.traces || 0) + 1);
    } catch (error) {
      if (id !== traceId) return;
      replaceChildren(tracePanel, h("p", { class: "notice notice-error", role: "alert" }, error.message));
    } finally {
      if (id === traceId) tracePanel.removeAttribute("aria-busy");
    }
  }
  const traceSoon = debounce(fetchTrace, 150);

  function renderTrace(px, py, allSteps) {
    // The steps of the selected map only: its channels, in the response's channel order.
    const m = selectedMap();
    const span = mapChannels(result.output)[m];
    const steps = allSteps.filter((step) => step.out[0] >= span.start && step.out[0] < span.start + span.count);
    const title = result.output.length > 1 ? ` of map ${m + 1}, ${result.output[m].label}` : "";
    drawReceptiveField(overlays, result.geometry, px, py, allSteps[0]?.origin);
    replaceChildren(tracePanel, traceView({ px, py, steps, kernel: sentValues(m), span, title }));
  }

  function pixelAt(event) {
    const [x, y] = canvasPoint(canvases.output, event);
    return [Math.floor(x), Math.floor(y)];
  }
  canvases.output.addEventListener("pointermove", (event) => {
    if (!result) return;
    const [px, py] = pixelAt(event);
    if (px === store.state.px && py === store.state.py) return;
    selectPixel(px, py, { fetch: true });
  });
  canvases.output.addEventListener("pointerdown", (event) => {
    if (result) selectPixel(...pixelAt(event), { fetch: true });
  });
  canvases.output.addEventListener("keydown", (event) => {
    if (!result) return;
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const [ho, wo] = result.geometry.output;
    const px = Math.min(wo - 1, Math.max(0, (store.state.px < 0 ? Math.floor(wo / 2) : store.state.px) + move[0]));
    const py = Math.min(ho - 1, Math.max(0, (store.state.py < 0 ? Math.floor(ho / 2) : store.state.py) + move[1]));
    selectPixel(px, py, { fetch: true });
  });

  // ---- downloads ------------------------------------------------------------------------------
  async function download(format) {
    const msg = el("download-msg");
    msg.textContent = `Preparing ${format.toUpperCase()}…`;
    try {
      const blob = await call({}, format);
      const url = URL.createObjectURL(blob);
      const name = `convscope-${kernelNames(store.state).join("-")}.${format}`;
      const link = h("a", { href: url, download: name, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      msg.textContent = `Saved ${name} (${blob.size.toLocaleString()} bytes).`;
    } catch (error) {
      msg.textContent = "";
      fail(error.message, { near: msg, error });
    }
  }
  el("download-png").addEventListener("click", () => download("png"));
  el("download-npy").addEventListener("click", () => download("npy"));

  // ---- settings ---------------------------------------------------------------------------------
  const controls = buildControls(root, store, { onUpload: useUpload, kernelValues });
  const zoom = el("zoom");
  zoom.addEventListener("change", () => store.set({ zoom: zoom.value }));

  buildCamera(root, { onCapture: useUpload });

  /** A file the visitor gave (picked, dropped, pasted or captured by the camera). */
  function useUpload(file, label = file?.name || "pasted image") {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/")) {
      // Never sent: the browser already knows it is not an image.
      el("upload-input").value = "";
      uploadMsg.textContent = `“${file.name}” is not an image (${file.type}). Choose a PNG, JPEG, GIF, BMP or WebP file.`;
      uploadMsg.hidden = false;
      fail(uploadMsg.textContent, { near: uploadMsg, keys: [] });
      return;
    }
    upload = file;
    uploadMsg.hidden = true;
    el("upload-name").textContent = `Using ${label}`;
    if (store.state.src === UPLOAD) compute();
    else store.set({ src: UPLOAD, px: -1, py: -1 });
  }

  store.subscribe((state, changed) => {
    controls.sync(state, kernels);
    zoom.value = state.zoom;
    if (restoring) return;
    if (changed.has("src")) uploadMsg.hidden = true;
    if (changed.has("zoom")) drawAll();
    if ([...changed].every((key) => VIEW_KEYS.has(key))) return;
    edited = [...changed].filter((key) => !VIEW_KEYS.has(key));
    if (changed.has("kernel") || changed.has("k") || changed.has("bias") || changed.has("flip")) drawKernelPane();
    computeSoon();
  });

  window.addEventListener("resize", debounce(drawAll, 100));
  controls.sync(store.state, kernels);
  zoom.value = store.state.zoom;
  start();

  /** Colour tables, bounds, presets and samples from the API, then the first result. */
  async function start() {
    try {
      await loadColormaps();
      el("color-rule").textContent = colorRule();
    } catch (error) {
      notice.error(`Could not load the colour tables. ${error.message}`);
      return;
    }
    api
      .getLimits()
      .then((limits) => controls.setLimits(limits))
      .catch((error) => notice.error(`Could not load the server's limits. ${error.message}`));
    api
      .listKernels()
      .then((list) => {
        kernels = list;
        controls.setKernels(list, store.state);
        controls.sync(store.state, kernels);
        drawKernelPane();
        if (store.state.flip && store.state.kernel !== "custom") compute();
      })
      .catch((error) => notice.error(`Could not load the preset kernels. ${error.message}`));
    Promise.all([layerChoices("conv2d", "padding"), layerChoices("conv2d", "padding_mode")])
      .then(([words, modes]) => controls.setChoices({ words, modes }))
      .catch((error) => notice.error(`Could not load the layer settings. ${error.message}`));
    api
      .listSamples()
      .then((list) => controls.setSamples(list, store.state))
      .catch((error) => notice.error(`Could not load the sample images. ${error.message}`));
    compute();
  }
}
