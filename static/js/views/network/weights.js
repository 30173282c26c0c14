// Per-layer editors of /network's cards that need more than one control per parameter:
//   weightsEditor  a conv layer's full [out][in][kh][kw] weight: a grid of small kernel
//                  editors (rows: output filters, columns: input channels), a bias per
//                  filter, add/remove filter. The input channel count is the server's (the
//                  previous layer's output shape in the last answer), never counted here.
//   channelTable   a batch norm layer's per-channel numbers: weight (γ) and bias (β),
//                  running mean and variance, and what the server used and updated.
// They draw what they are given and report edits through `patch(name, value)`.

import { h } from "../../dom.js";
import { formatNumber } from "../../render/format.js";
import { createKernelActions } from "../widgets/kernel-editor.js";
import { createMatrixEditor } from "../widgets/matrix-editor.js";
import { createNumberField } from "../widgets/number-field.js";
import { biasList, fitWeights, resizeWeights } from "./pipeline.js";

const MAX_FILTERS = 16; // the page's editing bound, as for random weights; the server checks its own limits

/**
 * weightsEditor({weight, bias, groups, input, outLabels, maxKernelSide, testid, patch})
 * `input`: {channels, labels, from} from the server's last answer, or null before one.
 */
export function weightsEditor({ weight, bias, groups = 1, input, outLabels = [], maxKernelSide, testid, patch }) {
  const [O, C, kh, kw] = [weight.length, weight[0].length, weight[0][0].length, weight[0][0][0].length];
  const biases = biasList(bias, O);
  const setWeight = (next, nextBias = biases) => patch({ kernel: next, bias: nextBias });
  const side = (label, name, value, resize) => {
    const field = createNumberField({ label, testid: testid(name), value, min: 1, max: maxKernelSide, onChange: resize });
    field.setBounds({ min: 1, max: maxKernelSide, maxReason: `The server accepts kernels up to ${maxKernelSide}×${maxKernelSide} (GET /api/v1/limits).` });
    return field.root;
  };
  const expected = input ? input.channels / groups : null;
  const source = input
    ? h(
        "p",
        { class: "hint", dataset: { testid: testid("in-channels") } },
        `Input: ${input.channels} channel${input.channels === 1 ? "" : "s"} (${input.from}, as the server computed it)${groups > 1 ? `, ${groups} groups: ${expected} per filter` : ""}. Weights: ${O} filter${O === 1 ? "" : "s"} × ${C} input channel${C === 1 ? "" : "s"} × ${kh}×${kw}.`,
      )
    : h("p", { class: "hint" }, `Weights: ${O} filter${O === 1 ? "" : "s"} × ${C} input channel${C === 1 ? "" : "s"} × ${kh}×${kw}.`);
  const mismatch =
    expected !== null && Number.isInteger(expected) && expected !== C
      ? h(
          "p",
          { class: "field-msg field-msg-error", dataset: { testid: testid("channel-mismatch") } },
          `Each filter has ${C} input channel${C === 1 ? "" : "s"} but this layer's input has ${expected}. `,
          h(
            "button",
            { type: "button", class: "btn btn-small", dataset: { testid: testid("fit-channels") }, onClick: () => setWeight(fitWeights(weight, expected)) },
            `Fit to ${expected} (cut, or add zero kernels)`,
          ),
        )
      : null;
  const channelName = (c) => input?.labels?.[c] || "";
  // One block per filter (a row of the weight), its kernels side by side (one per input
  // channel, wrapping on a narrow screen), its bias and a remove button in its head.
  const rows = weight.map((filter, o) =>
    h(
      "div",
      { class: "filter-block", role: "group", aria: { label: `Filter ${o}` }, dataset: { testid: testid(`filter-${o}`) } },
      h(
        "div",
        { class: "filter-head" },
        h("strong", {}, `Filter ${o}`),
        outLabels[o] && outLabels[o] !== `filter ${o}` ? h("span", { class: "hint" }, outLabels[o]) : null,
        createNumberField({
          label: "bias",
          testid: testid(`bias-${o}`),
          value: biases[o],
          integer: false,
          step: 0.1,
          onChange: (v) =>
            setWeight(
              weight,
              biases.map((b, n) => (n === o ? v : b)),
            ),
        }).root,
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small",
            title: `Remove filter ${o}`,
            aria: { label: `Remove filter ${o}` },
            disabled: O === 1,
            dataset: { testid: testid(`remove-filter-${o}`) },
            onClick: () =>
              setWeight(
                weight.filter((_, n) => n !== o),
                biases.filter((_, n) => n !== o),
              ),
          },
          "✕",
        ),
      ),
      h(
        "div",
        { class: "filter-kernels" },
        filter.map((matrix, c) =>
          h(
            "figure",
            { class: "filter-kernel" },
            h("figcaption", {}, `in ${c}`, channelName(c) ? h("span", { class: "hint" }, `: map “${channelName(c)}”`) : null),
            createMatrixEditor({
              label: `Filter ${o}, input channel ${c}${channelName(c) ? ` (${channelName(c)})` : ""}`,
              testid: testid(`w-${o}-${c}`),
              values: matrix,
              onChange: (next) => setWeight(weight.map((f, n) => (n === o ? f.map((m, i) => (i === c ? next : m)) : f))),
            }).root,
          ),
        ),
      ),
    ),
  );
  const zero = Array.from({ length: C }, () => Array.from({ length: kh }, () => Array(kw).fill(0)));
  return h(
    "div",
    { class: "weights-editor", dataset: { testid: testid("weights") } },
    source,
    mismatch,
    h(
      "div",
      { class: "field-row" },
      side("Kernel rows", "kernel-rows", kh, (n) => setWeight(resizeWeights(weight, n, kw))),
      side("Kernel columns", "kernel-cols", kw, (n) => setWeight(resizeWeights(weight, kh, n))),
    ),
    h("div", { class: "filter-list" }, rows),
    h(
      "div",
      { class: "weights-tools" },
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small",
          disabled: O >= MAX_FILTERS,
          title: O >= MAX_FILTERS ? `This page edits at most ${MAX_FILTERS} filters` : "",
          dataset: { testid: testid("add-filter") },
          onClick: () => setWeight([...weight, structuredClone(zero)], [...biases, 0]),
        },
        "+ Filter (zeros)",
      ),
      createKernelActions((apply) => setWeight(weight.map((f) => f.map(apply))), { testid: testid("weights") }),
    ),
    h(
      "p",
      { class: "hint" },
      "Filter o's map = Σ over input channels c of (map c ⋆ kernel [o][c]) + bias o, where ⋆ slides the kernel over the map (a cross-correlation). Cells are tinted blue < 0 < red, each kernel over ± its own largest |value|. The buttons act on every kernel.",
    ),
  );
}

