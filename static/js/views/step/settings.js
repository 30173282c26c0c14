// /step: the settings form and the image-crop picker. They write the store; the view
// (../step.js) listens to it. Which settings can be computed is the server's to say: an
// error comes back next to the control that was changed (`showError`).

import { h, replaceChildren, s as svg } from "../../dom.js";
import { maxAbs } from "../../render/colors.js";
import { createKernelActions, createTrueConvSwitch } from "../widgets/kernel-editor.js";
import { createMatrixEditor, negateMatrix, resizeMatrix } from "../widgets/matrix-editor.js";
import { createNumberField } from "../widgets/number-field.js";
import { channelName, createSpecFields, fillSelect, syncSpecFields } from "../shared.js";
import { CHANNELS, EXAMPLES, EXAMPLE_KEYS, FILTERS, IMAGE, IMAGE_SIZES, LIMITS, TRANSPOSED, UPLOAD, clampCrop } from "./state.js";

// ---- the settings form --------------------------------------------------------------

export function buildSettings(container, store, { onUpload, imageShape }) {
  const isImage = () => store.state.ex === IMAGE;
  // Editing the numbers of the input makes it "custom"; other settings keep an image crop.
  let edited = null; // the control changed last: a server error is shown next to it
  const set = (patch, control = null) => {
    edited = control;
    store.set({ ex: isImage() && !("x" in patch && !("crop" in patch)) ? IMAGE : "custom", ...patch });
  };
  const example = h(
    "select",
    {
      id: "step-example",
      dataset: { testid: "example" },
      onChange: () => {
        const name = example.value;
        if (name === "custom") return;
        if (name === IMAGE) {
          store.set({ ex: IMAGE, step: 0 });
          return;
        }
        const e = EXAMPLES[name];
        store.set({ ex: name, ...Object.fromEntries(EXAMPLE_KEYS.map((key) => [key, e[key]])), flip: false, step: 0 });
      },
    },
    Object.entries(EXAMPLES).map(([name, e]) => h("option", { value: name }, e.label)),
    h("option", { value: IMAGE }, "A crop of an image (below)"),
    h("option", { value: "custom" }, "Custom (your edits)"),
  );

  // A transposed convolution here has one output channel: switching keeps the first filter.
  const op = h(
    "select",
    {
      id: "step-op",
      dataset: { testid: "op" },
      onChange: () => {
        const s = store.state;
        const transposed = op.value === TRANSPOSED;
        set({ op: op.value, k: transposed ? s.k.slice(0, 1) : s.k, bias: transposed ? s.bias.slice(0, 1) : s.bias, flip: false, step: 0 }, "op");
      },
    },
    h("option", { value: "conv" }, "Convolution"),
    h("option", { value: TRANSPOSED }, "Transposed convolution"),
  );

  const channels = h(
    "select",
    {
      id: "step-channels",
      dataset: { testid: "channels" },
      onChange: () => {
        const C = Number(channels.value);
        const s = store.state;
        const grow = (stack) => Array.from({ length: C }, (_, ch) => structuredClone(stack[ch] ?? stack[0]));
        const k = s.k.map(grow);
        if (isImage()) set({ color: C === 3 ? "rgb" : "gray", k, step: 0 });
        else set({ x: grow(s.x), k, step: 0 });
      },
    },
    CHANNELS.map((C) => h("option", { value: String(C) }, C === 1 ? "1 (one grid)" : C === 3 ? "3 (RGB)" : String(C))),
  );

  // More filters: each new one is the previous filter negated (so it finds the opposite edge).
  const filters = h(
    "select",
    {
      id: "step-filters",
      dataset: { testid: "filters" },
      onChange: () => {
        const O = Number(filters.value);
        const s = store.state;
        const k = Array.from({ length: O }, (_, o) => structuredClone(s.k[o] ?? s.k[s.k.length - 1].map(negateMatrix)));
        const bias = Array.from({ length: O }, (_, o) => s.bias[o] ?? s.bias[0] ?? 0);
        set({ k, bias, step: 0 }, "filters");
      },
    },
    FILTERS.map((O) => h("option", { value: String(O) }, String(O))),
  );
  const biasFields = h("div", { class: "field-row", dataset: { testid: "bias-fields" } });
  let biasInputs = [];
  function buildBiasFields() {
    const s = store.state;
    biasInputs = s.k.map((_, o) =>
      createNumberField({
        label: s.k.length > 1 ? `Bias b${o}` : "Bias",
        testid: o ? `bias-${o}` : "bias",
        value: s.bias[o] ?? s.bias[0] ?? 0,
        integer: false,
        step: 0.1,
        onChange: (v) => set({ bias: store.state.k.map((__, n) => (n === o ? v : (store.state.bias[n] ?? store.state.bias[0] ?? 0))) }, `bias${o}`),
      }),
    );
    replaceChildren(
      biasFields,
      biasInputs.map((f) => f.root),
    );
  }

  // The padding modes are the conv2d schema's (GET /api/v1/layers, see setPaddingModes).
  const mode = h("select", { id: "step-mode", dataset: { testid: "padding-mode" }, onChange: () => set({ mode: mode.value, step: 0 }, "mode") });
  let padModes = [];
  const modeMsg = h("span", { class: "field-msg", dataset: { testid: "padding-mode-msg" } });

  const spec = {
    rows: {
      label: "Input rows",
      get: (s) => s.x[0].length,
      patch: (s, v) => ({ x: s.x.map((m) => resizeMatrix(m, v, m[0].length)), ...cropPatch(s, { rows: v }) }),
    },
    cols: {
      label: "Input columns",
      get: (s) => s.x[0][0].length,
      patch: (s, v) => ({ x: s.x.map((m) => resizeMatrix(m, m.length, v)), ...cropPatch(s, { cols: v }) }),
    },
    kh: { label: "Kernel rows", get: (s) => s.k[0][0].length, patch: (s, v) => ({ k: s.k.map((f) => f.map((m) => resizeMatrix(m, v, m[0].length))) }) },
    kw: { label: "Kernel columns", get: (s) => s.k[0][0][0].length, patch: (s, v) => ({ k: s.k.map((f) => f.map((m) => resizeMatrix(m, m.length, v))) }) },
    stride: { label: "Stride", get: (s) => s.stride, patch: (s, v) => ({ stride: v }) },
    padding: { label: "Padding", get: (s) => s.padding, patch: (s, v) => ({ padding: v }) },
    dilation: { label: "Dilation", get: (s) => s.dilation, patch: (s, v) => ({ dilation: v }) },
    outpad: { label: "Output padding", get: (s) => s.outpad, patch: (s, v) => ({ outpad: v }) },
  };
  const fields = createSpecFields(spec, { store, limits: LIMITS, onChange: (patch, key) => set({ ...patch, step: 0 }, key) });
  // Kernel actions apply to every slice of every filter; "true convolution" flips what is sent.
  const actions = createKernelActions((apply) => set({ k: store.state.k.map((f) => f.map(apply)), step: 0 }, "k0-0"));
  const trueConv = createTrueConvSwitch({ id: "step-true-conv", onChange: (on) => store.set({ flip: on, step: 0 }) });

  const inputEditors = h("div", { class: "editors", dataset: { testid: "input-editors" } });
  const kernelEditors = h("div", { class: "editors", dataset: { testid: "kernel-editors" } });
  let editors = { x: [], k: [] };

  function buildEditors() {
    const s = store.state;
    const C = s.x.length;
    editors.x = s.x.map((m, ch) =>
      createMatrixEditor({
        label: C > 1 ? `Input channel ${channelName(ch, C)}` : "Input",
        testid: `input-editor-${ch}`,
        values: m,
        scale: () => maxAbs(store.state.x.flat(2)),
        onChange: (values) => set({ x: store.state.x.map((old, i) => (i === ch ? values : old)) }, `x${ch}`),
      }),
    );
    const O = s.k.length;
    editors.k = s.k.map((filter, o) =>
      filter.map((m, ch) =>
        createMatrixEditor({
          label: O > 1 ? `Filter W${o}${C > 1 ? `, channel ${channelName(ch, C)}` : ""}` : C > 1 ? `Kernel channel ${channelName(ch, C)}` : "Kernel",
          testid: O > 1 ? `kernel-editor-${o}-${ch}` : `kernel-editor-${ch}`,
          values: m,
          scale: () => maxAbs(store.state.k.flat(3)),
          onChange: (values) => set({ k: store.state.k.map((f, n) => (n === o ? f.map((old, i) => (i === ch ? values : old)) : f)) }, `k${o}-${ch}`),
        }),
      ),
    );
    const titled = (list, name) =>
      list.map((e, ch) => h("div", { class: "editor-block" }, C > 1 ? h("h4", {}, `${name} ${channelName(ch, C)}`) : null, e.root));
    replaceChildren(inputEditors, titled(editors.x, "Channel"));
    replaceChildren(
      kernelEditors,
      editors.k.map((list, o) => (O > 1 ? h("div", { class: "filter-block" }, h("h4", {}, `Filter W${o}`), titled(list, "Channel")) : titled(list, "Channel"))),
    );
    buildBiasFields();
  }

  /** In image mode the input's size is the crop's size (the crop's values follow). */
  function cropPatch(s, { rows = s.crop[2], cols = s.crop[3] }) {
    if (s.ex !== IMAGE) return {};
    const shape = imageShape();
    const crop = [s.crop[0], s.crop[1], rows, cols];
    return { crop: shape ? clampCrop(crop, shape[1], shape[2]) : crop };
  }

  const labelled = (id, text, control, extra = null) => h("div", { class: "field" }, h("label", { htmlFor: id }, text), control, extra);
  const picker = buildCropPicker(store, { onUpload, imageShape });
  const filtersField = labelled("step-filters", "Filters", filters);
  const trueConvRow = h("div", {}, trueConv.root);
  const modeField = labelled("step-mode", "Padding mode", mode, modeMsg);

  replaceChildren(
    container,
    labelled("step-example", "Example", example),
    labelled("step-op", "Operation", op),
    h("div", { class: "field-row" }, labelled("step-channels", "Input channels", channels), filtersField),
    biasFields,
    picker.root,
    h("fieldset", {}, h("legend", {}, "Input"), h("div", { class: "field-row" }, fields.rows.root, fields.cols.root), inputEditors),
    h("fieldset", {}, h("legend", {}, "Kernel"), h("div", { class: "field-row" }, fields.kh.root, fields.kw.root), kernelEditors, actions, trueConvRow),
    h(
      "fieldset",
      {},
      h("legend", {}, "Sliding"),
      h("div", { class: "field-row" }, fields.stride.root, fields.padding.root, fields.dilation.root, fields.outpad.root),
      modeField,
    ),
  );

  /** The message next to the control changed last (the settings' own message if none). */
  function messageFor(control) {
    if (control in fields) return fields[control];
    if (control?.startsWith("bias")) return biasInputs[Number(control.slice(4))] ?? null;
    if (control === "mode") return { root: modeMsg, showError: (text) => showModeMsg(text), clearError: () => showModeMsg("") };
    const [o, ch] = control?.startsWith("k") ? control.slice(1).split("-").map(Number) : [];
    const editor = control?.startsWith("x") ? editors.x[Number(control.slice(1))] : control?.startsWith("k") ? editors.k[o]?.[ch] : null;
    return editor ?? null;
  }
  function showModeMsg(text) {
    modeMsg.textContent = text;
    modeMsg.classList.toggle("field-msg-error", Boolean(text));
  }
  let shownError = null;

  let shape = "";
  return {
    /** Show a server error next to the control the person changed last; returns that node. */
    showError(message) {
      this.clearError();
      shownError = messageFor(edited);
      shownError?.showError(message);
      return shownError?.root ?? null;
    },
    clearError() {
      shownError?.clearError();
      shownError = null;
    },
    setSamples: picker.setSamples,
    /** The padding modes the server offers (the conv2d schema of GET /api/v1/layers). */
    setPaddingModes(modes) {
      padModes = modes;
      fillSelect(mode, padModes, store.state.mode);
    },
    setUpload: (file) => picker.setUpload(file),
    showUploadError: (text) => picker.showUploadError(text),
    clearUploadError: () => picker.clearUploadError(),
    showImage: picker.showImage,
    sync(s) {
      picker.sync(s);
      example.value = s.ex;
      op.value = s.op;
      ensureOption(channels, s.x.length);
      ensureOption(filters, s.k.length);
      fillSelect(mode, padModes, s.mode);
      trueConv.setChecked(s.flip);
      syncSpecFields(fields, spec, s);
      const transposed = s.op === TRANSPOSED;
      filtersField.hidden = transposed;
      trueConvRow.hidden = transposed;
      modeField.hidden = transposed;
      fields.outpad.root.hidden = !transposed;
      const nextShape = `${s.x.length}/${s.x[0].length}x${s.x[0][0].length}/${s.k.length}x${s.k[0].length}x${s.k[0][0].length}x${s.k[0][0][0].length}`;
      if (nextShape !== shape) {
        shape = nextShape;
        buildEditors();
      } else {
        s.x.forEach((m, ch) => editors.x[ch].setValues(m));
        s.k.forEach((f, o) => f.forEach((m, ch) => editors.k[o][ch].setValues(m)));
        biasInputs.forEach((f, o) => f.setValue(s.bias[o] ?? s.bias[0] ?? 0));
      }
    },
  };
}

