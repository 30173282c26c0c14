// One layer of the network builder: a card with its number, type menu, move/remove buttons
// and one control per parameter, generated from the layer type's JSON schema served by
// GET /api/v1/layers (see views/network/schema.js). It reports every valid edit as a new
// layer object `{type, ...params}`; parameters left at their default are dropped.

import { h } from "../../dom.js";
import { fieldKind, fieldLabel, isAdvanced, pairParts, pairValue, parseVector, presetPairs, sameValue } from "../network/schema.js";
import { fullWeights, isRandomKernel, literalWeights } from "../network/pipeline.js";
import { channelTable, weightsEditor } from "../network/weights.js";
import { createMatrixEditor, resizeMatrix } from "./matrix-editor.js";
import { createNumberField } from "./number-field.js";

/** A new layer of `type` (a GET /api/v1/layers entry): its defaults, and a first preset for a required kernel. */
export function newLayer(type, presets) {
  const layer = { type: type.type, ...structuredClone(type.defaults ?? {}) };
  if ("kernel" in (type.schema?.properties ?? {}) && layer.kernel === undefined) layer.kernel = presets[0]?.name ?? [[1]];
  return layer;
}

// A batch norm layer's per-channel parameters, edited together in one table (network/weights.js).
const CHANNEL_PARAMS = { batch_norm: ["weight", "bias", "running_mean", "running_var"] };

/**
 * createLayerCard({layer, index, count, types, presets, maxKernelSide, input, answer, error, onChange, onMove, onRemove})
 * `types`: GET /api/v1/layers' list; `presets`: GET /api/v1/kernels; `input`: this
 * layer's input as the server last computed it ({channels, labels, from}) or null;
 * `answer`: this layer's entry in that answer, or null; `error`: a message for this
 * layer from the last request, shown on the card.
 */
/** Show `error` (the server's reason this layer failed, or "" for none) in a card's message. */
export function showLayerError(message, error) {
  message.textContent = error;
  message.hidden = !error;
}

export function createLayerCard({ layer, index, count, types, presets, maxKernelSide, input = null, answer = null, error = "", onChange, onMove, onRemove }) {
  const testid = (name) => `layer-${index}-${name}`;
  const type = types.find((t) => t.type === layer.type);
  const tool = (text, label, name, disabled, onClick) =>
    h("button", { type: "button", class: "btn btn-small", title: label, aria: { label }, disabled, dataset: { testid: testid(name) }, onClick }, text);
  const typeSelect = h(
    "select",
    {
      id: `field-${testid("type")}`,
      dataset: { testid: testid("type") },
      aria: { label: `Layer ${index + 1} type` },
      onChange: () =>
        onChange(
          newLayer(
            types.find((t) => t.type === typeSelect.value),
            presets,
          ),
        ),
    },
    types.map((t) => h("option", { value: t.type, selected: t.type === layer.type }, t.label)),
    type ? null : h("option", { value: layer.type, selected: true, disabled: true }, `${layer.type} (unknown)`),
  );
  const head = h(
    "div",
    { class: "layer-head" },
    h("span", { class: "layer-title" }, `${index + 1}.`),
    typeSelect,
    h(
      "span",
      { class: "layer-tools" },
      tool("↑", `Move layer ${index + 1} up`, "up", index === 0, () => onMove(index, -1)),
      tool("↓", `Move layer ${index + 1} down`, "down", index === count - 1, () => onMove(index, 1)),
      tool("✕", `Remove layer ${index + 1}`, "remove", count === 1, () => onRemove(index)),
    ),
  );
  const message = h("p", { class: "field-msg field-msg-error layer-error", role: "alert", dataset: { testid: testid("error") } });
  showLayerError(message, error);
  if (!type) {
    return {
      root: h(
        "li",
        { class: "layer-card", dataset: { type: layer.type, testid: `layer-card-${index}` } },
        head,
        h("p", { class: "field-msg field-msg-error" }, `The server has no layer type “${layer.type}”; change or remove this layer.`),
        message,
      ),
    };
  }

  const properties = type.schema?.properties ?? {};
  const defaults = { ...Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, s.default])), ...(type.defaults ?? {}) };
  const valueOf = (name) => (name in layer ? layer[name] : defaults[name]);
  const patch = (name, value) => {
    const next = { ...layer, [name]: value };
    if (name !== "kernel" && sameValue(value, defaults[name])) delete next[name];
    onChange(next);
  };
  const patchMany = (values) => onChange({ ...layer, ...values });
  const ctx = { testid, valueOf, patch, patchMany, presets, maxKernelSide, input, answer };
  const shown = [];
  const advanced = [];
  // Full weights carry their bias per filter in the weights grid; channel_mode does not apply.
  const inGrid = "kernel" in properties && literalWeights(valueOf("kernel")) ? ["bias", "channel_mode"] : [];
  const perChannel = [...(CHANNEL_PARAMS[layer.type] ?? []), ...inGrid];
  for (const [name, schema] of Object.entries(properties)) {
    if (name === "type" || perChannel.includes(name)) continue;
    const kind = fieldKind(name, schema);
    (isAdvanced(kind) ? advanced : shown).push(control(name, schema, kind, ctx));
  }
  if (CHANNEL_PARAMS[layer.type])
    shown.push(
      h("div", { class: "kernel-control" }, channelTable({ valueOf, channels: input?.channels ?? null, answer, testid, patch: patchMany, properties })),
    );
  return {
    root: h(
      "li",
      { class: `layer-card${error ? " layer-card-error" : ""}`, dataset: { type: layer.type, testid: `layer-card-${index}` } },
      head,
      type.description
        ? h("details", { class: "layer-about" }, h("summary", {}, `What this layer does: ${type.label}`), h("p", { class: "hint" }, type.description))
        : null,
      message,
      h("div", { class: "layer-fields" }, shown),
      advanced.length ? h("details", { class: "layer-more" }, h("summary", {}, "More settings"), h("div", { class: "layer-fields" }, advanced)) : null,
    ),
  };
}

