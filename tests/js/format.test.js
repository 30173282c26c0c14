import assert from "node:assert/strict";
import { test } from "node:test";

import { finiteRange, formatNumber, formatShape, parseNumber, rangeText, scaleText } from "../../static/js/render/format.js";

test("formatShape writes C×H×W, and H×W for one channel", () => {
  assert.equal(formatShape([3, 4, 5]), "3×4×5");
  assert.equal(formatShape([1, 4, 5]), "4×5");
  assert.equal(formatShape([6, 6]), "6×6");
});

test("finiteRange skips non-finite values and nulls", () => {
  assert.deepEqual(
    finiteRange([
      [0.5, -0.05],
      [null, Infinity, NaN],
    ]),
    { min: -0.05, max: 0.5 },
  );
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

const MINUS = "\u2212";

test("formatNumber keeps up to `digits` decimals and drops trailing zeros", () => {
  assert.equal(formatNumber(2.3), "2.3");
  assert.equal(formatNumber(1.23456), "1.235");
  assert.equal(formatNumber(2 / 3, 4), "0.6667");
  assert.equal(formatNumber(5), "5");
  assert.equal(formatNumber(10.5, 0), "11"); // toFixed rounds half away from zero here
});

test("formatNumber writes minus as U+2212 and never prints -0", () => {
  assert.equal(formatNumber(-0.5), `${MINUS}0.5`);
  assert.equal(formatNumber(-0), "0");
  assert.equal(formatNumber(-0.0004), `${MINUS}0.0004`); // below 10^-digits: two significant digits
  assert.equal(formatNumber(0.0039, 2), "0.0039"); // rather than 0
});

test("formatNumber uses exponents for very large and very small magnitudes", () => {
  assert.equal(formatNumber(123456), "1.23e+5");
  assert.equal(formatNumber(0.00001234), `1.23e${MINUS}5`);
});

test("formatNumber names what is not a finite number", () => {
  assert.equal(formatNumber(null), "–");
  assert.equal(formatNumber(undefined), "–");
  assert.equal(formatNumber(Infinity), "∞");
  assert.equal(formatNumber(-Infinity), `${MINUS}∞`);
  assert.equal(formatNumber(NaN), "NaN");
});

test("parseNumber reads what a person types", () => {
  assert.equal(parseNumber("2.5"), 2.5);
  assert.equal(parseNumber(" -3 "), -3);
  assert.equal(parseNumber(`${MINUS}1,5`), -1.5); // typographic minus, decimal comma
  assert.equal(parseNumber(".5"), 0.5);
  assert.equal(parseNumber("2e3"), 2000);
  assert.equal(parseNumber("1e308"), 1e308);
});

test("parseNumber refuses text and numbers a float cannot hold", () => {
  for (const text of ["", " ", "abc", "1.2.3", "1,2,3", "--1", "1e309", "Infinity", "NaN"]) {
    assert.equal(parseNumber(text), undefined, JSON.stringify(text));
  }
});
