// Unit tests of reading a layer type's JSON schema into controls (node --test).
import assert from "node:assert/strict";
import { test } from "node:test";

import { fieldKind, fieldLabel, isAdvanced, pairParts, pairValue, parseVector, presetPairs } from "../../static/js/views/network/schema.js";

const int = (minimum) => ({ type: "integer", minimum, maximum: 2147483647 });
const pair = (minimum) => ({ anyOf: [int(minimum), { type: "array", items: int(minimum), minItems: 2, maxItems: 2 }] });

test("each JSON schema shape gets its control", () => {
  assert.deepEqual(fieldKind("kernel", { anyOf: [{ type: "string" }] }), { kind: "kernel", nullable: false });
  assert.deepEqual(fieldKind("mode", { type: "string", enum: ["max", "avg"] }), { kind: "enum", nullable: false, options: ["max", "avg"] });
  assert.deepEqual(fieldKind("ceil_mode", { type: "boolean" }), { kind: "boolean", nullable: false });
  assert.deepEqual(fieldKind("stride", pair(1)), { kind: "pair", nullable: false, min: 1, max: Infinity });
  assert.deepEqual(fieldKind("seed", { type: "integer", minimum: 0, maximum: 99 }), { kind: "integer", nullable: false, min: 0, max: 99 });
  assert.deepEqual(fieldKind("p", { type: "number", minimum: 0, maximum: 1 }), { kind: "number", nullable: false, min: 0, max: 1 });
  assert.deepEqual(fieldKind("eps", { type: "number", exclusiveMinimum: 0 }), { kind: "number", nullable: false, min: 0, max: Infinity });
  assert.equal(fieldKind("bias", { anyOf: [{ type: "number" }, { type: "array", items: { type: "number" } }] }).kind, "number");
  assert.deepEqual(fieldKind("weight", { anyOf: [{ type: "array", items: { type: "number" } }, { type: "null" }] }), { kind: "vector", nullable: true });
  const padding = { anyOf: [int(0), { type: "array", items: int(0), minItems: 2, maxItems: 4 }, { type: "string", enum: ["valid", "same", "full"] }] };
  assert.deepEqual(fieldKind("padding", padding), { kind: "choice", nullable: false, options: ["valid", "same", "full"], pair: true, min: 0, max: Infinity });
  assert.equal(fieldKind("stride", { anyOf: [...pair(1).anyOf, { type: "null" }] }).nullable, true);
  assert.equal(fieldKind("odd", { type: "object" }).kind, "json");
});

test("lists and unset values go under More settings", () => {
  assert.equal(isAdvanced({ kind: "vector", nullable: true }), true);
  assert.equal(isAdvanced({ kind: "integer", nullable: false }), false);
});

test("labels, pairs and vectors", () => {
  assert.equal(fieldLabel("negative_slope", { title: "Negative Slope" }), "Negative slope");
  assert.equal(fieldLabel("count_include_pad", {}), "Count include pad");
  assert.deepEqual(pairParts(2), [2, 2]);
  assert.deepEqual(pairParts([1, 3]), [1, 3]);
  assert.equal(pairValue(2, 2), 2);
  assert.deepEqual(pairValue(1, 3), [1, 3]);
  assert.deepEqual(parseVector("1, −2.5,3"), [1, -2.5, 3]);
  assert.equal(parseVector("  "), null);
  assert.equal(parseVector("1, x"), undefined);
  assert.equal(parseVector("1e400"), undefined);
});

test("presets pair an _x kernel with its _y twin", () => {
  const presets = ["sobel_x", "sobel_y", "prewitt_x", "box_blur"].map((name) => ({ name }));
  assert.deepEqual(presetPairs(presets), [["sobel_x", "sobel_y"]]);
});
