// Small helpers that build DOM with createElement / textContent only (never innerHTML).

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Create an element: h("button", {type: "button", dataset: {testid: "play"}, onClick}, "Play").
 * Keys starting with "on" add listeners; `dataset` and `aria` objects set data-/aria-
 * attributes; `hidden`, `disabled`, `checked`, `value` and friends are set as properties.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  applyAttrs(node, attrs);
  append(node, children);
  return node;
}

/** Create an SVG element with attributes (no children text). */
export function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

const PROPERTIES = new Set([
  "value",
  "checked",
  "disabled",
  "hidden",
  "selected",
  "type",
  "min",
  "max",
  "step",
  "tabIndex",
  "htmlFor",
  "id",
  "name",
  "title",
  "placeholder",
  "className",
  "src",
  "alt",
  "href",
  "download",
  "multiple",
  "accept",
  "inputMode",
  "autocomplete",
  "spellcheck",
]);

function applyAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    } else if (key === "aria") {
      for (const [k, v] of Object.entries(value)) node.setAttribute(`aria-${k}`, String(v));
    } else if (key === "class") {
      node.className = value;
    } else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (PROPERTIES.has(key)) {
      node[key] = value;
    } else if (value !== false) {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `node` with `children`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** The element with data-testid `id` inside `root`; throws if the template lacks it. */
export function byTestId(root, id) {
  const node = root.querySelector(`[data-testid="${id}"]`);
  if (!node) throw new Error(`template is missing [data-testid="${id}"]`);
  return node;
}

/** Call `fn` after `ms` of quiet; `.cancel()` drops a pending call, `.flush()` runs it now. */
export function debounce(fn, ms) {
  let timer = null;
  let pending = null;
  const debounced = (...args) => {
    pending = args;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const callArgs = pending;
      pending = null;
      fn(...callArgs);
    }, ms);
  };
  debounced.cancel = () => {
    clearTimeout(timer);
    timer = null;
    pending = null;
  };
  debounced.flush = () => {
    if (timer === null) return;
    clearTimeout(timer);
    timer = null;
    const callArgs = pending;
    pending = null;
    fn(...callArgs);
  };
  return debounced;
}

/** Whether the last user input inside `root` was typing or dragging (text, number, range). */
function trackTyping(root) {
  const state = { typing: false };
  const typed = (event) => event.target?.matches?.('input[type="range"], input[type="number"], input[type="text"], input:not([type]), textarea') ?? false;
  root.addEventListener(
    "input",
    (event) => {
      state.typing = typed(event);
    },
    true,
  );
  for (const type of ["click", "change", "pointerdown"]) {
    root.addEventListener(
      type,
      (event) => {
        if (!typed(event)) state.typing = false;
      },
      true,
    );
  }
  return state;
}

/**
 * `fn` scheduled by what the user did: at once after a click, a choice or an upload; after
 * `ms` of quiet while typing or dragging a slider. `.cancel()` drops a waiting call.
 */
export function soonByInput(root, fn, ms) {
  const state = trackTyping(root);
  const later = debounce(fn, ms);
  const soon = (...args) => {
    if (state.typing) return later(...args);
    later.cancel();
    return fn(...args);
  };
  soon.cancel = later.cancel;
  return soon;
}

/** A fresh AbortSignal per call; the previous call's request is aborted (it is stale). */
export function latestSignal() {
  let controller = null;
  return () => {
    controller?.abort();
    controller = new AbortController();
    return controller.signal;
  };
}

/** Size a canvas for crisp drawing at `width` x `height` CSS pixels; returns its 2-D context. */
export function sizeCanvas(canvas, width, height, { pixelRatio = window.devicePixelRatio || 1 } = {}) {
  const ratio = Math.max(1, Math.round(pixelRatio));
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.dataset.pixelRatio = String(ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

/** True when a key event comes from a control that uses the key itself (text fields, etc.). */
export function isTypingTarget(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}
