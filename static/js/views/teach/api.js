// The two requests /teach makes beyond the shared api.js: the training stream and a
// prediction with the user's own weights. Errors go through api.js's one describer.

import { ApiError, describeError } from "../../api.js";

const BASE = "/api/v1/models";

async function post(path, init) {
  let response;
  try {
    response = await fetch(`${BASE}${path}`, { method: "POST", ...init });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError(`Could not reach the server (${error?.message ?? error}). Is it running?`);
  }
  if (!response.ok) throw await describeError(response);
  return response;
}

/** POST /models/train as server-sent events; `onEvent(event)` for each; resolves at the end. */
export async function trainStream(body, { signal, onEvent }) {
  const response = await post("/train", {
    signal,
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const data = buffer
        .slice(0, end)
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      buffer = buffer.slice(end + 2);
      if (data) onEvent(JSON.parse(data));
    }
  }
}

/** base64 text -> Blob (the weights .npz). */
export function base64Blob(text, type = "application/octet-stream") {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type });
}

/** ArrayBuffer -> base64 text. */
export function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/**
 * POST /models/digits/predict with an image Blob, and optionally the user's weights
 * (`model` = {weights: base64, classes}), a trace and the way to make it 28x28 (`preprocess`,
 * one of GET /models/digits's `preprocess`; the server's default when null); the shipped
 * model when `model` is null.
 */
export async function predictImage(image, { model = null, trace = null, preprocess = null, signal } = {}) {
  const form = new FormData();
  form.append("image", image, "image.png");
  if (preprocess) form.append("preprocess", preprocess);
  if (model) {
    form.append("weights", base64Blob(model.weights), "weights.npz");
    if (model.classes) form.append("classes", JSON.stringify(model.classes));
  }
  if (trace) form.append("trace", JSON.stringify(trace));
  const response = await post("/digits/predict", { body: form, signal });
  return response.json();
}

/** The same with a 28x28 input (JSON). */
export async function predictInput(input, { model = null, trace = null, signal } = {}) {
  const body = { input, trace, ...(model ? { weights: model.weights, classes: model.classes } : {}) };
  const response = await post("/digits/predict", {
    signal,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}