// ---- one control per parameter ----------------------------------------------------------------

function control(name, schema, kind, ctx) {
  const label = fieldLabel(name, schema);
  const hint = schema.description ?? "";
  const value = ctx.valueOf(name);
  const id = `field-${ctx.testid(name)}`;
  const select = (options, current, onSelect, testid = ctx.testid(name)) => {
    const node = h(
      "select",
      { id, dataset: { testid }, onChange: () => onSelect(node.value) },
      options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(current) }, text)),
    );
    return node;
  };
  const wrap = (...children) =>
    h("div", { class: "field" }, h("label", { htmlFor: id }, label), ...children, hint ? h("span", { class: "field-msg" }, hint) : null);
  const number = (testid, text, current, opts, onSet) =>
    createNumberField({ label: text, testid, value: current, min: kind.min, max: kind.max, ...opts, onChange: onSet }).root;

  if (kind.nullable && value === null) {
    // A parameter left unset: the API's default applies; a checkbox sets it.
    const box = h("input", {
      type: "checkbox",
      id,
      dataset: { testid: ctx.testid(name) },
      onChange: () => ctx.patch(name, kind.kind === "vector" ? [1] : Number.isFinite(kind.min) ? Math.max(kind.min, 1) : 1),
    });
    return h(
      "div",
      { class: "field" },
      h("label", { class: "check" }, box, `${label}: set a value (unset: the layer's default)`),
      hint ? h("span", { class: "field-msg" }, hint) : null,
    );
  }
  const unset = kind.nullable
    ? h("button", { type: "button", class: "btn btn-small", dataset: { testid: `${ctx.testid(name)}-unset` }, onClick: () => ctx.patch(name, null) }, "unset")
    : null;

  switch (kind.kind) {
    case "kernel":
      return kernelControl(name, label, value, ctx);
    case "enum":
      return wrap(
        select(
          kind.options.map((o) => [o, o]),
          value,
          (v) => ctx.patch(name, v),
        ),
        unset,
      );
    case "boolean": {
      if (name === "training") return trainingSwitch(name, value, ctx);
      const box = h("input", {
        type: "checkbox",
        id,
        checked: Boolean(value),
        dataset: { testid: ctx.testid(name) },
        onChange: () => ctx.patch(name, box.checked),
      });
      return h("div", { class: "field" }, h("label", { class: "check" }, box, label), hint ? h("span", { class: "field-msg" }, hint) : null);
    }
    case "integer":
      return [number(ctx.testid(name), label, value, { hint }, (v) => ctx.patch(name, v)), unset];
    case "number":
      return [number(ctx.testid(name), label, Array.isArray(value) ? value[0] : value, { integer: false, step: 0.1, hint }, (v) => ctx.patch(name, v)), unset];
    case "pair":
      return pairControl(name, label, value, kind, ctx, unset);
    case "choice": {
      const isWord = typeof value === "string";
      const picker = select(
        [["number", "number"], ...kind.options.map((o) => [o, o])],
        isWord ? value : "number",
        (v) => ctx.patch(name, v === "number" ? Math.max(0, kind.min) : v),
        `${ctx.testid(name)}-form`,
      );
      return h("div", { class: "field-pair" }, wrap(picker), isWord ? null : pairControl(name, label, value, kind, ctx, null));
    }
    case "vector": {
      const input = h("input", {
        type: "text",
        id,
        value: Array.isArray(value) ? value.join(", ") : "",
        dataset: { testid: ctx.testid(name) },
        spellcheck: false,
        autocomplete: "off",
      });
      const msg = h("span", { class: "field-msg" }, hint || "Numbers separated by commas; empty: unset.");
      input.addEventListener("change", () => {
        const parsed = parseVector(input.value);
        if (parsed === undefined) {
          msg.textContent = `“${input.value}” is not a list of numbers; kept the previous value.`;
          msg.classList.add("field-msg-error");
          input.setAttribute("aria-invalid", "true");
          return;
        }
        ctx.patch(name, parsed);
      });
      return h("div", { class: "field" }, h("label", { htmlFor: id }, label), input, msg);
    }
    default: {
      const input = h("input", {
        type: "text",
        id,
        value: JSON.stringify(value ?? null),
        dataset: { testid: ctx.testid(name) },
        spellcheck: false,
        autocomplete: "off",
      });
      const msg = h("span", { class: "field-msg" }, hint || "JSON");
      input.addEventListener("change", () => {
        try {
          ctx.patch(name, JSON.parse(input.value));
        } catch {
          msg.textContent = `“${input.value}” is not JSON; kept the previous value.`;
          msg.classList.add("field-msg-error");
        }
      });
      return h("div", { class: "field" }, h("label", { htmlFor: id }, label), input, msg);
    }
  }
}

