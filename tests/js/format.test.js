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
