// One async function per REST endpoint (see /docs). Every failure becomes an ApiError
// whose `message` is written for a person; `describeError` is the one place that does it.

const BASE = "/api/v1";

/** An API call that failed; `message` is readable, `status` is the HTTP status (0: network). */
export class ApiError extends Error {
  constructor(message, { status = 0, detail = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

const STATUS_TEXT = {
  400: "The upload could not be read",
  404: "Not found",
  413: "Too large",
  415: "Unsupported image type",
  422: "Invalid setting",
  429: "Too many requests",
};

/**
 * Turn the API's `detail` (a string, or FastAPI's list of {loc, msg, type}) into one
 * sentence. Every `msg` already starts with the field it is about (docs/api.md, Errors),
 * so the `loc` is not repeated.
 */
export function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => (item && typeof item === "object" ? String(item.msg ?? JSON.stringify(item)) : String(item))).join("; ");
  }
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return "";
}

/** The readable message for a failed response. */
export async function describeError(response) {
  let detail = null;
  let text;
  try {
    const body = await response.json();
    detail = body?.detail ?? null;
    text = describeDetail(detail);
  } catch {
    text = "";
  }
  const label = STATUS_TEXT[response.status] ?? `Server error ${response.status}`;
  return new ApiError(text ? `${label}: ${text}` : `${label} (HTTP ${response.status}).`, {
    status: response.status,
    detail,
  });
}

async function request(path, { method = "GET", json, form, query, expect = "json", signal } = {}) {
  const url = new URL(`${BASE}${path}`, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
  const init = { method, signal, headers: { Accept: expect === "json" ? "application/json" : "*/*" } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError(`Could not reach the server (${error?.message ?? error}). Is it running?`);
  }
  if (!response.ok) throw await describeError(response);
  if (expect === "blob") return response.blob();
  try {
    return await response.json();
  } catch {
    throw new ApiError("The server sent a response that is not valid JSON.", { status: response.status });
  }
}

/** POST /conv2d: `{input, kernel, bias, stride, padding, padding_mode, dilation, trace, ...}`. */
export function conv2d(body, options) {
  return request("/conv2d", { method: "POST", json: body, ...options });
}

/** POST /conv_transpose2d: `{input, kernel, bias, stride, padding, output_padding, dilation, trace, ...}`. */
export function convTranspose2d(body, options) {
  return request("/conv_transpose2d", { method: "POST", json: body, ...options });
}

/** POST /pool2d: `{input, mode, kernel_size, stride, padding, ceil_mode, trace, ...}`. */
export function pool2d(body, options) {
  return request("/pool2d", { method: "POST", json: body, ...options });
}

/** POST /geometry: `{input_size, kernel_size, stride, padding, dilation}`. */
export function geometry(body, options) {
  return request("/geometry", { method: "POST", json: body, ...options });
}

/** GET /kernels: the preset kernels `[{name, label, description, values}]`. */
export function listKernels(options) {
  return request("/kernels", options);
}

/** GET /samples: the sample images `[{name, label, description, url, width, height}]`. */
export function listSamples(options) {
  return request("/samples", options);
}

/** GET /activations: `{activations: [{name, label, formula, derivative, params}]}`. */
export function listActivations(options) {
  return request("/activations", options);
}

/** GET /colormaps: `{rule, colormaps: {name: {description, lut: [[r, g, b] x 256]}}}`. */
export function listColormaps(options) {
  return request("/colormaps", options);
}

let limitsPromise = null;

/**
 * GET /limits: `{name: {value, env, status, description}}` (the `limits` object), fetched
 * once per page and shared by every caller.
 */
export function getLimits(options) {
  limitsPromise ??= request("/limits", options).then(
    (body) => body.limits,
    (error) => {
      limitsPromise = null;
      throw error;
    },
  );
  return limitsPromise;
}

let layersPromise = null;

/**
 * GET /layers: the layer types `[{type, label, description, defaults, schema}]`, fetched
 * once per page and shared by every caller.
 */
export function listLayers(options) {
  layersPromise ??= request("/layers", options).then(
    (body) => body.layers,
    (error) => {
      layersPromise = null;
      throw error;
    },
  );
  return layersPromise;
}

// ---- upload once ------------------------------------------------------------------------
// A page sends the user's file once. Every JSON image response echoes the input as the
// server decoded and resized it, a lossless PNG that decodes to the identical pixels; later
// requests with the same `color` and `maxSide` send that PNG instead of the original, so the
// same numbers come back from any worker. Another `color` or `maxSide` sends the original.
const decodedUploads = new WeakMap(); // original File/Blob -> Map(`${color}|${maxSide}` -> Blob)
const uploadKey = (color, maxSide) => `${color}|${maxSide ?? ""}`;

/** Keep a response's echoed input as the stand-in for `image` (a Blob the user gave). */
function rememberDecoded(image, { color = "gray", maxSide } = {}, body) {
  const url = body?.input?.data_url;
  if (typeof image === "string" || typeof url !== "string" || !url.startsWith("data:image/png;base64,")) return body;
  if (decodedUploads.get(image)?.has(uploadKey(color, maxSide))) return body;
  const bytes = Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (c) => c.charCodeAt(0));
  if (!decodedUploads.has(image)) decodedUploads.set(image, new Map());
  decodedUploads.get(image).set(uploadKey(color, maxSide), new Blob([bytes], { type: "image/png" }));
  return body;
}

