// A labelled integer/number input that cannot hold an invalid value: typed values are
// checked, refused ones are reverted and the reason is shown next to the field.

import { h } from "../../dom.js";
import { parseNumber } from "../../render/format.js";

/**
 * createNumberField({label, testid, value, min, max, step, integer, hint, onChange, check})
 * check(value) -> null if acceptable, else a sentence saying why not.
 * Returns {root, input, value, setValue(v), setBounds({min, max}), setDisabled(bool),
 * showError(text), clearError()}.
 */
export function createNumberField({
  label,
  testid,
  value,
  min = -Infinity,
  max = Infinity,
  step = 1,
  integer = true,
  hint = "",
  onChange,
  check = () => null,
}) {
  const id = `field-${testid}`;
  const input = h("input", {
    id,
    type: "number",
    value: String(value),
    step: String(step),
    inputMode: integer ? "numeric" : "decimal",
    dataset: { testid },
    aria: { describedby: `${id}-msg` },
  });
  const message = h("span", { id: `${id}-msg`, class: "field-msg", dataset: { testid: `${testid}-msg` } }, hint);
  const root = h("div", { class: "field" }, h("label", { htmlFor: id }, label), input, message);
  let current = value;
  let bounds = { min, max };

  function applyBounds() {
    if (Number.isFinite(bounds.min)) input.min = String(bounds.min);
    else input.removeAttribute("min");
    if (Number.isFinite(bounds.max)) input.max = String(bounds.max);
    else input.removeAttribute("max");
  }
  applyBounds();

  function refuse(reason) {
    input.value = String(current);
    input.setAttribute("aria-invalid", "true");
    message.textContent = reason;
    message.classList.add("field-msg-error");
  }

  function accept() {
    input.removeAttribute("aria-invalid");
    message.textContent = hint;
    message.classList.remove("field-msg-error");
  }

  input.addEventListener("change", () => {
    const parsed = parseNumber(input.value);
    if (parsed === undefined) return refuse(`“${input.value || "(empty)"}” is not a number; kept ${current}.`);
    if (integer && !Number.isInteger(parsed)) return refuse(`${label} must be a whole number; kept ${current}.`);
    if (parsed < bounds.min) return refuse(`${label} must be at least ${bounds.min}; kept ${current}.`);
    if (parsed > bounds.max) {
      const why = bounds.maxReason ? ` ${bounds.maxReason}` : "";
      return refuse(`${label} can be at most ${bounds.max}.${why} Kept ${current}.`);
    }
    const reason = check(parsed);
    if (reason) return refuse(`${reason} Kept ${current}.`);
    accept();
    current = parsed;
    input.value = String(parsed);
    onChange(parsed);
  });

  return {
    root,
    input,
    get value() {
      return current;
    },
    setValue(next) {
      current = next;
      input.value = String(next);
      accept();
    },
    /** New limits; `maxReason` explains the upper limit when a typed value exceeds it. */
    setBounds({ min: lo = bounds.min, max: hi = bounds.max, maxReason = "" }) {
      bounds = { min: lo, max: hi, maxReason };
      applyBounds();
    },
    setDisabled(disabled) {
      input.disabled = disabled;
    },
    /** Show why the server refused the current value (the value stays, to be fixed). */
    showError(text) {
      input.setAttribute("aria-invalid", "true");
      message.textContent = text;
      message.classList.add("field-msg-error");
    },
    clearError: accept,
  };
}
