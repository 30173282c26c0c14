// /: filter an image with a kernel. The server computes everything (POST
// /api/v1/images/conv2d); this view draws the returned maps and, for the pixel under the
// pointer, the trace of its sum (trace_region).

import * as api from "../api.js";
import { byTestId, debounce, h, replaceChildren, s as svg, sizeCanvas } from "../dom.js";
import { colorAt, diverging, drawColorBar, maxAbs } from "../render/colors.js";
import { formatNumber } from "../render/format.js";
import { drawGrid, gridLayout } from "../render/grid.js";
import { drawImageExact, loadImage } from "../render/image.js";
import { createStore, field } from "../state.js";
import { createKernelEditor } from "./widgets/kernel-editor.js";
import { createNotice } from "./widgets/notice.js";
import { createNumberField } from "./widgets/number-field.js";
import { canvasPoint, channelName, equation, padModes } from "./shared.js";

const FALLBACK_KERNEL = [[0, 0, 0], [0, 1, 0], [0, 0, 0]];

const MAX_COMPARE = 6; // presets compared side by side

const SCHEMA = {
  src: field.text("shapes"),
  // One preset name, "custom" (the numbers in k), or several presets "sobel_x,sobel_y".
  kernel: field.text("sobel_x", { pattern: new RegExp(`^[\\w-]{1,64}(,[\\w-]{1,64}){0,${MAX_COMPARE - 1}}$`) }),
  multi: field.bool(false), // compare several presets: the gallery selects more than one
  k: field.matrix(FALLBACK_KERNEL),
  bias: field.number(0),
  stride: field.int(1, { min: 1, max: 64 }),
  pad: field.choice("same", ["valid", "same", "full", "custom"]),
  ph: field.int(1, { min: 0, max: 256 }),
  pw: field.int(1, { min: 0, max: 256 }),
  pmode: field.choice("zeros", padModes),
  dilation: field.int(1, { min: 1, max: 64 }),
  color: field.choice("gray", ["gray", "rgb"]),
  cmode: field.choice("depthwise", ["depthwise", "sum"]),
  size: field.choice("256", ["128", "256", "512"]),
  px: field.int(-1, { min: -1, max: 4096 }), // the inspected output pixel (column), -1: none
  py: field.int(-1, { min: -1, max: 4096 }),
  map: field.int(0, { min: 0, max: 63 }), // the output map inspected (one per filter)
};

const UPLOAD = "upload";
const VIEW_KEYS = new Set(["px", "py", "map"]);

/** The preset names in `kernel` ("custom" for the numbers in k). */
export function kernelNames(s) {
  return s.kernel.split(",");
}

/**
 * Which output channels each map of an image response holds: `[{start, count}]`. An RGB
 * map (shape [3, H, W]) holds 3 consecutive channels, a gray or diverging map ([H, W]) one;
 * trace steps name their channel in this order (`out[0]`).
 */
export function mapChannels(maps) {
  let start = 0;
  return maps.map((map) => {
    const count = map.shape.length === 3 ? map.shape[0] : 1;
    const span = { start, count };
    start += count;
    return span;
  });
}

