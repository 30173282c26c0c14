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

/** Turn FastAPI's `detail` (a string or a list of {loc, msg, type}) into one sentence. */
export function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        if (!item || typeof item !== "object") return String(item);
        const loc = Array.isArray(item.loc)
          ? item.loc.filter((part) => part !== "body" && part !== "query" && part !== "form")
          : [];
        const where = loc.length ? `${loc.join(".")}: ` : "";
        return `${where}${item.msg ?? JSON.stringify(item)}`;
      })
      .join("; ");
  }
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return "";
}

/** The readable message for a failed response. */
export async function describeError(response) {
  let detail = null;
  let text = "";
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

function imageForm(image, { params, color = "gray", maxSide } = {}) {
  const form = new FormData();
  if (typeof image === "string") form.append("sample", image);
  else form.append("image", image, image.name || "image.png");
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
  if (format === "json") return request("/images/conv2d", { method: "POST", form, signal });
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
