// Unit tests for static/js/render/format.js: the numbers every page prints.
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatNumber, parseNumber } from "../../static/js/render/format.js";

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
