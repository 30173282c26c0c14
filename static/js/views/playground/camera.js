// The playground's camera source: a live preview (getUserMedia) and a Capture button that
// turns the current frame into a PNG file handed to `onCapture`, which treats it exactly
// like an upload (sent once; later requests reuse the server's echoed PNG, see api.js).

import { byTestId } from "../../dom.js";

/** Why the camera cannot be used, in words a visitor can act on. */
export function cameraProblem(error) {
  const name = error?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "The camera was not allowed. Allow it for this site in the browser's settings, or use a sample or an upload.";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    return "No camera was found on this device. Use a sample or upload an image instead.";
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return "The camera is busy in another program or could not start. Close that program, or use a sample or an upload.";
  }
  if (name === "Unsupported") return error.message;
  return `The camera could not start (${error?.message || name || "unknown error"}). Use a sample or an upload instead.`;
}

export function buildCamera(root, { onCapture }) {
  const el = (id) => byTestId(root, id);
  const box = el("camera");
  const video = el("camera-video");
  const start = el("camera-start");
  const capture = el("camera-capture");
  const stop = el("camera-stop");
  const msg = el("camera-msg");
  let stream = null;
  let shots = 0;

  function show(state) {
    box.dataset.state = state; // "off" | "starting" | "on" | "error"
    const on = state === "on";
    video.hidden = !on;
    capture.hidden = !on;
    stop.hidden = !on;
    start.hidden = on;
    start.disabled = state === "starting";
  }

  function problem(text) {
    msg.textContent = text;
    msg.hidden = false;
    show("error");
  }

  async function open() {
    msg.hidden = true;
    if (!navigator.mediaDevices?.getUserMedia) {
      const error = new Error(
        "This browser offers no camera to this page (it needs a secure connection: https or localhost). Use a sample or an upload instead.",
      );
      error.name = "Unsupported";
      return problem(cameraProblem(error));
    }
    show("starting");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      video.srcObject = stream;
      await video.play();
      show("on");
    } catch (error) {
      close();
      problem(cameraProblem(error));
    }
  }

  function close() {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    video.srcObject = null;
    if (box.dataset.state !== "error") show("off");
  }

  /** The frame on screen as a PNG File (the video's own size, no scaling here). */
  function grab() {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }

  start.addEventListener("click", open);
  stop.addEventListener("click", () => {
    show("off");
    close();
  });
  capture.addEventListener("click", async () => {
    if (!stream || !video.videoWidth) return;
    const blob = await grab();
    if (!blob) return problem("The frame could not be captured. Try again, or use an upload.");
    shots += 1;
    const file = new File([blob], `camera-frame-${shots}.png`, { type: "image/png" });
    onCapture(file, `camera frame ${shots} (${video.videoWidth}×${video.videoHeight} px)`);
  });
  show("off");
  return { close };
}