/** Select `value` in `select`, adding it as an option first if a link asked for another count. */
function ensureOption(select, value) {
  if (![...select.options].some((o) => o.value === String(value))) select.append(h("option", { value: String(value) }, String(value)));
  select.value = String(value);
}

// ---- the image crop picker ----------------------------------------------------------

/** Sample or upload, the scale, and a thumbnail on which a click places the crop. */
function buildCropPicker(store, { onUpload, imageShape }) {
  const isImage = () => store.state.ex === IMAGE;
  const setCrop = (crop) => store.set({ ex: IMAGE, crop, step: 0 });
  let samples = [];
  let uploadUrl = null;

  const sample = h("select", {
    id: "step-src",
    dataset: { testid: "crop-sample" },
    onChange: () => store.set({ ex: IMAGE, src: sample.value, step: 0 }),
  });
  const fileInput = h("input", {
    id: "step-upload",
    class: "sr-only",
    type: "file",
    accept: "image/png,image/jpeg,image/gif,image/bmp,image/webp",
    dataset: { testid: "crop-upload" },
    onChange: () => onUpload(fileInput.files?.[0]),
  });
  const uploadName = h("span", { class: "upload-name", dataset: { testid: "crop-upload-name" } });
  const uploadMsg = h("p", { class: "field-msg field-msg-error", role: "alert", hidden: true, dataset: { testid: "crop-upload-msg" } });
  const size = h(
    "select",
    { id: "step-size", dataset: { testid: "crop-size" }, onChange: () => store.set({ ex: IMAGE, size: size.value, step: 0 }) },
    IMAGE_SIZES.map((n) => h("option", { value: n }, `${n} px`)),
  );
  const picture = h("img", { alt: "", dataset: { testid: "crop-image" }, draggable: "false" });
  const overlay = svg("svg", { class: "overlay", "aria-hidden": "true", preserveAspectRatio: "none" });
  const info = h("p", { id: "step-crop-info", class: "hint crop-info", dataset: { testid: "crop-info" } });
  const frame = h(
    "div",
    {
      class: "crop-picker",
      tabIndex: 0,
      role: "group",
      dataset: { testid: "crop-picker" },
      aria: { label: "Image: click a spot to step through the pixels there; arrow keys move the crop", describedby: "step-crop-info" },
    },
    picture,
    overlay,
  );
  const use = h(
    "button",
    { type: "button", class: "btn", dataset: { testid: "crop-use" }, onClick: () => store.set({ ex: IMAGE, step: 0 }) },
    "Use a crop of an image",
  );

  const position = (label, testid, index) =>
    createNumberField({
      label,
      testid,
      value: store.state.crop[index],
      min: 0,
      onChange: (v) => setCrop(store.state.crop.map((old, i) => (i === index ? v : old))),
    });
  const top = position("Top row", "crop-top", 0);
  const left = position("Left column", "crop-left", 1);

  frame.addEventListener("click", (event) => {
    const shape = imageShape();
    if (!shape) return;
    const box = picture.getBoundingClientRect();
    const [, H, W] = shape;
    const row = Math.floor(((event.clientY - box.top) / box.height) * H);
    const col = Math.floor(((event.clientX - box.left) / box.width) * W);
    const [, , rows, cols] = store.state.crop;
    setCrop(clampCrop([row - Math.floor(rows / 2), col - Math.floor(cols / 2), rows, cols], H, W));
  });
  frame.addEventListener("keydown", (event) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    const shape = imageShape();
    if (!move || !shape) return;
    event.preventDefault();
    event.stopPropagation(); // the arrows move the crop here, not the player
    const [r0, c0, rows, cols] = store.state.crop;
    const by = event.shiftKey ? Math.max(rows, cols) : 1;
    setCrop(clampCrop([r0 + move[0] * by, c0 + move[1] * by, rows, cols], shape[1], shape[2]));
  });

  // The picture and its controls show in image mode; otherwise one button offers it.
  const details = h(
    "div",
    { class: "crop-details" },
    h("p", { class: "hint" }, "Click a spot on the picture to step through its pixel values (0 = black, 1 = white)."),
    h(
      "div",
      { class: "field-row" },
      h("div", { class: "field" }, h("label", { htmlFor: "step-src" }, "Image"), sample),
      h("div", { class: "field" }, h("label", { htmlFor: "step-size" }, "Scaled to"), size),
    ),
    h("div", { class: "crop-upload" }, h("label", { class: "btn", htmlFor: "step-upload" }, "Upload an image…"), fileInput, uploadName, uploadMsg),
    frame,
    info,
    h("div", { class: "field-row" }, top.root, left.root),
  );
  const root = h(
    "fieldset",
    { class: "crop-fieldset" },
    h("legend", {}, "From an image"),
    h("p", { class: "hint crop-offer" }, "Step through a few real pixels of a photo or sample."),
    use,
    details,
  );

  function drawCrop() {
    const shape = imageShape();
    if (!shape) return replaceChildren(overlay);
    const [, H, W] = shape;
    const [r0, c0, rows, cols] = store.state.crop;
    overlay.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const rect = (cls) => svg("rect", { x: c0, y: r0, width: cols, height: rows, class: cls, "vector-effect": "non-scaling-stroke" });
    replaceChildren(overlay, rect("field-halo"), rect("field"));
    info.textContent = `Crop: rows ${r0}–${r0 + rows - 1}, columns ${c0}–${c0 + cols - 1} of the ${W}×${H} px image${isImage() ? "" : " (not in use)"}.`;
    top.setBounds({ min: 0, max: H - rows, maxReason: `The crop's ${rows} rows must fit in the image's ${H}.` });
    left.setBounds({ min: 0, max: W - cols, maxReason: `The crop's ${cols} columns must fit in the image's ${W}.` });
  }

  function showPicture(s) {
    const url = s.src === UPLOAD ? uploadUrl : samples.find((item) => item.name === s.src)?.url;
    if (url && picture.getAttribute("src") !== url) picture.src = url;
    picture.alt = s.src === UPLOAD ? "The uploaded image" : `Sample image: ${samples.find((item) => item.name === s.src)?.label ?? s.src}`;
  }

  return {
    root,
    setSamples(list) {
      samples = list;
      replaceChildren(
        sample,
        list.map((item) => h("option", { value: item.name }, item.label)),
        uploadUrl ? h("option", { value: UPLOAD }, "Your upload") : null,
      );
      sample.value = store.state.src;
      showPicture(store.state);
    },
    /** Use `file` as the upload, or forget the upload (null). */
    setUpload(file) {
      if (uploadUrl) URL.revokeObjectURL(uploadUrl);
      uploadUrl = file ? URL.createObjectURL(file) : null;
      fileInput.value = "";
      uploadName.textContent = file ? `Using ${file.name || "pasted image"}` : "";
      this.setSamples(samples);
    },
    /** Say why an upload failed, beside the upload button; returns the message node. */
    showUploadError(text) {
      uploadMsg.textContent = text;
      uploadMsg.hidden = false;
      return uploadMsg;
    },
    clearUploadError() {
      uploadMsg.hidden = true;
      uploadMsg.textContent = "";
    },
    showImage: drawCrop,
    sync(s) {
      if ([...sample.options].some((o) => o.value === s.src)) sample.value = s.src;
      size.value = s.size;
      top.setValue(s.crop[0]);
      left.setValue(s.crop[1]);
      use.hidden = isImage();
      details.hidden = !isImage();
      root.querySelector(".crop-offer").hidden = isImage();
      frame.classList.toggle("is-active", isImage());
      showPicture(s);
      drawCrop();
    },
  };
}
