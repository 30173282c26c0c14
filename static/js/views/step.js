// /step: one convolution played cell by cell. The server computes the trace, the sizes and
// the size formula (POST /api/v1/conv2d with trace: true); this controller keeps the state,
// sends requests and hands the answers to the painters in ./step/draw.js.
//
// URL parameters (all optional; a link reproduces the view, other pages may link here):
//   ex        edge | square | stride | dilation | rgb | custom | image: the worked example.
//             "image" steps through a crop of an image; it is implied by src or crop.
//   x         the input grid itself: rows ";"-separated, cells ","-separated, channels
//             "|"-separated: x=0.6,0.2;0.1,-0.2 or x=R-rows|G-rows|B-rows (at most 8x8).
//   k         the kernel in the same format (at most 5x5, one slice per input channel;
//             a single slice is repeated over the channels of an RGB crop).
//   kernel    a preset kernel name from GET /api/v1/kernels (e.g. sobel_x), used instead of k.
//   bias, stride (1-4), padding (0-3), mode (zeros | reflect | replicate | circular),
//   dilation (1-3): the convolution's settings.
//   step      the step to show (0-based); at=row,col shows the step of that output cell.
//   Image mode: src = a sample name from GET /api/v1/samples (uploads cannot be linked),
//             size = 32 | 64 | 128 | 256: the side the image is scaled to fit (default 64),
//             crop = top,left,rows,cols in that scaled image (rows, cols 1-8; default
//             23,4,6,6), color = gray | rgb (rgb: the 3-channel mode).
//   Example: /step?src=shapes&size=64&crop=23,4,6,6&kernel=sobel_y&padding=1&at=2,3

import * as api from "../api.js";
import { byTestId, debounce, latestSignal, replaceChildren, soonByInput } from "../dom.js";
import { Player } from "../player.js";
import { colorRule, loadColormaps, maxAbs } from "../render/colors.js";
import { finiteRange, formatShape } from "../render/format.js";
import { createStore } from "../state.js";
import { createNotice } from "./widgets/notice.js";
import { bindPlayerKeys, createPlayerControls } from "./widgets/player-controls.js";
import { createRangeLabel } from "./widgets/range-label.js";
import { bindCellHover, bindOutputSeek, layerChoices, outputCells, showFormula, stepsUsing } from "./shared.js";
import { cellSize, drawInput, drawKernel, drawOutput, inputCaption, stepDetail, taps } from "./step/draw.js";
import { buildSettings } from "./step/settings.js";
import {
  CROP_KEYS,
  EXAMPLE_KEYS,
  EXAMPLES,
  IMAGE,
  SCHEMA,
  UPLOAD,
  clampCrop,
  fitKernel,
  hasLinkedX,
  requestBody,
  sentKernel,
  setLinkedX,
} from "./step/state.js";

export { EXAMPLES, clampCrop, fitKernel };

