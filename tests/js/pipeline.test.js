// Unit tests of /network's pure request building and URL state (node --test).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  buildPipeline,
  contextAxis,
  decodeLayers,
  encodeLayers,
  erroredLayer,
  fitWeights,
  fullWeights,
  literalWeights,
  nameLayers,
  resizeWeights,
  outputIndexStartingAt,
  PRESETS,
  randomWeight,
  windowAxis,
} from "../../static/js/views/network/pipeline.js";

const presets = [
  {
    name: "sobel_x",
    values: [
      [-1, 0, 1],
      [-2, 0, 2],
      [-1, 0, 1],
    ],
  },
  {
    name: "sobel_y",
    values: [
      [-1, -2, -1],
      [0, 0, 0],
      [1, 2, 1],
    ],
  },
];

test("a 15-layer list survives the URL round trip exactly", () => {
  const layers = Array.from({ length: 15 }, (_, i) =>
    i % 2 ? { type: "activation", function: "relu" } : { type: "conv2d", kernel: "sobel_x", padding: 1, stride: [1, 2] },
  );
  assert.deepEqual(decodeLayers(encodeLayers(layers)), layers);
});

test("decodeLayers refuses what is not a list of typed layers", () => {
  assert.equal(decodeLayers("not json"), undefined);
  assert.equal(decodeLayers("[]"), undefined);
  assert.equal(decodeLayers('[{"kernel": "sobel_x"}]'), undefined);
  assert.equal(decodeLayers('{"type": "conv2d"}'), undefined);
  assert.equal(decodeLayers(JSON.stringify(Array(65).fill({ type: "dropout" }))), undefined);
});

test("preset names become one map per filter and input channel (depthwise)", () => {
  const { layers, info } = buildPipeline([{ type: "conv2d", kernel: ["sobel_x", "sobel_y"], padding: 1 }, { type: "activation" }], {
    inputChannels: 3,
    presets,
  });
  assert.deepEqual(layers[0], { type: "conv2d", kernel: ["sobel_x", "sobel_y"], padding: 1 });
  assert.equal(info[0].weights.length, 6);
  assert.deepEqual(info[0].weights[4], { kernel: [presets[1].values], channel: 1 });
  assert.equal(info[1].inChannels, 6);
});

test("summed filters span every input channel", () => {
  const { info } = buildPipeline([{ type: "conv2d", kernel: "sobel_x", channel_mode: "sum" }], { inputChannels: 3, presets });
  assert.equal(info[0].weights.length, 1);
  assert.equal(info[0].weights[0].kernel.length, 3);
  assert.equal(info[0].weights[0].channel, null);
});

test("random kernels expand to seeded [O][C][k][k] weights sized by the incoming channels", () => {
  const { layers, info } = buildPipeline(PRESETS.random.layers, { inputChannels: 1, presets });
  assert.equal(layers[0].kernel.length, 4);
  assert.equal(layers[0].kernel[0].length, 1);
  assert.equal(layers[3].kernel[0].length, 4); // the second conv sees the first one's 4 maps
  assert.deepEqual(layers[3].kernel, randomWeight(4, 4, 3, 2));
  assert.equal(info[3].inChannels, 4);
  const bound = 1 / Math.sqrt(4 * 9);
  assert.ok(layers[3].kernel.flat(3).every((v) => Math.abs(v) <= bound));
  assert.notDeepEqual(randomWeight(2, 1, 3, 1), randomWeight(2, 1, 3, 2));
});

test("an unknown preset names its layer as the cards do (1-based)", () => {
  assert.throws(
    () => buildPipeline([{ type: "activation" }, { type: "conv2d", kernel: "nope" }], { inputChannels: 1, presets }),
    /layer 2: unknown preset kernel “nope”/,
  );
});

