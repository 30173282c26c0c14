// /network: a stack of layers on an image, every feature map of every layer in a column
// (POST /api/v1/images/pipeline). This module is the controller: state, requests and
// wiring. The layer types, their controls and bounds come from the API (GET /api/v1/layers,
// /limits, /kernels, /samples, /colormaps); painters live in network/draw.js, the pixel
// inspector in network/inspect.js, pure request building in network/pipeline.js.

import * as api from "../api.js";
import { byTestId, h, latestSignal, replaceChildren, soonByInput } from "../dom.js";
import { loadImage } from "../render/image.js";
import { createStore, field } from "../state.js";
import { createLayerCard, newLayer, showLayerError } from "./widgets/layer-card.js";
import { createNotice } from "./widgets/notice.js";
import { drawColumns, MAX_MAPS } from "./network/draw.js";
import { createInspector } from "./network/inspect.js";
import { buildPipeline, encodeLayers, erroredLayer, layersField, nameLayers, PRESETS } from "./network/pipeline.js";

const SCHEMA = {
  src: field.text("shapes"),
  color: field.choice("gray", ["gray", "rgb"]),
  size: field.choice("96", ["64", "96", "128", "192"]),
  range: field.choice("map", ["map", "layer"]),
  layers: layersField(),
};

export function mount(root) {
  const store = createStore(SCHEMA);
  const el = (id) => byTestId(root, id);
  const notice = createNotice(el("notice"));
  const stage = el("net-stage");
  const columns = el("columns");
  const inspector = createInspector(el("inspect"));
  const registry = { types: [], presets: [], limits: {}, ready: false };
  let upload = null;
  let result = null; // {id, response, params, info, source, color, maxSide}
  let layerError = { index: null, message: "" };
  // What the server last said about each layer's input and output (shapes, map labels,
  // batch norm statistics): the cards size their weight grids and tables from it.
  let known = { inputs: [], answers: [] };
  let requestId = 0;

  if (store.state.src === "upload") store.set({ src: SCHEMA.src.default });
  const source = () => (store.state.src === "upload" && upload ? upload : store.state.src);
  const maxLayers = () => registry.limits.max_pipeline_layers?.value ?? Infinity;

  // ---- the layer cards ---------------------------------------------------------------
  const list = el("layer-list");
  // The cards are redrawn from the state: at once after a commit (so that every card's
  // handlers hold the stack as it now is), and after an answer (new shapes, statistics, an
  // error). A field being typed in is never replaced under the caret, which would lose the
  // caret, the selection and any text not yet committed: while the focus is in a text or
  // number field of the cards, an answer only updates the layers' error messages in place,
  // and the rest of its redraw waits until the focus leaves the cards.
  const typingIn = (node) =>
    list.contains(node) &&
    (node instanceof HTMLTextAreaElement || (node instanceof HTMLInputElement && !["button", "checkbox", "radio", "file"].includes(node.type)));
  let redrawWaiting = false;
  function refreshCards() {
    if (!typingIn(document.activeElement)) return renderLayers();
    redrawWaiting = true;
    [...list.children].forEach((card, index) => {
      const message = card.querySelector(`[data-testid="layer-${index}-error"]`);
      if (message) showLayerError(message, layerError.index === index ? layerError.message : "");
    });
  }
  list.addEventListener("focusout", (event) => {
    if (redrawWaiting && !list.contains(event.relatedTarget)) renderLayers();
  });
  // A field left by Tab or a click commits with its change event while the focus is on its
  // way elsewhere; when the redraw replaces where it was going, focus the replacement.
  let committedBy = null;
  list.addEventListener("change", (event) => (committedBy = event.target), true);
  function followFocus(left) {
    left.addEventListener(
      "focusout",
      (event) => {
        const next = event.relatedTarget;
        if (next && !next.isConnected && next.dataset?.testid) list.querySelector(`[data-testid="${CSS.escape(next.dataset.testid)}"]`)?.focus();
      },
      { once: true },
    );
  }

  function renderLayers() {
    redrawWaiting = false;
    const layers = store.state.layers;
    // The focused control stays focused across the redraw, found again by its test id. A
    // matrix cell commits as it is typed in, so it keeps its text ("1.", "-0") and caret.
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    const focusId = focused?.dataset?.testid;
    const text = focused && "value" in focused ? focused.value : null;
    const caret = typeof focused?.selectionStart === "number" ? [focused.selectionStart, focused.selectionEnd] : null;
    if (committedBy && list.contains(committedBy) && !focusId) followFocus(committedBy);
    committedBy = null;
    const setLayers = (next) => store.set({ layers: next });
    replaceChildren(
      list,
      layers.map(
        (layer, index) =>
          createLayerCard({
            layer,
            index,
            count: layers.length,
            types: registry.types,
            presets: registry.presets,
            maxKernelSide: registry.limits.max_kernel_side?.value ?? 15,
            input: known.inputs[index] ?? null,
            answer: known.answers[index] ?? null,
            error: layerError.index === index ? layerError.message : "",
            onChange: (next) => setLayers(layers.map((l, i) => (i === index ? next : l))),
            onMove: (i, delta) => {
              const next = layers.slice();
              [next[i], next[i + delta]] = [next[i + delta], next[i]];
              setLayers(next);
              requestAnimationFrame(() => list.querySelector(`[data-testid="layer-${i + delta}-${delta < 0 ? "up" : "down"}"]`)?.focus());
            },
            onRemove: (i) => setLayers(layers.filter((_, n) => n !== i)),
          }).root,
      ),
    );
    const again = focusId ? list.querySelector(`[data-testid="${CSS.escape(focusId)}"]`) : null;
    if (again) {
      if (text !== null && again.type === focused.type && again.value !== text) again.value = text;
      again.focus();
      if (caret && typeof again.setSelectionRange === "function") again.setSelectionRange(...caret);
    }
    const full = layers.length >= maxLayers();
    el("layer-count").textContent = `${layers.length} of at most ${maxLayers()} layers`;
    for (const button of el("add-row").querySelectorAll("button")) button.disabled = full;
    el("add-msg").textContent = full ? `The server runs at most ${maxLayers()} layers (CONVSCOPE_MAX_PIPELINE_LAYERS); remove one to add another.` : "";
  }

  function buildMenus() {
    replaceChildren(
      el("add-row"),
      registry.types.map((type) =>
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small",
            title: type.description,
            dataset: { testid: `add-${type.type}` },
            onClick: () => store.set({ layers: [...store.state.layers, newLayer(type, registry.presets)] }),
          },
          `+ ${type.label}`,
        ),
      ),
    );
    replaceChildren(
      el("preset-row"),
      Object.entries(PRESETS).map(([name, preset]) =>
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small",
            dataset: { testid: `preset-${name}` },
            title: preset.note ?? "",
            onClick: () => store.set({ layers: structuredClone(preset.layers), ...(preset.color ? { color: preset.color } : {}) }),
          },
          preset.label,
        ),
      ),
    );
  }

  function presetNotes() {
    replaceChildren(
      el("preset-notes"),
      Object.entries(PRESETS)
        .filter(([, preset]) => preset.note)
        .map(([name, preset]) => h("p", { class: "hint", dataset: { testid: `preset-note-${name}` } }, h("strong", {}, `${preset.label}: `), preset.note)),
    );
  }

  // ---- computing -----------------------------------------------------------------------
  /** Each layer's input as the server computed it: channel count, map labels, whence. */
  function learn(response, layers) {
    const shape = response.input.shape;
    const inputs = [{ channels: shape.length === 3 ? shape[0] : 1, labels: [], from: "the image" }];
    response.layers.forEach((l, i) => {
      inputs.push({
        channels: l.shape.length === 3 ? l.shape[0] : null,
        labels: l.maps.map((m) => m.label),
        from: `layer ${i + 1}'s ${l.shape.length === 3 ? l.shape[0] : 0} maps`,
      });
    });
    const answers = response.layers.map(({ type, shape, maps, mean, var: v, running_mean, running_var, weight, bias }) => ({
      type,
      shape,
      maps: maps.map((m) => ({ label: m.label })),
      ...(mean ? { mean, var: v, running_mean, running_var, weight, bias } : {}),
    }));
    return { inputs: inputs.slice(0, layers.length), answers };
  }

  /** Take what the server said; redraw the cards only when something they show changed. */
  function remember(next) {
    const changed = JSON.stringify(next) !== JSON.stringify(known);
    known = next;
    if (changed) refreshCards();
    return changed;
  }

  /** After layer `index` failed: ask for the layers before it, so its card knows its input. */
  async function learnBefore(index, s, request, id) {
    if (index === null || index === 0) return;
    try {
      const params = { layers: request.layers.slice(0, index), value_range: s.range };
      const response = await api.imagePipeline(source(), { params, color: s.color, maxSide: Number(s.size), signal: computeSignal() });
      if (id !== requestId) return;
      remember(learn(response, request.layers));
    } catch {
      // the error already shown says what is wrong; the cards keep what they knew
    }
  }
  function fail(message) {
    const index = erroredLayer(message);
    const text = nameLayers(message);
    notice.error(text);
    layerError = { index, message: index === null ? "" : text };
    if (result) columns.classList.add("stale");
    stage.dataset.stale = String(Boolean(result));
    refreshCards();
    if (index !== null) list.children[index]?.scrollIntoView({ block: "nearest" });
    el("notice").scrollIntoView({ block: "nearest" });
  }

  async function compute() {
    if (!registry.ready) return;
    const s = store.state;
    const id = ++requestId;
    let request;
    try {
      request = buildPipeline(s.layers, { inputChannels: s.color === "rgb" ? 3 : 1, presets: registry.presets });
    } catch (error) {
      fail(`Could not build the layers: ${error.message}`);
      return;
    }
    const params = { layers: request.layers, value_range: s.range };
    stage.setAttribute("aria-busy", "true");
    if (result) columns.classList.add("stale");
    try {
      const src = source();
      const response = await api.imagePipeline(src, { params, color: s.color, maxSide: Number(s.size), signal: computeSignal() });
      if (id !== requestId) return;
      const drawn = [response.input, ...response.layers.flatMap((l) => [...l.maps.slice(0, MAX_MAPS), ...(l.masks ?? []).slice(0, MAX_MAPS)])];
      const images = await Promise.all(drawn.map((m) => loadImage(m.data_url)));
      if (id !== requestId) return;
      notice.clear();
      const hadError = layerError.index !== null;
      layerError = { index: null, message: "" };
      if (!remember(learn(response, s.layers)) && hadError) refreshCards();
      result = { id, response, params, info: request.info, source: src, color: s.color, maxSide: Number(s.size) };
      const titles = s.layers.map((layer, i) => `${i + 1} · ${registry.types.find((t) => t.type === layer.type)?.label ?? layer.type}`);
      drawColumns(columns, { response, images, titles, shared: s.range === "layer", onPick: (li, ch, r, c) => inspector.show(result, li, ch, r, c) });
      columns.classList.remove("stale");
      stage.dataset.stale = "false";
      inspector.reset();
      stage.dataset.layers = encodeLayers(s.layers); // the stack these maps are of (as in the link)
      stage.dataset.renders = String(Number(stage.dataset.renders || 0) + 1);
    } catch (error) {
      if (id === requestId) {
        fail(error.message);
        learnBefore(erroredLayer(error.message), s, request, id);
      }
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = soonByInput(root, compute, 150);
  const computeSignal = latestSignal(); // a new setting aborts the request it makes stale

  // ---- image source and options --------------------------------------------------------
  let sampleButtons = [];
  const fileInput = el("upload-input");
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    upload = file;
    el("upload-name").textContent = `Using ${file.name}`;
    if (store.state.src === "upload") computeSoon();
    else store.set({ src: "upload" });
  });
  const options = { color: el("color"), size: el("size"), range: el("range") };
  for (const [key, control] of Object.entries(options)) control.addEventListener("change", () => store.set({ [key]: control.value }));

  function syncControls(s) {
    for (const [key, control] of Object.entries(options)) control.value = s[key];
    for (const button of sampleButtons) button.setAttribute("aria-pressed", String(button.dataset.name === s.src));
  }

  store.subscribe((state, changed) => {
    syncControls(state);
    if (changed.has("layers")) {
      layerError = { index: null, message: "" };
      if (registry.ready) renderLayers();
    }
    computeSoon();
  });

  Promise.all([api.listKernels(), api.listSamples(), api.listLayers(), api.getLimits()])
    .then(([kernels, samples, layers, limits]) => {
      Object.assign(registry, { presets: kernels, types: layers, limits, ready: true });
      sampleButtons = samples.map((sample) =>
        h(
          "button",
          {
            type: "button",
            class: "sample-card",
            dataset: { testid: `sample-${sample.name}`, name: sample.name },
            title: sample.description,
            onClick: () => store.set({ src: sample.name }),
          },
          h("img", { src: sample.url, alt: "", width: 56, height: Math.round((56 * sample.height) / sample.width) }),
          h("span", {}, sample.label),
        ),
      );
      replaceChildren(el("samples"), sampleButtons);
      syncControls(store.state);
      buildMenus();
      presetNotes();
      renderLayers();
      compute();
    })
    .catch((error) => notice.error(`Could not load the layer types, limits, kernels and samples: ${error.message}`));
  api
    .listColormaps()
    .then((colormaps) => {
      el("colour-rule").textContent = colormaps.rule;
    })
    .catch((error) => {
      el("colour-rule").textContent = `Could not load the colour rule: ${error.message}`;
      el("colour-rule").classList.add("field-msg-error");
    });
}
