// /step: one convolution played cell by cell. The server computes the trace, the sizes and
// the size formula (POST /api/v1/conv2d with trace: true); this controller keeps the state,
// sends requests and hands the answers to the painters in ./step/draw.js.
//
// URL parameters (all optional; a link reproduces the view, other pages may link here):
//   op        conv (default) | transposed: a convolution, or a transposed convolution (each
//             input cell scatters the kernel scaled by its value; POST /conv_transpose2d).
//   ex        edge | square | stride | dilation | rgb | cs231n | transposed | custom | image:
//             the worked example.
//             "image" steps through a crop of an image; it is implied by src or crop.
//   x         the input grid itself: rows ";"-separated, cells ","-separated, channels
//             "|"-separated: x=0.6,0.2;0.1,-0.2 or x=R-rows|G-rows|B-rows (at most 8x8).
//   k         the kernel in the same format (at most 5x5, one slice per input channel;
//             a single slice is repeated over the channels of an RGB crop); several filters
//             (output channels) are joined by "/": k=W0-slices/W1-slices.
//   bias      one number (every filter) or one per filter, ","-separated: bias=1,0.
//   kernel    a preset kernel name from GET /api/v1/kernels (e.g. sobel_x), used instead of k.
//   stride (1-4), padding (0-3), mode (zeros | reflect | replicate | circular),
//   dilation (1-3), outpad (0-3, transposed only: output_padding): the settings.
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
import { finiteRange, formatNumber, formatShape } from "../render/format.js";
import { createStore } from "../state.js";
import { createNotice } from "./widgets/notice.js";
import { bindPlayerKeys, createPlayerControls } from "./widgets/player-controls.js";
import { createRangeLabel } from "./widgets/range-label.js";
import { bindCellHover, canvasPoint, layerChoices, outputCells, showFormula, stepsUsing } from "./shared.js";
import { cellSize, drawInput, drawKernel, drawOutput, inputCaption, stepDetail, taps, volumeCellSize } from "./step/draw.js";
import { directCaption, drawDirect, drawScaled, drawTransposedInput, drawTransposedOutput, transposedDetail } from "./step/transposed.js";
import { buildSettings } from "./step/settings.js";
import {
  CROP_KEYS,
  EXAMPLE_KEYS,
  EXAMPLES,
  IMAGE,
  SCHEMA,
  TRANSPOSED,
  UPLOAD,
  biases,
  clampCrop,
  fitKernel,
  hasLinkedX,
  isVolume,
  requestBody,
  sentKernel,
  setLinkedX,
  transposedBody,
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
  const isTransposed = () => store.state.op === TRANSPOSED;
  const canvases = {
    input: el("input-canvas"),
    kernel: el("kernel-canvas"),
    output: el("output-canvas"),
    scaled: el("scaled-canvas"),
    directInput: el("direct-input-canvas"),
    directKernel: el("direct-kernel-canvas"),
  };
  const ranges = {
    input: createRangeLabel({ testid: "input-range" }),
    kernel: createRangeLabel({ testid: "kernel-range" }),
    output: createRangeLabel({ testid: "output-range" }),
    scaled: createRangeLabel({ testid: "scaled-range" }),
    // With several filters each bias cell is tinted on the biases' own scale, stated here.
    bias: createRangeLabel({ testid: "bias-range" }),
  };
  const figureOf = { bias: "kernel" };
  for (const [name, label] of Object.entries(ranges)) canvases[figureOf[name] ?? name].closest("figure").append(label.root);
  const detail = el("step-detail");
  const hoverInfo = el("hover-info");
  const hoverHint = hoverInfo.textContent;
  let result = null; // the last trace from the API
  let layouts = { input: [], output: [] };
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
      const transposed = isTransposed();
      const send = transposed
        ? api.convTranspose2d(transposedBody(store.state), { signal: computeSignal() })
        : api.conv2d(requestBody(store.state), { signal: computeSignal() });
      const response = await send;
      if (id !== requestId) return;
      succeed();
      result = { ...response, transposed };
      let index = store.state.step;
      if (store.state.at && !transposed) {
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
    stage.dataset.mode = result.transposed ? "transposed" : isVolume(store.state) ? "volume" : "conv";
    if (result.transposed) renderTransposed();
    else renderConv();
    showFormula(el("formula"), result.geometry);
  }

  function showRanges(grids) {
    for (const [name, values, scale, scaleNote = ""] of grids) {
      const { min, max } = finiteRange(values);
      ranges[name].show({ min, max, vmin: -scale, vmax: scale, scaleNote });
    }
  }

  function renderConv() {
    const { padded_input: padded, geometry, output, steps } = result;
    const step = steps[player.index];
    const kernel = sentKernel(store.state); // what the server multiplied with: [O][C][kh][kw]
    const bias = biases(store.state);
    const O = kernel.length;
    const volume = isVolume(store.state);
    const scales = { input: maxAbs(padded.flat(2)), kernel: maxAbs(kernel.flat(3)), output: maxAbs(output.flat(2)) };
    const width = stage.clientWidth;
    const maxWidth = Math.max(200, width - 40);
    const size = volume
      ? volumeCellSize(width, { slices: padded.length, paddedCols: padded[0][0].length, kernelCols: geometry.kernel[1] })
      : cellSize(width, { paddedCols: padded[0][0].length, kernelCols: geometry.kernel[1], outputCols: geometry.output[1] });
    const filter = step.out[0];
    layouts.input = drawInput(canvases.input, { padded, geometry, step, kernel: kernel[filter], scale: scales.input, hover: hoverInput, size, maxWidth });
    drawKernel(canvases.kernel, { kernel, bias, current: filter, scale: scales.kernel, size, maxWidth });
    const users = hoverInput ? usersOf(hoverInput) : [];
    layouts.output = drawOutput(canvases.output, { result, index: player.index, scale: scales.output, users, size, maxWidth });
    el("input-title").textContent = volume ? "Input volume" : "Input";
    el("kernel-title").textContent = O > 1 ? `Filters W0–W${O - 1}` : volume ? "Filter" : "Kernel";
    el("output-title").textContent = O > 1 ? "Output volume" : "Output";
    el("input-caption").textContent = inputCaption(result);
    const [dh, dw] = geometry.dilation;
    const shape = O > 1 ? [O, kernel[0].length, ...geometry.kernel] : [kernel[0].length, ...geometry.kernel];
    el("kernel-caption").textContent =
      `${formatShape(shape)}${O > 1 ? ", a bias each" : ""}${dh > 1 || dw > 1 ? `, dilation ${dh}` : ""}${store.state.flip ? ", flipped 180° (true convolution)" : ""}`;
    el("operator").textContent = store.state.flip ? "∗" : "⋆";
    el("output-caption").textContent = formatShape(O > 1 ? [O, ...geometry.output] : geometry.output);
    showRanges([
      ["input", padded, scales.input],
      ["kernel", kernel, scales.kernel],
      ["output", output, scales.output],
    ]);
    if (O > 1) showRanges([["bias", bias, maxAbs(bias), `the biases b0–b${O - 1}`]]);
    else ranges.bias.clear();
    replaceChildren(detail, stepDetail({ step, index: player.index, kernel: kernel[filter], scales, single: steps.length === 1, volume }));
  }

  function renderTransposed() {
    const { geometry, output, steps, direct } = result;
    const step = steps[player.index];
    const x = store.state.x;
    const kernel = store.state.k[0]; // [C][kh][kw]: the slices sent as [C][1][kh][kw]
    const width = stage.clientWidth;
    const maxWidth = Math.max(200, width - 40);
    const uncropped = result.uncropped_shape;
    const size = cellSize(width, { paddedCols: x[0][0].length, kernelCols: geometry.kernel[1] * 2, outputCols: uncropped[1] });
    const scales = { input: maxAbs(x.flat(2)), kernel: maxAbs(kernel.flat(2)), output: maxAbs(output.flat(2)) };
    layouts.input = drawTransposedInput(canvases.input, { x, step, scale: scales.input, size, maxWidth });
    drawKernel(canvases.kernel, { kernel: [kernel], bias: biases(store.state), current: 0, scale: scales.kernel, size, maxWidth });
    drawScaled(canvases.scaled, { step, size, scale: scales.output });
    layouts.output = [drawTransposedOutput(canvases.output, { result, step, scale: scales.output, size, maxWidth })];
    drawDirect(canvases.directInput, canvases.directKernel, { direct, step, size: Math.min(size, 34), maxWidth });
    const C = x.length;
    el("input-title").textContent = "Input";
    el("kernel-title").textContent = "Kernel";
    el("output-title").textContent = "Output";
    el("input-caption").textContent = formatShape([C, ...geometry.input]);
    el("kernel-caption").textContent =
      `${formatShape([C, ...geometry.kernel])}${geometry.dilation.some((d) => d > 1) ? `, dilation ${geometry.dilation[0]}` : ""}`;
    el("scaled-caption").textContent = `value ${formatNumber(step.value, 4)} × kernel${C > 1 ? ` channel ${step.in[0] + 1}` : ""}`;
    el("output-caption").textContent =
      `${formatShape(geometry.output)}${geometry.padding[0] || geometry.padding[2] ? `, cropped from ${formatShape(uncropped)}` : ""}${step.running ? "" : " (the running output is over the trace limit: the final output is shown)"}`;
    el("direct-caption").textContent = directCaption(result);
    ranges.bias.clear();
    showRanges([
      ["input", x, scales.input],
      ["kernel", kernel, scales.kernel],
      ["output", output, scales.output],
      ["scaled", step.scaled[0], scales.output, "the output's, which it is added into"],
    ]);
    replaceChildren(detail, transposedDetail({ step, index: player.index, kernel, C }));
  }

  /** The steps of the current filter whose window reads the padded cell `cell`. */
  function usersOf(cell) {
    const filter = result.steps[player.index].out[0];
    const own = result.steps.filter((st) => st.out[0] === filter);
    return stepsUsing(own, cell, (st) => taps(result.geometry, st));
  }

  // ---- pointer interaction ---------------------------------------------------------
  // Pointing at an output cell seeks the step that computes it (conv: per slice).
  for (const type of ["pointermove", "click"]) {
    canvases.output.addEventListener(type, (event) => {
      if (!result || result.transposed) return;
      const point = canvasPoint(canvases.output, event);
      layouts.output.forEach((layout, o) => {
        const cell = layout.cellAt(...point);
        if (!cell) return;
        const index = result.steps.findIndex((st) => st.out[0] === o && st.out[1] === cell[0] && st.out[2] === cell[1]);
        if (index >= 0) player.seek(index);
      });
    });
  }
  bindCellHover(canvases.input, {
    cellAt(x, y) {
      if (!result || result.transposed) return undefined;
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
        if (preset) store.set({ k: fitKernel([[preset.values]], store.state.x.length) });
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