/**
 * channelTable({valueOf, channels, answer, testid, patch, properties}): a batch norm card's
 * per-channel numbers. `channels`: the input's channel count from the server (or null);
 * `answer`: this layer's entry in the last answer (mean, var, running_mean, running_var,
 * weight, bias), or null. Edits patch `weight`, `bias`, `running_mean` or `running_var`
 * with one value per channel; an unset value shows what the server applied. `properties`:
 * the layer schema's, whose `unset` says what an unset vector stands for (served, not known here).
 */
export function channelTable({ valueOf, channels, answer, testid, patch, properties }) {
  if (!channels) return h("p", { class: "hint" }, "The per-channel numbers appear once the server has computed this layer's input.");
  const training = valueOf("training");
  const given = (name, used) => Array.from({ length: channels }, (_, c) => valueOf(name)?.[c] ?? used?.[c] ?? null);
  // In eval the running statistics given are the ones used; the server echoes them.
  const columns = [
    ["weight", "γ (weight)", given("weight", answer?.weight)],
    ["bias", "β (bias)", given("bias", answer?.bias)],
    ["running_mean", training ? "running mean (before)" : "running mean (used)", given("running_mean", training ? null : answer?.running_mean)],
    ["running_var", training ? "running var (before)" : "running var (used)", given("running_var", training ? null : answer?.running_var)],
  ];
  const shown = (v) => (v === null ? "" : String(v));
  const cell = (name, label, values, c) =>
    h(
      "td",
      {},
      h("input", {
        type: "number",
        step: "any",
        value: shown(values[c]),
        placeholder: values[c] === null ? "unset" : "",
        aria: { label: `${label}, channel ${c}` },
        dataset: { testid: testid(`${name}-${c}`) },
        onChange: (event) => {
          const v = Number(event.target.value);
          if (event.target.value.trim() === "" || !Number.isFinite(v)) {
            event.target.value = shown(values[c]);
            return;
          }
          patch({ [name]: values.map((old, i) => (i === c ? v : (old ?? properties[name].unset))) });
        },
      }),
    );
  const readout = (values, name, c) =>
    h("td", { class: "num", dataset: { testid: testid(`${name}-${c}`), value: values?.[c] ?? "" } }, values ? formatNumber(values[c], 4) : "…");
  const served = training
    ? [
        ["batch mean (used)", "mean", answer?.mean],
        ["batch var (used)", "var", answer?.var],
        ["running mean (after)", "running_mean_after", answer?.running_mean],
        ["running var (after)", "running_var_after", answer?.running_var],
      ]
    : [];
  // One row per quantity, one column per channel (a narrow card holds a few channels).
  return h(
    "div",
    {},
    h(
      "div",
      { class: "weights-scroll", tabindex: "0", role: "region", aria: { label: "Batch norm numbers per channel" } },
      h(
        "table",
        { class: "stats-table", dataset: { testid: testid("stats") } },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "channel"),
            Array.from({ length: channels }, (_, c) => h("th", { scope: "col" }, String(c))),
          ),
        ),
        h(
          "tbody",
          {},
          columns.map(([name, label, values]) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, label),
              Array.from({ length: channels }, (_, c) => cell(name, label, values, c)),
            ),
          ),
          served.map(([label, name, values]) =>
            h(
              "tr",
              { class: "served" },
              h("th", { scope: "row" }, label),
              Array.from({ length: channels }, (_, c) => readout(values, name, c)),
            ),
          ),
        ),
      ),
    ),
    h(
      "p",
      { class: "hint" },
      training
        ? "Train: each channel is normalised with this batch's mean and (biased) variance; the running statistics move towards them by momentum (variance unbiased), as PyTorch. The last four rows are the server's numbers."
        : "Eval: each channel is normalised with the running mean and variance given here: y = (x − mean) / √(var + eps) · γ + β.",
    ),
  );
}
