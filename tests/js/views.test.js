import assert from "node:assert/strict";
import { test } from "node:test";

import { convParams, displayScale, kernelNames, mapChannels } from "../../static/js/views/playground/state.js";
import { EXAMPLES, SCHEMA, clampCrop, fitKernel, requestBody, transposedBody } from "../../static/js/views/step/state.js";
import { cellProblem, cellText } from "../../static/js/views/widgets/matrix-editor.js";

test("displayScale: one scale for input and output, whole multiples when the input fits", () => {
  assert.equal(displayScale("2", 256, 100), 2);
  assert.equal(displayScale("fit", 128, 300), 2);
  assert.equal(displayScale("fit", 256, 128), 0.5);
  assert.equal(displayScale("fit", 16, 1000), 4);
});

test("convParams sends presets by name, custom numbers, and custom padding per axis", () => {
  const s = { kernel: "sobel_x,sobel_y", k: [[1]], bias: 0, stride: 2, pad: "custom", ph: 1, pw: 2, pmode: "zeros", dilation: 1, cmode: "sum" };
  assert.deepEqual(kernelNames(s), ["sobel_x", "sobel_y"]);
  assert.deepEqual(convParams(s).kernel, ["sobel_x", "sobel_y"]);
  assert.deepEqual(convParams(s).padding, [1, 2]);
  assert.deepEqual(convParams({ ...s, kernel: "custom" }).kernel, [[1]]);
});

test("mapChannels counts an RGB map as three channels", () => {
  assert.deepEqual(mapChannels([{ shape: [3, 4, 4] }, { shape: [4, 4] }]), [
    { start: 0, count: 3 },
    { start: 3, count: 1 },
  ]);
});

test("step: requestBody sends one channel as a matrix, several as a stack", () => {
  const edge = { ...EXAMPLES.edge };
  assert.deepEqual(requestBody(edge).input, EXAMPLES.edge.x[0]);
  assert.equal(requestBody({ ...EXAMPLES.rgb }).input.length, 3);
  assert.equal(requestBody(edge).trace, true);
});

test("step: fitKernel repeats one slice per channel; clampCrop keeps the crop inside", () => {
  assert.equal(fitKernel([[[[1]]]], 3)[0].length, 3);
  assert.equal(fitKernel([[[[1]]], [[[2]]]], 2).length, 2, "every filter gets the channels");
  assert.deepEqual(clampCrop([60, 60, 6, 6], 64, 64), [58, 58, 6, 6]);
  assert.deepEqual(clampCrop([0, 0, 8, 8], 4, 5), [0, 0, 4, 5]);
});

test("step: k in a link is one filter (old format) or several joined by '/'; bias one or a list", () => {
  assert.deepEqual(SCHEMA.k.parse("1,2;3,4"), [
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ]);
  assert.deepEqual(SCHEMA.k.parse("1|2/3|4"), [
    [[[1]], [[2]]],
    [[[3]], [[4]]],
  ]);
  assert.equal(SCHEMA.k.parse("1|2/3"), undefined, "filters of different shapes");
  assert.equal(SCHEMA.k.format([[[[1, 2]]], [[[3, 4]]]]), "1,2/3,4");
  assert.equal(SCHEMA.k.format([[[[1]], [[2]]]]), "1|2", "one filter keeps the old format");
  assert.deepEqual(SCHEMA.bias.parse("0.5"), [0.5]);
  assert.deepEqual(SCHEMA.bias.parse("1,0"), [1, 0]);
  assert.equal(SCHEMA.bias.parse("1,x"), undefined);
});

test("step: the CS231n volume sends [O][C][kh][kw] and one bias per filter; transposed sends [C][1][kh][kw]", () => {
  const body = requestBody({ ...EXAMPLES.cs231n, flip: false });
  assert.equal(body.kernel.length, 2);
  assert.equal(body.kernel[0].length, 3);
  assert.deepEqual(body.bias, [1, 0]);
  assert.equal(body.stride, 2);
  const t = transposedBody({ ...EXAMPLES.transposed });
  assert.deepEqual(t.kernel[0][0], EXAMPLES.transposed.k[0][0]);
  assert.equal(t.output_padding, 1);
  assert.equal(t.bias, 0);
});

test("matrix editor cells: only text that is not a number is a problem here, numbers are shown whole", () => {
  // Magnitude is the server's to judge (it answers 422 for 1e308 on an image path).
  assert.equal(cellProblem("1e308"), null);
  assert.match(cellProblem("1e999"), /not a number/);
  assert.match(cellProblem("abc"), /not a number/);
  assert.equal(cellProblem("-0.5"), null);
  assert.equal(cellText(-0.12549), "-0.1255");
});

test("kernel actions: negate, transpose and flip 180° are pure and exact", async () => {
  const { flipMatrix, negateMatrix, transposeMatrix } = await import("../../static/js/views/widgets/matrix-editor.js");
  const k = [
    [1, 2, 3],
    [4, 0, -6],
  ];
  assert.deepEqual(negateMatrix(k), [
    [-1, -2, -3],
    [-4, 0, 6],
  ]);
  assert.ok(Object.is(negateMatrix([[0]])[0][0], 0), "negating 0 gives 0, not −0");
  assert.deepEqual(transposeMatrix(k), [
    [1, 4],
    [2, 0],
    [3, -6],
  ]);
  assert.deepEqual(flipMatrix(k), [
    [-6, 0, 4],
    [3, 2, 1],
  ]);
  assert.deepEqual(flipMatrix(flipMatrix(k)), k);
  assert.deepEqual(
    k,
    [
      [1, 2, 3],
      [4, 0, -6],
    ],
    "the input is not changed",
  );
});

test("true convolution: step and playground send the kernel rotated by 180°", () => {
  const body = requestBody({ ...EXAMPLES.edge, flip: true });
  assert.deepEqual(body.kernel, [
    [-1, -1, -1],
    [0, 0, 0],
    [1, 1, 1],
  ]);
  const s = { kernel: "sobel_x", k: [[1]], bias: 0, stride: 1, pad: "same", pmode: "zeros", dilation: 1, cmode: "sum", flip: true };
  const presets = {
    sobel_x: [
      [-1, 0, 1],
      [-2, 0, 2],
      [-1, 0, 1],
    ],
    laplacian: [
      [0, 1, 0],
      [1, -4, 1],
      [0, 1, 2],
    ],
  };
  assert.deepEqual(convParams(s, {}, (n) => presets[n]).kernel, [
    [1, 0, -1],
    [2, 0, -2],
    [1, 0, -1],
  ]);
  assert.deepEqual(convParams({ ...s, kernel: "sobel_x,laplacian" }, {}, (n) => presets[n]).kernel[1], [
    [2, 1, 0],
    [1, -4, 1],
    [0, 1, 0],
  ]);
  assert.equal(convParams({ ...s, flip: false }).kernel, "sobel_x");
});