export function mount(root) {
  const store = createStore(SCHEMA);
  const maxKernelSide = Number(document.body.dataset.maxKernelSide || 64);
  const notice = createNotice(byTestId(root, "notice"));
  const stage = byTestId(root, "play-stage");
  const el = (id) => byTestId(root, id);
  const canvases = { input: el("input-canvas"), output: el("output-canvas"), kernel: el("kernel-canvas"), bar: el("colorbar") };
  const overlays = { input: el("input-overlay"), output: el("output-overlay") };
  const tracePanel = el("trace-panel");
  const traceHint = tracePanel.firstElementChild;
  let kernels = []; // presets from the API
  let upload = null; // the uploaded Blob, when src is "upload"
  let result = null; // the last images/conv2d response
  let mapImages = []; // its output maps, decoded
  let lastTrace = null; // {px, py, steps} of the last trace, all channels
  let requestId = 0;
  let traceId = 0;

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

  function selectedMap() {
    const count = result?.output.length ?? 1;
    return Math.min(store.state.map, count - 1);
  }

  function params(extra = {}) {
    const s = store.state;
    const names = kernelNames(s);
    return {
      kernel: s.kernel === "custom" ? s.k : names.length > 1 ? names : names[0],
      bias: s.bias,
      stride: s.stride,
      padding: s.pad === "custom" ? [s.ph, s.pw] : s.pad,
      padding_mode: s.pmode,
      dilation: s.dilation,
      channel_mode: s.cmode,
      ...extra,
    };
  }

  function source() {
    return store.state.src === UPLOAD && upload ? upload : store.state.src;
  }

  const call = (extra, format = "json") =>
    api.imageConv2d(source(), { params: params(extra), color: store.state.color, maxSide: Number(store.state.size), format });

  // ---- compute and draw ------------------------------------------------------------------
  async function compute() {
    const id = ++requestId;
    stage.setAttribute("aria-busy", "true");
    try {
      const response = await call({});
      if (id !== requestId) return;
      const [inputImage, ...outputImages] = await Promise.all([response.input, ...response.output].map((map) => loadImage(map.data_url)));
      if (id !== requestId) return;
      notice.clear();
      delete stage.dataset.stale;
      result = response;
      mapImages = outputImages;
      drawImages(inputImage);
      drawMapStrip();
      drawKernel();
      drawFormula();
      stage.dataset.renders = String(Number(stage.dataset.renders || 0) + 1);
      selectPixel(store.state.px, store.state.py, { fetch: true });
    } catch (error) {
      if (id !== requestId) return;
      notice.error(error.message);
      if (result) stage.dataset.stale = "true"; // the pictures below are for the last valid setting
    } finally {
      if (id === requestId) stage.removeAttribute("aria-busy");
    }
  }
  const computeSoon = debounce(compute, 250);

  function drawImages(inputImage) {
    const targets = [[canvases.output, mapImages[selectedMap()], overlays.output]];
    if (inputImage) targets.push([canvases.input, inputImage, overlays.input]);
    for (const [canvas, image, overlay] of targets) {
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      drawImageExact(canvas.getContext("2d"), image);
      overlay.setAttribute("viewBox", `0 0 ${image.naturalWidth} ${image.naturalHeight}`);
      overlay.setAttribute("preserveAspectRatio", "none");
    }
    // Both panes share one display width so the receptive field lines up by eye.
    const [H, W] = result.geometry.input;
    const [ho, wo] = result.geometry.output;
    canvases.input.style.aspectRatio = `${W} / ${H}`;
    canvases.output.style.aspectRatio = `${wo} / ${ho}`;
    el("input-caption").textContent = `${W}×${H} px, ${store.state.color === "rgb" ? "RGB" : "gray"}, 0 to 1`;
    const m = selectedMap();
    const count = result.output.length;
    el("output-caption").textContent = `${wo}×${ho} px${count > 1 ? `, map ${m + 1} of ${count}: ${result.output[m].label}` : ""}`;
    drawBar(result.output[m]);
  }

  /** Small multiples: every output map with its label; pick one to inspect it above. */
  function drawMapStrip() {
    const strip = el("map-strip");
    const maps = result.output;
    strip.hidden = maps.length < 2;
    if (maps.length < 2) return replaceChildren(strip);
    const m = selectedMap();
    const cards = maps.map((map, n) => {
      const canvas = h("canvas", { class: "pixelated", dataset: { testid: `map-canvas-${n}` } });
      const image = mapImages[n];
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      drawImageExact(canvas.getContext("2d"), image);
      const card = h(
        "button",
        {
          type: "button",
          class: "map-card",
          aria: { pressed: String(n === m), label: `Output map ${n + 1}: ${map.label}` },
          dataset: { testid: `map-${n}`, map: n },
          onClick: () => chooseMap(n),
        },
        canvas,
        h("span", { class: "map-card-label" }, `${n + 1}. ${map.label}`),
      );
      // Hovering a small map inspects the same pixel on it, as on the large one.
      canvas.addEventListener("pointermove", (event) => {
        const [x, y] = canvasPoint(canvas, event);
        const [px, py] = [Math.floor(x), Math.floor(y)];
        if (n === store.state.map && px === store.state.px && py === store.state.py) return;
        chooseMap(n);
        selectPixel(px, py, { fetch: true });
      });
      return card;
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
    for (const card of el("map-strip").querySelectorAll(".map-card")) card.setAttribute("aria-pressed", String(Number(card.dataset.map) === n));
    drawImages(null);
    drawKernel();
    if (lastTrace && lastTrace.px === store.state.px && lastTrace.py === store.state.py) renderTrace(lastTrace.px, lastTrace.py, lastTrace.steps);
  }

  function drawBar(map) {
    const width = Math.max(160, Math.min(320, canvases.output.getBoundingClientRect().width || 240));
    const ctx = sizeCanvas(canvases.bar, width, 36);
    const rgb = map.colormap === "rgb";
    drawColorBar(ctx, { colormap: rgb ? "gray" : map.colormap, vmin: map.vmin, vmax: map.vmax, x: 0, y: 2, width, height: 14, format: (v) => formatNumber(v, 3) });
    canvases.bar.setAttribute("aria-label", `Colour bar: ${map.colormap} from ${formatNumber(map.vmin, 4)} to ${formatNumber(map.vmax, 4)}${rgb ? " in each channel" : ""}`);
    canvases.bar.dataset.colormap = map.colormap;
    canvases.bar.dataset.vmin = String(map.vmin);
    canvases.bar.dataset.vmax = String(map.vmax);
  }

  function drawKernel() {
    const values = kernelValues();
    const rows = values.length;
    const cols = values[0].length;
    const cell = Math.max(4, Math.min(40, Math.floor(200 / Math.max(rows, cols))));
    const layout = gridLayout({ rows, cols, cellSize: cell, gap: cell >= 12 ? 2 : 0, x: 1, y: 1 });
    const ctx = sizeCanvas(canvases.kernel, layout.width + 2, layout.height + 2);
    const scale = maxAbs(values.flat());
    drawGrid(ctx, values, layout, { fill: (v) => diverging(v, scale), text: cell >= 26 ? (v) => formatNumber(v, 2) : null });
    const [dh] = result?.geometry?.dilation ?? [store.state.dilation];
    el("kernel-caption").textContent = `${rows}×${cols}${dh > 1 ? `, dilation ${dh}` : ""}${store.state.bias ? `, bias ${formatNumber(store.state.bias)}` : ""}`;
  }

  function drawFormula() {
    const g = result.geometry;
    const [top, bottom, left, right] = g.padding;
    const axis = (name, n, p0, p1, k, d, s, out) =>
      h(
        "span",
        { class: "formula-line" },
        `${name}′ = ⌊(${name} + pad − dilation·(k − 1) − 1) / stride⌋ + 1 = ⌊(${n} + ${p0 + p1} − ${d}·(${k} − 1) − 1) / ${s}⌋ + 1 = `,
        h("strong", {}, String(out)),
      );
    replaceChildren(
      el("formula"),
      h("span", { class: "formula-title" }, "Output size"),
      axis("H", g.input[0], top, bottom, g.kernel[0], g.dilation[0], g.stride[0], g.output[0]),
      axis("W", g.input[1], left, right, g.kernel[1], g.dilation[1], g.stride[1], g.output[1]),
      h("span", { class: "hint" }, `Padding: top ${top}, bottom ${bottom}, left ${left}, right ${right}.`),
    );
  }

  // ---- inspecting one output pixel ---------------------------------------------------------
  function clearOverlays() {
    replaceChildren(overlays.input);
    replaceChildren(overlays.output);
  }

  function selectPixel(px, py, { fetch = false } = {}) {
    if (!result) return;
    const [ho, wo] = result.geometry.output;
    if (px < 0 || py < 0 || px >= wo || py >= ho) {
      clearOverlays();
      if (store.state.px !== -1) store.set({ px: -1, py: -1 });
      replaceChildren(tracePanel, traceHint);
      return;
    }
    store.set({ px, py });
    drawReceptiveField(px, py);
    if (fetch) traceSoon(px, py);
  }

  function drawReceptiveField(px, py) {
    const g = result.geometry;
    const [top, , left] = g.padding;
    const r0 = py * g.stride[0] - top;
    const c0 = px * g.stride[1] - left;
    const [ekh, ekw] = g.effective_kernel;
    const box = (x, y, w, hgt, cls) => svg("rect", { x, y, width: w, height: hgt, class: cls, "vector-effect": "non-scaling-stroke" });
    const taps = [];
    const [kh, kw] = g.kernel;
    const [dh, dw] = g.dilation;
    if ((dh > 1 || dw > 1) && kh * kw <= 121) {
      for (let a = 0; a < kh; a += 1) for (let b = 0; b < kw; b += 1) taps.push(box(c0 + b * dw, r0 + a * dh, 1, 1, "tap"));
    }
    replaceChildren(overlays.input, box(c0, r0, ekw, ekh, "field-halo"), box(c0, r0, ekw, ekh, "field"), taps);
    replaceChildren(overlays.output, box(px, py, 1, 1, "field-halo"), box(px, py, 1, 1, "field"));
    overlays.input.dataset.field = `${r0},${c0},${ekh},${ekw}`;
  }

  async function fetchTrace(px, py) {
    const id = ++traceId;
    tracePanel.setAttribute("aria-busy", "true");
    try {
      const response = await call({ trace_region: { rows: [py, py + 1], cols: [px, px + 1] } });
      if (id !== traceId) return;
      lastTrace = { px, py, steps: response.steps ?? [] };
      renderTrace(px, py, lastTrace.steps);
      tracePanel.dataset.traces = String(Number(tracePanel.dataset.traces || 0) + 1);
    } catch (error) {
      if (id === traceId) replaceChildren(tracePanel, h("p", { class: "notice notice-error", role: "alert" }, error.message));
    } finally {
      if (id === traceId) tracePanel.removeAttribute("aria-busy");
    }
  }
  const traceSoon = debounce(fetchTrace, 150);

  function miniGrid(matrix, testid, label, { image = false } = {}) {
    const rows = matrix.length;
    const cols = matrix[0].length;
    const cell = Math.max(3, Math.min(34, Math.floor(220 / Math.max(rows, cols))));
    const canvas = h("canvas", { dataset: { testid }, role: "img", aria: { label } });
    const layout = gridLayout({ rows, cols, cellSize: cell, gap: cell >= 10 ? 2 : 0, x: 1, y: 1 });
    const ctx = sizeCanvas(canvas, layout.width + 2, layout.height + 2);
    const scale = maxAbs(matrix.flat());
    const fill = image ? (v) => colorAt("gray", v, 0, 1) : (v) => diverging(v, scale);
    drawGrid(ctx, matrix, layout, { fill, text: cell >= 30 ? (v) => formatNumber(v, 2) : null, fontSize: 11 });
    return h("figure", { class: "mini" }, canvas, h("figcaption", {}, label));
  }

  function renderTrace(px, py, allSteps) {
    // The steps of the selected map only: its channels, in the response's channel order.
    const m = selectedMap();
    const { start, count } = mapChannels(result.output)[m];
    const steps = allSteps.filter((step) => step.out[0] >= start && step.out[0] < start + count);
    const kernel = kernelValues(m);
    const rgbDepthwise = count > 1;
    const blocks = steps.map((step, n) => {
      const C = step.window.length;
      const perChannel = step.window.map((win, ch) =>
        h(
          "div",
          { class: "channel-block" },
          C > 1 ? h("h4", {}, `Channel ${channelName(ch, C)}`) : null,
          h(
            "div",
            { class: "mini-row" },
            miniGrid(win, `trace-window-${n}-${ch}`, "window", { image: true }),
            h("span", { class: "op", aria: { hidden: "true" } }, "×"),
            miniGrid(kernel, `trace-kernel-${n}-${ch}`, "kernel"),
            h("span", { class: "op", aria: { hidden: "true" } }, "="),
            miniGrid(step.products[ch], `trace-products-${n}-${ch}`, "products"),
          ),
          win.length * win[0].length <= 25 ? h("p", { class: "equation" }, equation(win.flat(), kernel.flat())) : null,
        ),
      );
      const products = step.products.flat(2).reduce((a, b) => a + b, 0);
      const o = step.out[0];
      return h(
        "div",
        { class: "trace-step" },
        rgbDepthwise ? h("h4", {}, `Output channel ${channelName(o - start, count)}`) : null,
        perChannel,
        h(
          "p",
          { class: "sum-line" },
          `Sum of ${step.products.flat(2).length} products `,
          h("span", { class: "num" }, formatNumber(products, 4)),
          " + bias ",
          h("span", { class: "num" }, formatNumber(step.bias, 4)),
          " = ",
          h("strong", { class: "result", dataset: { testid: "trace-sum", channel: o } }, formatNumber(step.sum, 4)),
        ),
      );
    });
    replaceChildren(
      tracePanel,
      h("h3", { dataset: { testid: "trace-title" } }, `Output pixel (row ${py}, column ${px})${result.output.length > 1 ? ` of map ${m + 1}, ${result.output[m].label}` : ""}`),
      h("p", { class: "hint" }, "The window is the input under the kernel (outlined on the input, with padding where it hangs over the edge). Each product is window × kernel; their sum plus the bias is the pixel's value."),
      blocks,
    );
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
    if (!result) return;
    const [px, py] = pixelAt(event);
    selectPixel(px, py, { fetch: true });
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
      notice.error(error.message);
    }
  }
  el("download-png").addEventListener("click", () => download("png"));
  el("download-npy").addEventListener("click", () => download("npy"));

  // ---- settings ---------------------------------------------------------------------------------
  const controls = buildControls(root, store, { maxKernelSide, onUpload: useUpload, kernelValues });

  function useUpload(file) {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/")) {
      notice.error(`“${file.name}” is not an image (${file.type}). Choose a PNG, JPEG, GIF, BMP or WebP file.`);
      return;
    }
    upload = file;
    el("upload-name").textContent = `Using ${file.name || "pasted image"}`;
    if (store.state.src === UPLOAD) compute();
    else store.set({ src: UPLOAD, px: -1, py: -1 });
  }

  store.subscribe((state, changed) => {
    controls.sync(state, kernels);
    if ([...changed].every((key) => VIEW_KEYS.has(key) || key === "multi")) return;
    if (changed.has("kernel") || changed.has("k") || changed.has("bias")) drawKernel();
    computeSoon();
  });

  api
    .listKernels()
    .then((list) => {
      kernels = list;
      controls.setKernels(list, store.state);
      controls.sync(store.state, kernels);
      drawKernel();
    })
    .catch((error) => notice.error(`Could not load the preset kernels. ${error.message}`));
  api
    .listSamples()
    .then((list) => controls.setSamples(list, store.state))
    .catch((error) => notice.error(`Could not load the sample images. ${error.message}`));

  window.addEventListener("resize", debounce(() => result && drawBar(result.output[selectedMap()]), 100));
  controls.sync(store.state, kernels);
  compute();
}

