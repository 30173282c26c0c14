import assert from "node:assert/strict";
import { test } from "node:test";

import { finiteRange, formatNumber, formatShape, parseNumber, rangeText, scaleText } from "../../static/js/render/format.js";

test("formatShape writes C×H×W, and H×W for one channel", () => {
  assert.equal(formatShape([3, 4, 5]), "3×4×5");
  assert.equal(formatShape([1, 4, 5]), "4×5");
  assert.equal(formatShape([6, 6]), "6×6");
});

test("finiteRange skips non-finite values and nulls", () => {
  assert.deepEqual(finiteRange([[0.5, -0.05], [null, Infinity, NaN]]), { min: -0.05, max: 0.5 });
  assert.deepEqual(finiteRange([[null]]), { min: null, max: null });
});

test("rangeText says constant for a constant map and names both ends otherwise", () => {
  assert.equal(rangeText(0, 0), "constant 0");
  assert.equal(rangeText(-2.3, -2.3), "constant −2.3");
  assert.equal(rangeText(-0.05, 0.5), "−0.05 to 0.5");
  assert.equal(rangeText(null, null), "no finite values");
});

test("scaleText writes a symmetric scale as ±m", () => {
  assert.equal(scaleText(-1.05, 1.05), "±1.05");
  assert.equal(scaleText(0, 1), "0 to 1");
});

test("parseNumber accepts a typed minus and a decimal comma, refuses junk and overflow", () => {
  assert.equal(parseNumber("−0,5"), -0.5);
  assert.equal(parseNumber("1e3"), 1000);
  assert.equal(parseNumber("1e309"), undefined);
  assert.equal(parseNumber("abc"), undefined);
  assert.equal(formatNumber(-0.5), "−0.5");
});