/** The `training` flag as a train / eval switch (two radio buttons). */
function trainingSwitch(name, value, ctx) {
  const choice = (on, text) =>
    h(
      "label",
      { class: "check" },
      h("input", {
        type: "radio",
        name: ctx.testid(name),
        value: on ? "train" : "eval",
        checked: Boolean(value) === on,
        dataset: { testid: `${ctx.testid(name)}-${on ? "train" : "eval"}` },
        onChange: () => ctx.patch(name, on),
      }),
      text,
    );
  return h(
    "fieldset",
    { class: "field mode-switch", dataset: { testid: ctx.testid(name) } },
    h("legend", {}, "Mode (the API's training flag)"),
    choice(true, "train"),
    choice(false, "eval"),
  );
}

function pairControl(name, label, value, kind, ctx, unset) {
  const [rows, cols] = pairParts(value);
  const set = (r, c) => ctx.patch(name, pairValue(r, c));
  const opts = { min: kind.min, max: kind.max };
  const r = createNumberField({
    label: `${label}, rows`,
    testid: ctx.testid(name),
    value: rows,
    ...opts,
    onChange: (v) => set(v, pairParts(ctx.valueOf(name))[1]),
  });
  const c = createNumberField({
    label: `${label}, columns`,
    testid: `${ctx.testid(name)}-cols`,
    value: cols,
    ...opts,
    onChange: (v) => set(pairParts(ctx.valueOf(name))[0], v),
  });
  return h("div", { class: "field-pair" }, r.root, c.root, unset);
}

// ---- the kernel: a preset, a pair of presets, seeded random weights or typed numbers ----------

function kernelMode(kernel) {
  if (isRandomKernel(kernel)) return "random";
  if (typeof kernel === "string") return kernel;
  if (Array.isArray(kernel) && kernel.every((k) => typeof k === "string")) return kernel.join("+");
  if (Array.isArray(kernel) && Array.isArray(kernel[0]) && !Array.isArray(kernel[0][0])) return "custom";
  return "literal";
}