function imageForm(image, { params, color = "gray", maxSide } = {}) {
  const form = new FormData();
  if (typeof image === "string") form.append("sample", image);
  else {
    const decoded = decodedUploads.get(image)?.get(uploadKey(color, maxSide));
    if (decoded) form.append("image", decoded, "decoded.png");
    else form.append("image", image, image.name || "image.png");
  }
  form.append("params", JSON.stringify(params));
  form.append("color", color);
  if (maxSide !== undefined) form.append("max_side", String(maxSide));
  return form;
}

/**
 * POST /images/conv2d (multipart): filter an image Blob, or a sample named by a string.
 * `format` "json" (default) gives maps as data URLs; "png" and "npy" give a Blob.
 */
export function imageConv2d(image, { params, color, maxSide, format = "json", signal } = {}) {
  const form = imageForm(image, { params, color, maxSide });
  if (format === "json") {
    return request("/images/conv2d", { method: "POST", form, signal }).then((body) => rememberDecoded(image, { color, maxSide }, body));
  }
  return request("/images/conv2d", { method: "POST", form, signal, query: { format }, expect: "blob" });
}

/** Fetch a same-origin file (a sample image) as a Blob. */
export async function fetchBlob(url, { signal } = {}) {
  let response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    throw new ApiError(`Could not download ${url} (${error?.message ?? error}).`);
  }
  if (!response.ok) throw await describeError(response);
  return response.blob();
}

// ---- issue 5: network, arithmetic, activations, learn ------------------------------------

/** POST /images/pipeline (multipart): every layer's feature maps for a stack of layers. */
export function imagePipeline(image, { params, color, maxSide, signal } = {}) {
  const form = imageForm(image, { params, color, maxSide });
  return request("/images/pipeline", { method: "POST", form, signal }).then((body) => rememberDecoded(image, { color, maxSide }, body));
}

/** POST /images/pipeline?format=npy: the last layer's exact float32 output `{shape, data}`. */
export async function imagePipelineArray(image, { params, color, maxSide, signal } = {}) {
  const form = imageForm(image, { params, color, maxSide });
  const blob = await request("/images/pipeline", { method: "POST", form, signal, query: { format: "npy" }, expect: "blob" });
  return parseNpy(await blob.arrayBuffer());
}

/** POST /images/pixels (multipart): exact decoded values of a crop, `{pixels: [C][h][w], ...}`. */
export function imagePixels(image, { rows, cols, color, maxSide, signal } = {}) {
  const form = imageForm(image, { params: { rows, cols }, color, maxSide });
  return request("/images/pixels", { method: "POST", form, signal });
}

/** POST /activation: `{input, function, negative_slope, alpha, dim}` -> `{output, shape}`. */
export function activation(body, options) {
  return request("/activation", { method: "POST", json: body, ...options });
}

/** POST /loss: `{function: "mse" | "cross_entropy", input, target, reduction, ...}`. */
export function loss(body, options) {
  return request("/loss", { method: "POST", json: body, ...options });
}

/**
 * POST /learn as server-sent events, read with fetch and a stream reader (EventSource
 * cannot POST). Calls `onEvent(event)` for every `data:` message; resolves when the
 * stream ends. Abort with `signal` to stop the run (the server stops when we disconnect).
 */
export async function learnStream(body, { signal, onEvent }) {
  let response;
  try {
    response = await fetch(`${BASE}/learn`, {
      method: "POST",
      signal,
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError(`Could not reach the server (${error?.message ?? error}). Is it running?`);
  }
  if (!response.ok) throw await describeError(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = message
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (!data) continue;
      let event;
      try {
        event = JSON.parse(data);
      } catch {
        throw new ApiError("The server sent a progress event that is not valid JSON.");
      }
      onEvent(event);
    }
  }
}

/** Decode a little-endian float32/float64 .npy file: `{shape, data}` (C order). */
export function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.slice(1, 6));
  if (bytes[0] !== 0x93 || magic !== "NUMPY") throw new ApiError("The server sent an array that is not a .npy file.");
  const major = bytes[6];
  const view = new DataView(buffer);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.slice(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "";
  const shape = shapeText
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map(Number);
  const offset = start + headerLength;
  if (descr === "<f4") return { shape, data: new Float32Array(buffer.slice(offset)) };
  if (descr === "<f8") return { shape, data: new Float64Array(buffer.slice(offset)) };
  throw new ApiError(`The server sent an array of type ${descr}, which this page cannot read.`);
}

/** GET /models/{name}: layers, classes, held-out accuracy and confusion matrix. */
export function modelInfo(name, options) {
  return request(`/models/${encodeURIComponent(name)}`, options);
}

/** POST /models/{name}/predict with `{input, trace}` (JSON) or an `image` Blob (multipart). */
export function modelPredict(name, { input, image, trace, signal } = {}) {
  const path = `/models/${encodeURIComponent(name)}/predict`;
  if (image !== undefined) {
    const form = new FormData();
    form.append("image", image, "drawing.png");
    if (trace) form.append("trace", JSON.stringify(trace));
    return request(path, { method: "POST", form, signal });
  }
  return request(path, { method: "POST", json: { input, trace: trace ?? null }, signal });
}

/** GET /models/{name}/samples?label=&prediction=&misclassified=&limit= (held-out digits). */
export function modelSamples(name, query, options) {
  return request(`/models/${encodeURIComponent(name)}/samples`, { query, ...options });
}

/** GET /models/{name}/samples/{index}: one held-out digit with its 28x28 input. */
export function modelSample(name, index, options) {
  return request(`/models/${encodeURIComponent(name)}/samples/${index}`, options);
}