export function mount(root) {
  const query = new URLSearchParams(window.location.search);
  const store = createStore(SCHEMA);
  const el = (id) => byTestId(root, id);
  const notice = createNotice(el("notice"));
  // src or crop in a link imply image mode; uploads cannot travel in a link.
  if (!query.has("ex") && (query.has("src") || query.has("crop"))) store.set({ ex: IMAGE });
  if (store.state.src === UPLOAD) {
    store.set({ src: SCHEMA.src.default });
    notice.info("Links cannot carry an uploaded image, so a sample is shown: upload it again to continue.");
  }
  // A link names an example and only the settings that differ from the default one.
  const chosen = EXAMPLES[store.state.ex];
  if (chosen) store.set(Object.fromEntries(EXAMPLE_KEYS.filter((key) => !query.has(key)).map((key) => [key, chosen[key]])));
  const isImage = () => store.state.ex === IMAGE;
  const player = new Player({ speed: 2 });
  const stage = el("step-stage");
  const canvases = { input: el("input-canvas"), kernel: el("kernel-canvas"), output: el("output-canvas") };
  const ranges = {
    input: createRangeLabel({ testid: "input-range" }),
    kernel: createRangeLabel({ testid: "kernel-range" }),
    output: createRangeLabel({ testid: "output-range" }),
  };
  for (const [name, label] of Object.entries(ranges)) canvases[name].closest("figure").append(label.root);
  const detail = el("step-detail");
  const hoverInfo = el("hover-info");
  const hoverHint = hoverInfo.textContent;
  let result = null; // the last trace from the API
  let layouts = { input: [], output: null };
  let hoverInput = null; // [r, c] in padded coordinates
  let requestId = 0;
  let cropId = 0;
  let upload = null; // the uploaded Blob when src is "upload"
  let uploadVersion = 0;
  let lastSample = store.state.src === UPLOAD ? SCHEMA.src.default : store.state.src;
  let image = { key: "", shape: null }; // the decoded image's [C, H, W] for src|size

  const settings = buildSettings(el("step-settings"), store, { onUpload: useUpload, imageShape: () => image.shape });
  const controls = createPlayerControls(player, { label: "Convolution steps" });
  el("player").append(controls.root);
  bindPlayerKeys(player);

  /** A failed request: say why next to the control that caused it and dim the old result. */
  function fail(message, { near = null } = {}) {
    notice.error(message);
    const beside = near ?? settings.showError(message);
    if (result) stage.classList.add("stale");
    (beside ?? el("notice")).scrollIntoView?.({ block: "nearest" });
  }

  function succeed() {
    notice.clear();
    settings.clearError();
    stage.classList.remove("stale");
  }

  // ---- the image crop -------------------------------------------------------------
  function useUpload(file) {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/")) {
      fail(`“${file.name}” is not an image (${file.type}). Choose a PNG, JPEG, GIF, BMP or WebP file.`, {
        near: settings.showUploadError(`“${file.name}” is not an image.`),
      });
      return;
    }
    upload = file;
    uploadVersion += 1;
    settings.setUpload(file);
    const changed = store.set({ ex: IMAGE, src: UPLOAD, step: 0 });
    if (!changed.includes("src") && !changed.includes("ex")) fetchCrop();
  }

  /** The server refused the upload: forget it and go back to the last sample. */
  function forgetUpload(message) {
    upload = null;
    uploadVersion += 1;
    image = { key: "", shape: null };
    settings.setUpload(null);
    fail(message, { near: settings.showUploadError(message) });
    store.set({ src: lastSample });
  }

  /** Fetch the crop's exact values (POST /images/pixels) and make them the input. */
  async function fetchCrop() {
    const s = store.state;
    const id = ++cropId;
    const source = s.src === UPLOAD ? upload : s.src;
    if (!source) return;
    const options = { color: s.color, maxSide: Number(s.size) };
    const key = `${s.src}|${s.size}|${uploadVersion}`;
    stage.setAttribute("aria-busy", "true");
    try {
      if (image.key !== key) {
        // A 1x1 probe tells the size of the decoded image, so the crop can be kept inside it.
        const probe = await api.imagePixels(source, { rows: [0, 1], cols: [0, 1], ...options });
        if (id !== cropId) return;
        image = { key, shape: probe.image_shape };
      }
      const [, H, W] = image.shape;
      const crop = clampCrop(s.crop, H, W);
      if (crop.join() !== s.crop.join()) {
        store.set({ crop }); // the subscription fetches the moved crop
        return;
      }
      const [r0, c0, rows, cols] = crop;
      const response = await api.imagePixels(source, { rows: [r0, r0 + rows], cols: [c0, c0 + cols], ...options });
      if (id !== cropId || !isImage()) return;
      if (s.src !== UPLOAD) lastSample = s.src;
      const x = response.pixels;
      setLinkedX(x);
      settings.clearUploadError();
      settings.showImage(image.shape);
      store.set({ x, k: fitKernel(store.state.k, x.length) });
      compute();
    } catch (error) {
      if (id !== cropId) return;
      stage.removeAttribute("aria-busy");
      if (s.src === UPLOAD) forgetUpload(`Could not read the upload: ${error.message}`);
      else fail(`Could not read the crop: ${error.message}`);
    }
  }
  const fetchCropSoon = debounce(fetchCrop, 120);

  // ---- compute ------------------------------------------------------------------
  async function compute() {
    computeSoon.cancel();
    const id = ++requestId;
    stage.setAttribute("aria-busy", "true");
    try {
      const response = await api.conv2d(requestBody(store.state), { signal: computeSignal() });
      if (id !== requestId) return;
      succeed();
      result = response;
      let index = store.state.step;
      if (store.state.at) {
        const [i, j] = store.state.at;
        const found = response.steps.findIndex((st) => st.out[1] === i && st.out[2] === j);
        if (found >= 0) index = found;
        store.set({ at: null });
      }
      player.setCount(response.steps.length, { index });
      render();
      stage.dataset.renders = String(Number(stage.dataset.renders || 0) + 1);
    } catch (error) {
      if (id === requestId) fail(error.message);
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = soonByInput(root, compute, 120);
  const computeSignal = latestSignal(); // a new setting aborts the request it makes stale

  store.subscribe((state, changed) => {
    if ([...changed].every((key) => key === "step" || key === "at")) return;
    if (!isImage()) setLinkedX(null);
    settings.sync(store.state);
    if (isImage() && (changed.has("ex") || CROP_KEYS.some((key) => changed.has(key)))) {
      computeSoon.cancel();
      fetchCropSoon();
      return;
    }
    if (isImage() && !hasLinkedX()) return; // the crop's values are on their way
    computeSoon();
  });
  player.subscribe(({ index }) => {
    store.set({ step: index });
    render();
  });

  // ---- drawing: the painters get the API's answer --------------------------------------
  function render() {
    if (!result) return;
    const { padded_input: padded, geometry, output, steps } = result;
    const step = steps[player.index];
    const kernel = sentKernel(store.state); // what the server multiplied with
    const scales = { input: maxAbs(padded.flat(2)), kernel: maxAbs(kernel.flat(2)), output: maxAbs(output.flat(2)) };
    const size = cellSize(stage.clientWidth, { paddedCols: padded[0][0].length, kernelCols: geometry.kernel[1], outputCols: geometry.output[1] });
    layouts.input = drawInput(canvases.input, { padded, geometry, step, kernel, scale: scales.input, hover: hoverInput, size });
    drawKernel(canvases.kernel, { kernel, scale: scales.kernel, size });
    const users = hoverInput ? usersOf(hoverInput) : [];
    layouts.output = drawOutput(canvases.output, { result, index: player.index, scale: scales.output, users, size });
    el("input-caption").textContent = inputCaption(result);
    const [dh, dw] = geometry.dilation;
    el("kernel-caption").textContent =
      `${formatShape([kernel.length, ...geometry.kernel])}${dh > 1 || dw > 1 ? `, dilation ${dh}` : ""}${store.state.flip ? ", flipped 180° (true convolution)" : ""}`;
    el("operator").textContent = store.state.flip ? "∗" : "⋆";
    el("output-caption").textContent = formatShape(output.length && Array.isArray(output[0][0]) ? [output.length, ...geometry.output] : geometry.output);
    for (const [name, values] of [
      ["input", padded],
      ["kernel", kernel],
      ["output", output],
    ]) {
      const { min, max } = finiteRange(values);
      ranges[name].show({ min, max, vmin: -scales[name], vmax: scales[name] });
    }
    showFormula(el("formula"), geometry);
    replaceChildren(detail, stepDetail({ step, index: player.index, kernel, scales, single: steps.length === 1 }));
  }

  function usersOf(cell) {
    return stepsUsing(result.steps, cell, (st) => taps(result.geometry, st));
  }

  // ---- pointer interaction ---------------------------------------------------------
  bindOutputSeek(canvases.output, player, { layout: () => (result ? layouts.output : null), steps: () => result.steps });
  bindCellHover(canvases.input, {
    cellAt(x, y) {
      if (!result) return undefined;
      let cell = null;
      for (const layout of layouts.input) cell = cell ?? layout.cellAt(x, y);
      return cell;
    },
    current: () => hoverInput,
    info: hoverInfo,
    hint: hoverHint,
    describe(cell) {
      const users = usersOf(cell);
      if (!users.length) return `Padded cell (row ${cell[0]}, column ${cell[1]}) is not used by any output (the stride skips it).`;
      return `Padded cell (row ${cell[0]}, column ${cell[1]}) is used by output cell${users.length > 1 ? "s" : ""} ${outputCells(users)}.`;
    },
    onHover(cell) {
      hoverInput = cell;
      render();
    },
  });

  new ResizeObserver(debounce(render, 60)).observe(stage);
  settings.sync(store.state);
  start();

  /** First draw: the colour rule, a preset kernel named in the link, then the crop or the grid. */
  async function start() {
    try {
      await loadColormaps();
      el("color-rule").textContent = colorRule();
    } catch (error) {
      notice.error(`Could not load the colour tables. ${error.message}`);
      return;
    }
    const name = store.state.kernel;
    if (name) {
      try {
        const preset = (await api.listKernels()).find((k) => k.name === name);
        if (preset) store.set({ k: fitKernel([preset.values], store.state.x.length) });
        else notice.error(`There is no preset kernel called “${name}”; the kernel below is used instead.`);
      } catch (error) {
        notice.error(`Could not load the preset kernels. ${error.message}`);
      }
      store.set({ kernel: "" });
    }
    layerChoices("conv2d", "padding_mode")
      .then((modes) => settings.setPaddingModes(modes))
      .catch((error) => notice.error(`Could not load the padding modes. ${error.message}`));
    api
      .listSamples()
      .then((list) => settings.setSamples(list))
      .catch((error) => notice.error(`Could not load the sample images. ${error.message}`));
    if (isImage()) fetchCrop();
    else compute();
  }
}