test("API paths count layers from 0, messages from 1", () => {
  assert.equal(nameLayers("params.layers[8].stride: Input should be greater than 0"), "layer 9, stride: Input should be greater than 0");
  assert.equal(nameLayers("params.layers[0]: bad"), "layer 1: bad");
  assert.equal(
    nameLayers("Invalid setting: params.layers[8].kernel_size: layer 9 (pool2d): kernel (200x200) is larger"),
    "Invalid setting: layer 9 (pool2d), kernel_size: kernel (200x200) is larger",
  );
  assert.equal(nameLayers("Too large: nothing about layers"), "Too large: nothing about layers");
  assert.equal(erroredLayer("params.layers[8].stride: x"), 8);
  assert.equal(erroredLayer("no layer here"), null);
});

test("windowAxis crops a window and the padding it hangs over", () => {
  assert.deepEqual(windowAxis(0, { stride: 1, before: 1, effective: 3, size: 5 }), { start: 0, end: 2, pad: [1, 0], empty: false, origin: -1 });
  assert.deepEqual(windowAxis(2, { stride: 2, before: 0, effective: 3, size: 5 }), { start: 4, end: 5, pad: [0, 2], empty: false, origin: 4 });
  assert.equal(windowAxis(3, { stride: 2, before: 0, effective: 1, size: 5 }).empty, true);
});

test("contextAxis keeps the window on the crop's stride grid", () => {
  const crop = contextAxis(3, { stride: 2, before: 1, effective: 3, size: 16, pad: 0 });
  assert.ok(crop.end - crop.start <= 8);
  assert.equal((5 - crop.start) % 2, 0); // window starts at 3*2-1 = 5
  assert.equal(contextAxis(0, { stride: 1, before: 2, effective: 3, size: 8, pad: 1 }), null);
});

test("outputIndexStartingAt reads the output index from the API's receptive fields", () => {
  assert.equal(
    outputIndexStartingAt(
      [
        [-1, 0, 1],
        [1, 2, 3],
        [3, 4, 5],
      ],
      1,
    ),
    1,
  );
  assert.equal(outputIndexStartingAt([[0, 1]], 5), -1);
});

test("full weights: presets summed over channels repeat the kernel on every channel", () => {
  const weight = fullWeights(["sobel_x", "sobel_y"], { channels: 2, mode: "sum", presets });
  assert.deepEqual(weight, [
    [presets[0].values, presets[0].values],
    [presets[1].values, presets[1].values],
  ]);
});

test("full weights: a depthwise preset becomes one filter per channel, zeros elsewhere", () => {
  const weight = fullWeights("sobel_x", { channels: 2, mode: "depthwise", presets });
  const zero = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  assert.deepEqual(weight, [
    [presets[0].values, zero],
    [zero, presets[0].values],
  ]);
});

test("full weights: seeded random weights are the ones buildPipeline sends", () => {
  const kernel = { random: { count: 3, size: 3, seed: 7 } };
  const sent = buildPipeline([{ type: "conv2d", kernel }], { inputChannels: 2, presets }).layers[0].kernel;
  assert.deepEqual(fullWeights(kernel, { channels: 2, presets }), sent);
});

test("fitting weights to a channel count cuts or adds zero kernels; resizing keeps the overlap", () => {
  const weight = [[[[1, 2]], [[3, 4]], [[5, 6]]]];
  assert.deepEqual(fitWeights(weight, 2), [[[[1, 2]], [[3, 4]]]]);
  assert.deepEqual(fitWeights([[[[1, 2]]]], 2), [[[[1, 2]], [[0, 0]]]]);
  assert.deepEqual(resizeWeights([[[[1, 2]]]], 2, 1), [[[[1], [0]]]]);
  assert.equal(literalWeights("sobel_x"), null);
  assert.deepEqual(literalWeights([[[1]]]), [[[[1]]]]);
});

test("the edges -> corners example: 2 edge filters, then 3 filters over both edge maps", () => {
  const [edges, corners] = PRESETS.corners.layers;
  assert.deepEqual(edges.kernel, [[presets[0].values], [presets[1].values]]);
  assert.equal(corners.kernel.length, 3);
  assert.ok(corners.kernel.every((filter) => filter.length === 2));
  assert.deepEqual(corners.kernel[0], [presets[1].values, presets[0].values]);
});