// ---- the settings form ----------------------------------------------------------------------

function buildControls(root, store, { maxKernelSide, onUpload, kernelValues }) {
  const el = (id) => byTestId(root, id);
  const samplesBox = el("samples");
  const gallery = el("kernel-gallery");
  const description = el("kernel-description");

  // Image source: samples, file picker, drag and drop, paste.
  const fileInput = el("upload-input");
  fileInput.addEventListener("change", () => onUpload(fileInput.files?.[0]));
  const drop = el("dropzone");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("is-over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("is-over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("is-over");
    onUpload(event.dataTransfer?.files?.[0]);
  });
  document.addEventListener("paste", (event) => {
    const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
    if (file) {
      event.preventDefault();
      onUpload(file);
    }
  });

  for (const name of ["color", "cmode"]) {
    for (const input of root.querySelectorAll(`input[name="${name}"]`)) {
      input.addEventListener("change", () => store.set({ [name]: input.value, px: -1, py: -1 }));
    }
  }
  const maxSide = el("max-side");
  maxSide.addEventListener("change", () => store.set({ size: maxSide.value, px: -1, py: -1 }));

  // Kernel editor: editing switches to "custom".
  const editor = createKernelEditor({
    values: kernelValues(),
    maxSide: maxKernelSide,
    onChange: (values) => store.set({ kernel: "custom", k: values, multi: false, map: 0 }),
  });
  const bias = createNumberField({ label: "Bias", testid: "bias", value: store.state.bias, integer: false, step: 0.1, onChange: (v) => store.set({ bias: v }) });
  replaceChildren(el("kernel-editor-box"), editor.root, bias.root);

  // Sliding: stride, padding, padding mode, dilation.
  const stride = createNumberField({ label: "Stride", testid: "stride", value: store.state.stride, min: 1, max: 64, onChange: (v) => store.set({ stride: v, px: -1, py: -1 }) });
  const dilation = createNumberField({ label: "Dilation", testid: "dilation", value: store.state.dilation, min: 1, max: 64, onChange: (v) => store.set({ dilation: v, px: -1, py: -1 }) });
  const pad = h(
    "select",
    { id: "play-pad", dataset: { testid: "padding" }, onChange: () => store.set({ pad: pad.value, px: -1, py: -1 }) },
    h("option", { value: "valid" }, "valid"),
    h("option", { value: "same" }, "same"),
    h("option", { value: "full" }, "full"),
    h("option", { value: "custom" }, "custom…"),
  );
  const ph = createNumberField({ label: "Rows (top & bottom)", testid: "padding-h", value: store.state.ph, min: 0, max: 256, onChange: (v) => store.set({ ph: v }) });
  const pw = createNumberField({ label: "Columns (left & right)", testid: "padding-w", value: store.state.pw, min: 0, max: 256, onChange: (v) => store.set({ pw: v }) });
  const customPad = h("div", { class: "field-row" }, ph.root, pw.root);
  const pmode = h(
    "select",
    { id: "play-pmode", dataset: { testid: "padding-mode" }, onChange: () => store.set({ pmode: pmode.value }) },
    padModes.map((m) => h("option", { value: m }, m)),
  );
  const labelled = (id, text, control) => h("div", { class: "field" }, h("label", { htmlFor: id }, text), control);
  replaceChildren(
    el("sliding-box"),
    h("div", { class: "field-row" }, stride.root, dilation.root),
    h("div", { class: "field-row" }, labelled("play-pad", "Padding", pad), labelled("play-pmode", "Padding mode", pmode)),
    customPad,
  );

  // Compare mode: the gallery selects several presets of one size, one output map each.
  const compare = el("kernel-compare");
  compare.addEventListener("change", () => {
    const s = store.state;
    if (compare.checked) store.set({ multi: true, kernel: s.kernel === "custom" ? "sobel_x,sobel_y" : s.kernel });
    else store.set({ multi: false, kernel: kernelNames(s)[Math.min(s.map, kernelNames(s).length - 1)], map: 0 });
  });

  function pickPreset(name) {
    const s = store.state;
    if (!s.multi) return store.set({ kernel: name, map: 0 });
    const names = s.kernel === "custom" ? [] : kernelNames(s);
    let next = names;
    if (names.includes(name)) next = names.length > 1 ? names.filter((n) => n !== name) : names;
    else if (names.length < MAX_COMPARE) next = [...names, name];
    store.set({ kernel: next.join(","), map: Math.min(s.map, next.length - 1) });
  }

  let presets = [];
  let kernelButtons = [];
  let sampleButtons = [];
  return {
    setKernels(list) {
      presets = list;
      kernelButtons = list.map((k) =>
        h(
          "button",
          { type: "button", class: "kernel-card", dataset: { testid: `kernel-${k.name}`, name: k.name, size: `${k.values.length}×${k.values[0].length}` }, title: k.description, onClick: () => pickPreset(k.name) },
          h("span", { class: "kernel-card-label" }, k.label),
          h("span", { class: "kernel-card-size" }, `${k.values.length}×${k.values[0].length}`),
        ),
      );
      const custom = h(
        "button",
        { type: "button", class: "kernel-card", dataset: { testid: "kernel-custom", name: "custom" }, title: "Your own numbers", onClick: () => store.set({ kernel: "custom", k: kernelValues() }) },
        h("span", { class: "kernel-card-label" }, "Custom"),
        h("span", { class: "kernel-card-size" }, "edit below"),
      );
      kernelButtons.push(custom);
      replaceChildren(gallery, kernelButtons);
    },
    setSamples(list) {
      sampleButtons = list.map((sample) =>
        h(
          "button",
          { type: "button", class: "sample-card", dataset: { testid: `sample-${sample.name}`, name: sample.name }, title: sample.description, onClick: () => store.set({ src: sample.name, px: -1, py: -1 }) },
          h("img", { src: sample.url, alt: "", width: 56, height: Math.round((56 * sample.height) / sample.width) }),
          h("span", {}, sample.label),
        ),
      );
      replaceChildren(samplesBox, sampleButtons);
      this.sync(store.state);
    },
    sync(s) {
      const names = kernelNames(s);
      const chosen = names.map((name) => presets.find((k) => k.name === name)).filter(Boolean);
      const size = chosen[0] ? `${chosen[0].values.length}×${chosen[0].values[0].length}` : null;
      compare.checked = s.multi;
      for (const button of sampleButtons) button.setAttribute("aria-pressed", String(button.dataset.name === s.src));
      for (const button of kernelButtons) {
        button.setAttribute("aria-pressed", String(names.includes(button.dataset.name)));
        // Compared kernels must share a size; the custom kernel cannot join them.
        const clash = s.multi && (button.dataset.name === "custom" || (size && button.dataset.size !== size && !names.includes(button.dataset.name)));
        button.disabled = Boolean(clash);
        button.title = clash
          ? button.dataset.name === "custom"
            ? "Turn off “compare” to edit your own kernel"
            : `Compared kernels must all be ${size}`
          : (presets.find((k) => k.name === button.dataset.name)?.description ?? "Your own numbers");
      }
      if (s.multi) {
        description.textContent = `Comparing ${chosen.length} kernel${chosen.length === 1 ? "" : "s"}: ${chosen.map((k) => k.label).join(", ")}. Click presets to add or remove them (up to ${MAX_COMPARE}, all ${size ?? "one size"}); each gives one output map.`;
      } else {
        description.textContent = chosen[0]
          ? chosen[0].description
          : s.kernel === "custom"
            ? "Your own kernel: type numbers in the grid; the output updates as you type."
            : "";
      }
      editor.setValues(kernelValues());
      for (const input of root.querySelectorAll('input[name="color"]')) input.checked = input.value === s.color;
      for (const input of root.querySelectorAll('input[name="cmode"]')) {
        input.checked = input.value === s.cmode;
        input.disabled = s.color !== "rgb";
      }
      maxSide.value = s.size;
      bias.setValue(s.bias);
      stride.setValue(s.stride);
      dilation.setValue(s.dilation);
      pad.value = s.pad;
      pmode.value = s.pmode;
      ph.setValue(s.ph);
      pw.setValue(s.pw);
      customPad.hidden = s.pad !== "custom";
    },
  };
}
