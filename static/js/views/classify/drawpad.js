// A drawing pad: dark strokes on white with pointer events (mouse, pen, touch), undo, clear.
// It knows nothing about the network: `onChange(strokes)` fires while and after drawing.

export function createDrawPad(canvas, { onChange, lineWidth = 20 }) {
  const ctx = canvas.getContext("2d");
  const strokes = [];
  let current = null;

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return [((event.clientX - rect.left) / rect.width) * canvas.width, ((event.clientY - rect.top) / rect.height) * canvas.height];
  }

  function redraw() {
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#000000";
    ctx.lineWidth = lineWidth;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const stroke of strokes) {
      ctx.beginPath();
      ctx.moveTo(...stroke[0]);
      for (const p of stroke.length > 1 ? stroke.slice(1) : [stroke[0]]) ctx.lineTo(...p);
      ctx.stroke();
    }
  }

  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    current = [point(event)];
    strokes.push(current);
    redraw();
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    current.push(point(event));
    redraw();
    onChange(strokes.length);
  });
  const end = () => {
    if (!current) return;
    current = null;
    onChange(strokes.length);
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  redraw();

  return {
    undo() {
      strokes.pop();
      redraw();
      onChange(strokes.length);
    },
    clear() {
      strokes.length = 0;
      redraw();
      onChange(0);
    },
    isEmpty: () => strokes.length === 0,
    /** The drawing as a PNG Blob. */
    blob: () => new Promise((resolve) => canvas.toBlob(resolve, "image/png")),
  };
}
