// The playground's settings form: image source, kernel gallery and editor, sliding
// settings. It writes the store; the view (../playground.js) listens to it.

import { byTestId, h, replaceChildren } from "../../dom.js";
import { createKernelEditor, createTrueConvSwitch } from "../widgets/kernel-editor.js";
import { createNumberField } from "../widgets/number-field.js";
import { fillSelect } from "../shared.js";
import { MAX_COMPARE, kernelNames } from "./state.js";

export function buildControls(root, store, { onUpload, kernelValues }) {
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
    onChange: (values) => store.set({ kernel: "custom", k: values, multi: false, map: 0 }),
  });
  const bias = createNumberField({
    label: "Bias",
    testid: "bias",
    value: store.state.bias,
    integer: false,
    step: 0.1,
    onChange: (v) => store.set({ bias: v }),
  });
  const trueConv = createTrueConvSwitch({ id: "play-true-conv", onChange: (on) => store.set({ flip: on }) });
  replaceChildren(el("kernel-editor-box"), editor.root, bias.root, trueConv.root);

  // Sliding: stride, padding, padding mode, dilation.
  const stride = createNumberField({
    label: "Stride",
    testid: "stride",
    value: store.state.stride,
    min: 1,
    max: 64,
    onChange: (v) => store.set({ stride: v, px: -1, py: -1 }),
  });
  const dilation = createNumberField({
    label: "Dilation",
    testid: "dilation",
    value: store.state.dilation,
    min: 1,
    max: 64,
    onChange: (v) => store.set({ dilation: v, px: -1, py: -1 }),
  });
  // The padding words and modes are the conv2d schema's (GET /api/v1/layers, see setLayers).
  const pad = h("select", {
    id: "play-pad",
    dataset: { testid: "padding" },
    aria: { describedby: "play-pad-msg" },
    onChange: () => store.set({ pad: pad.value, px: -1, py: -1 }),
  });
  const padMsg = message("play-pad-msg", "padding-msg");
  const ph = createNumberField({
    label: "Rows (top & bottom)",
    testid: "padding-h",
    value: store.state.ph,
    min: 0,
    max: 256,
    onChange: (v) => store.set({ ph: v }),
  });
  const pw = createNumberField({
    label: "Columns (left & right)",
    testid: "padding-w",
    value: store.state.pw,
    min: 0,
    max: 256,
    onChange: (v) => store.set({ pw: v }),
  });
  const customPad = h("div", { class: "field-row" }, ph.root, pw.root);
  const pmode = h("select", {
    id: "play-pmode",
    dataset: { testid: "padding-mode" },
    aria: { describedby: "play-pmode-msg" },
    onChange: () => store.set({ pmode: pmode.value }),
  });
  const pmodeMsg = message("play-pmode-msg", "padding-mode-msg");
  let padWords = [];
  let padModes = [];
  const labelled = (id, text, control, msg) => h("div", { class: "field" }, h("label", { htmlFor: id }, text), control, msg.root);
  replaceChildren(
    el("sliding-box"),
    h("div", { class: "field-row" }, stride.root, dilation.root),
    h("div", { class: "field-row" }, labelled("play-pad", "Padding", pad, padMsg), labelled("play-pmode", "Padding mode", pmode, pmodeMsg)),
    customPad,
  );
  const imageMsg = message("play-image-msg", "image-msg");
  samplesBox.closest("fieldset").append(imageMsg.root);

  /** The message next to each setting: where a server error about it is shown. */
  const messages = {
    kernel: editor,
    k: editor,
    flip: editor,
    multi: editor,
    bias,
    stride,
    dilation,
    pad: padMsg,
    padding: padMsg,
    ph,
    pw,
    pmode: pmodeMsg,
    padding_mode: pmodeMsg,
    src: imageMsg,
    size: imageMsg,
    max_side: imageMsg,
    color: imageMsg,
    cmode: imageMsg,
    channel_mode: imageMsg,
  };
  let shown = [];

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
    /**
     * Show a server error next to the settings it concerns: `keys` (the setting changed last,
     * or the request fields the error names). Returns the first node shown, or null.
     */
    showError(keys, text) {
      this.clearErrors();
      shown = [...new Set(keys.map((key) => messages[key]).filter(Boolean))];
      for (const target of shown) target.showError(text);
      return shown[0]?.root ?? null;
    },
    clearErrors() {
      for (const target of shown) target.clearError();
      shown = [];
    },
    /** The padding words and modes of the conv2d schema (GET /api/v1/layers). */
    setChoices({ words, modes }) {
      padWords = words;
      padModes = modes;
      this.sync(store.state);
    },
    /** Bounds from GET /api/v1/limits. */
    setLimits(limits) {
      if (limits.max_kernel_side) editor.setMaxSide(limits.max_kernel_side.value);
    },
    setKernels(list) {
      presets = list;
      kernelButtons = list.map((k) =>
        h(
          "button",
          {
            type: "button",
            class: "kernel-card",
            dataset: { testid: `kernel-${k.name}`, name: k.name, size: `${k.values.length}×${k.values[0].length}` },
            title: k.description,
            onClick: () => pickPreset(k.name),
          },
          h("span", { class: "kernel-card-label" }, k.label),
          h("span", { class: "kernel-card-size" }, `${k.values.length}×${k.values[0].length}`),
        ),
      );
      const custom = h(
        "button",
        {
          type: "button",
          class: "kernel-card",
          dataset: { testid: "kernel-custom", name: "custom" },
          title: "Your own numbers",
          onClick: () => store.set({ kernel: "custom", k: kernelValues() }),
        },
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
          {
            type: "button",
            class: "sample-card",
            dataset: { testid: `sample-${sample.name}`, name: sample.name },
            title: sample.description,
            onClick: () => store.set({ src: sample.name, px: -1, py: -1 }),
          },
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
      trueConv.setChecked(s.flip);
      stride.setValue(s.stride);
      dilation.setValue(s.dilation);
      fillSelect(pad, padWords, s.pad, { extra: [["custom", "custom…"]] });
      fillSelect(pmode, padModes, s.pmode);
      ph.setValue(s.ph);
      pw.setValue(s.pw);
      customPad.hidden = s.pad !== "custom";
    },
  };
}

/** A message line under a select: {root, showError(text), clearError()}. */
function message(id, testid) {
  const root = h("span", { id, class: "field-msg", dataset: { testid } });
  const show = (text) => {
    root.textContent = text;
    root.classList.toggle("field-msg-error", Boolean(text));
  };
  return { root, showError: show, clearError: () => show("") };
}