function kernelControl(name, label, kernel, ctx) {
  const id = `field-${ctx.testid(name)}`;
  const mode = kernelMode(kernel);
  const pairs = presetPairs(ctx.presets).map((names) => [names.join("+"), `${names.join(" + ")} (2 filters)`]);
  const options = [...pairs, ...ctx.presets.map((k) => [k.name, k.label]), ["random", "Random weights (seeded)"], ["custom", "Custom numbers"]];
  options.push(["literal", "Full weights: a kernel per filter and input channel"]);
  if (!options.some(([v]) => v === mode)) options.unshift([mode, `${mode} (unknown preset)`]);
  const side = ctx.maxKernelSide;
  const select = h(
    "select",
    {
      id,
      dataset: { testid: ctx.testid("filters") },
      onChange: () => {
        const v = select.value;
        if (v === "random") ctx.patch(name, { random: { count: 4, size: 3, seed: 1 } });
        else if (v === "literal") {
          const weight = fullWeights(kernel, { channels: ctx.input.channels, mode: ctx.valueOf("channel_mode"), presets: ctx.presets });
          const bias = ctx.valueOf("bias");
          ctx.patchMany({
            kernel: weight,
            bias: Array.isArray(bias) && bias.length === weight.length ? bias : weight.map(() => (Array.isArray(bias) ? 0 : bias)),
          });
        } else if (v === "custom")
          ctx.patch(
            name,
            presetValues(ctx.presets, kernel) ?? [
              [0, -1, 0],
              [-1, 5, -1],
              [0, -1, 0],
            ],
          );
        else ctx.patch(name, v.includes("+") ? v.split("+") : v);
      },
    },
    options.map(([v, text]) => h("option", { value: v, selected: v === mode, disabled: v === "literal" && mode !== v && !ctx.input }, text)),
  );
  const parts = [h("div", { class: "field" }, h("label", { htmlFor: id }, label), select)];
  if (mode === "random") {
    const { count, size, seed } = kernel.random;
    const set = (key) => (v) => ctx.patch(name, { random: { ...kernel.random, [key]: v } });
    parts.push(
      h(
        "div",
        { class: "field-row" },
        createNumberField({ label: "Filters", testid: ctx.testid("count"), value: count, min: 1, max: 16, onChange: set("count") }).root,
        createNumberField({ label: "Size", testid: ctx.testid("size"), value: size, min: 1, max: side, onChange: set("size") }).root,
        createNumberField({ label: "Seed", testid: ctx.testid("seed"), value: seed, min: 0, max: 99999, onChange: set("seed") }).root,
      ),
    );
  } else if (mode === "custom") {
    const reason = `The server accepts kernels up to ${side}×${side} (GET /api/v1/limits).`;
    const rows = createNumberField({
      label: "Rows",
      testid: ctx.testid("kernel-rows"),
      value: kernel.length,
      min: 1,
      max: side,
      onChange: (n) => ctx.patch(name, resizeMatrix(kernel, n, kernel[0].length)),
    });
    const cols = createNumberField({
      label: "Columns",
      testid: ctx.testid("kernel-cols"),
      value: kernel[0].length,
      min: 1,
      max: side,
      onChange: (n) => ctx.patch(name, resizeMatrix(kernel, kernel.length, n)),
    });
    rows.setBounds({ min: 1, max: side, maxReason: reason });
    cols.setBounds({ min: 1, max: side, maxReason: reason });
    const editor = createMatrixEditor({ label: "Kernel", testid: ctx.testid("kernel"), values: kernel, onChange: (next) => ctx.patch(name, next) });
    parts.push(h("div", { class: "field-row" }, rows.root, cols.root), editor.root);
  } else if (mode === "literal") {
    parts.push(
      weightsEditor({
        weight: literalWeights(kernel),
        bias: ctx.valueOf("bias"),
        groups: ctx.valueOf("groups") ?? 1,
        input: ctx.input,
        outLabels: ctx.answer?.maps?.map((m) => m.label) ?? [],
        maxKernelSide: side,
        testid: ctx.testid,
        patch: ctx.patchMany,
      }),
    );
  }
  return h("div", { class: "kernel-control" }, parts);
}

function presetValues(presets, kernel) {
  const name = typeof kernel === "string" ? kernel : Array.isArray(kernel) && typeof kernel[0] === "string" ? kernel[0] : null;
  return presets.find((k) => k.name === name)?.values.map((row) => row.slice()) ?? null;
}
