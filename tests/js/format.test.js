// Unit tests of the size and range wording shared by the pages (node --test).
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatDataRange, formatShape } from "../../static/js/render/format.js";

test("sizes read C×H×W, or H×W for one channel", () => {
  assert.equal(formatShape([2, 64, 48]), "2×64×48");
  assert.equal(formatShape([1, 64, 48]), "64×48");
  assert.equal(formatShape([7, 5]), "7×5");
});

test("a data range says constant for a constant map and names missing values", () => {
  assert.equal(formatDataRange(-0.05, 0.5), "−0.05 … 0.5");
  assert.equal(formatDataRange(0, 0), "constant 0");
  assert.equal(formatDataRange(null, null), "no finite values");
});

test("colours of huge values never overflow to NaN (a 1e308 kernel cell)", async () => {
  const { colorIndex, diverging } = await import("../../static/js/render/colors.js");
  assert.equal(colorIndex(1e308, -1e308, 1e308), 255);
  assert.equal(colorIndex(0, -1e308, 1e308), 128);
  assert.equal(colorIndex(-1e308, -1e308, 1e308), 0);
  assert.equal(diverging(1e308, 1e308).length, 3);
});
