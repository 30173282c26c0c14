// Reading a layer type's JSON schema (GET /api/v1/layers) into the kind of control that
// edits each parameter. Pure functions; the card widget draws what these return, so a new
// layer type or parameter needs no change here.

const BIG = 2 ** 31 - 1;

function bounds(schema) {
  const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum : -Infinity);
  const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum : Infinity);
  return { min, max: max >= BIG ? Infinity : max };
}

/**
 * The control for one property: {kind, nullable, ...}
 *   kernel                         the kernel editor (by name: a conv's `kernel`)
 *   enum {options}                 a select
 *   boolean                        a checkbox
 *   integer {min, max}             a whole-number field
 *   number {min, max}              a number field (a "number or list" takes one number)
 *   pair {min, max}                two whole-number fields, rows and columns
 *   choice {options, pair, min, max} a select of words plus "number", then number field(s)
 *   vector                         a text field of comma-separated numbers
 *   json                           anything else, as JSON text
 */
export function fieldKind(name, schema) {
  if (name === "kernel") return { kind: "kernel", nullable: false };
  const branches = schema.anyOf ?? schema.oneOf ?? [schema];
  const nullable = branches.some((b) => b.type === "null");
  const kinds = branches.filter((b) => b.type !== "null");
  const words = kinds.filter((b) => b.type === "string" && Array.isArray(b.enum)).flatMap((b) => b.enum);
  const integer = kinds.find((b) => b.type === "integer");
  const pair = kinds.find((b) => b.type === "array" && b.items?.type === "integer" && b.maxItems >= 2);
  const number = kinds.find((b) => b.type === "number");
  const vector = kinds.find((b) => b.type === "array" && b.items?.type === "number");
  const boolean = kinds.some((b) => b.type === "boolean");
  const base = { nullable };
  if (words.length && kinds.length === kinds.filter((b) => b.type === "string").length) return { ...base, kind: "enum", options: words };
  if (words.length && integer) return { ...base, kind: "choice", options: words, pair: Boolean(pair), ...bounds(integer) };
  if (boolean && kinds.length === 1) return { ...base, kind: "boolean" };
  if (integer && pair) return { ...base, kind: "pair", ...bounds(integer) };
  if (integer && kinds.length === 1) return { ...base, kind: "integer", ...bounds(integer) };
  if (number) return { ...base, kind: "number", ...bounds(number) };
  if (vector && kinds.length === 1) return { ...base, kind: "vector" };
  return { ...base, kind: "json" };
}

/** "Negative Slope" -> "Negative slope": a schema title as a field label. */
export function fieldLabel(name, schema) {
  const title = schema.title ?? name.replace(/_/g, " ");
  return title.charAt(0).toUpperCase() + title.slice(1).toLowerCase();
}

/** A pair parameter as [rows, cols] (a single number means both). */
export function pairParts(value) {
  return Array.isArray(value) ? [value[0], value[1] ?? value[0]] : [value, value];
}

/** [rows, cols] back to the API's form: one number when both agree. */
export function pairValue(rows, cols) {
  return rows === cols ? rows : [rows, cols];
}

/** "1, -2.5, 3" -> [1, -2.5, 3]; "" -> null; undefined when an entry is not a finite number. */
export function parseVector(text) {
  const trimmed = String(text).trim();
  if (trimmed === "") return null;
  const parts = trimmed.split(",").map((part) => part.trim());
  const values = parts.map((part) => (part === "" ? NaN : Number(part.replace(/\u2212/g, "-"))));
  return values.every(Number.isFinite) ? values : undefined;
}

/** The parameters shown up front; the rest go under "More settings" (lists and nullable values). */
export function isAdvanced(kind) {
  return kind.kind === "vector" || kind.kind === "json" || kind.nullable;
}

/** Preset kernels offered in pairs: a name ending in "_x" whose "_y" twin exists (2 filters). */
export function presetPairs(presets) {
  const names = new Set(presets.map((k) => k.name));
  return presets.filter((k) => k.name.endsWith("_x") && names.has(`${k.name.slice(0, -2)}_y`)).map((k) => [k.name, `${k.name.slice(0, -2)}_y`]);
}

/** Equal as JSON (parameters are plain data). */
export function sameValue(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}
