import assert from "node:assert/strict";
import { test } from "node:test";

import { colorAt, colorIndex, colorRule, colormapTable, diverging, maxAbs, setColormaps } from "../../static/js/render/colors.js";

// A made-up palette: index i is [i, 255 - i, 0], so a colour names its index.
const lut = Array.from({ length: 256 }, (_, i) => [i, 255 - i, 0]);

test("tables come from the served body; before that, asking fails with the reason", () => {
  assert.throws(() => colormapTable("diverging"), /not loaded/);
  setColormaps({ rule: "every map diverging", colormaps: { gray: { description: "g", lut }, diverging: { description: "d", lut } } });
  assert.equal(colorRule(), "every map diverging");
  assert.equal(colormapTable("rgb"), colormapTable("gray"));
  assert.throws(() => colormapTable("sequential"), /Unknown colormap/);
});

test("colorIndex rounds half to even like numpy and clips", () => {
  assert.equal(colorIndex(0, -1, 1), 128); // 127.5 -> 128 (even)
  assert.equal(colorIndex(-5, -1, 1), 0);
  assert.equal(colorIndex(5, -1, 1), 255);
});

test("colorIndex never throws: NaN, null, infinities and an overflowing range", () => {
  assert.equal(colorIndex(NaN, -1, 1), 128);
  assert.equal(colorIndex(null, -1, 1), 128);
  assert.equal(colorIndex(Infinity, -1, 1), 255);
  assert.equal(colorIndex(-Infinity, -1, 1), 0);
});

test("diverging is symmetric around white zero and uses ±1 for an all-zero map", () => {
  setColormaps({ rule: "", colormaps: { diverging: { description: "d", lut } } });
  assert.deepEqual(diverging(2, 2), lut[255]);
  assert.deepEqual(diverging(-2, 2), lut[0]);
  assert.deepEqual(diverging(0, 0), colorAt("diverging", 0, -1, 1));
  assert.equal(maxAbs([0, 0]), 1);
  assert.equal(maxAbs([-3, 2, NaN]), 3);
});

test("colours of huge values never overflow to NaN (a 1e308 kernel cell)", () => {
  assert.equal(colorIndex(1e308, -1e308, 1e308), 255);
  assert.equal(colorIndex(0, -1e308, 1e308), 128);
  assert.equal(colorIndex(-1e308, -1e308, 1e308), 0);
});
