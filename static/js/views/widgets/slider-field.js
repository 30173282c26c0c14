// A labelled integer setting with a slider and a number box that stay in step. The
// slider's ends are the valid range, so dragging cannot reach an invalid setting; a typed
// value outside it is refused, reverted, and the reason is shown next to the field.

import { h } from "../../dom.js";
import { parseNumber } from "../../render/format.js";

/**
 * createSliderField({label, testid, value, min, max, onChange})
 * Returns {root, setValue(v), setBounds({min, max, minReason, maxReason}), setDisabled(b)}.
 */
export function createSliderField({ label, testid, value, min, max, onChange }) {
  const id = `slider-${testid}`;
  const slider = h("input", {
    type: "range",
    id,
    min: String(min),
    max: String(max),
    step: "1",
    value: String(value),
    dataset: { testid: `${testid}-slider` },
    aria: { describedby: `${id}-msg` },
  });
  const box = h("input", {
    type: "number",
    step: "1",
    min: String(min),
    max: String(max),
    value: String(value),
    inputMode: "numeric",
    dataset: { testid },
    aria: { label: `${label} (number)`, describedby: `${id}-msg` },
  });
  const message = h("span", { id: `${id}-msg`, class: "field-msg", dataset: { testid: `${testid}-msg` } });
  const root = h("div", { class: "field slider-field" }, h("label", { htmlFor: id }, label), h("div", { class: "slider-row" }, slider, box), message);
  let current = value;
  let bounds = { min, max, minReason: "", maxReason: "" };

  function commit(next) {
    message.textContent = "";
    message.classList.remove("field-msg-error");
    box.removeAttribute("aria-invalid");
    if (next === current) return;
    current = next;
    slider.value = String(next);
    box.value = String(next);
    onChange(next);
  }

  function refuse(reason) {
    box.value = String(current);
    slider.value = String(current);
    box.setAttribute("aria-invalid", "true");
    message.textContent = `${reason} Kept ${current}.`;
    message.classList.add("field-msg-error");
  }

  slider.addEventListener("input", () => commit(Number(slider.value)));
  box.addEventListener("change", () => {
    const parsed = parseNumber(box.value);
    if (parsed === undefined || !Number.isInteger(parsed)) return refuse(`${label} must be a whole number.`);
    if (parsed < bounds.min) return refuse(bounds.minReason || `${label} must be at least ${bounds.min}.`);
    if (parsed > bounds.max) return refuse(bounds.maxReason || `${label} can be at most ${bounds.max}.`);
    commit(parsed);
  });

  return {
    root,
    get value() {
      return current;
    },
    setValue(next) {
      current = next;
      slider.value = String(next);
      if (document.activeElement !== box || parseNumber(box.value) !== next) box.value = String(next);
    },
    setBounds({ min: lo, max: hi, minReason = "", maxReason = "" }) {
      bounds = { min: lo, max: hi, minReason, maxReason };
      for (const input of [slider, box]) {
        input.min = String(lo);
        input.max = String(hi);
      }
      slider.disabled = lo === hi;
      slider.value = String(current);
    },
    setDisabled(disabled) {
      slider.disabled = disabled;
      box.disabled = disabled;
    },
  };
}
