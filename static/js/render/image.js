// Painters for raster images (PNG data URLs rendered by the server).

/** Decode an image URL (a data URL from the API) into an HTMLImageElement. */
export async function loadImage(url) {
  const image = new Image();
  image.decoding = "async";
  image.src = url;
  await image.decode();
  return image;
}

/** Draw `image` at its natural size, pixel for pixel (no smoothing). */
export function drawImageExact(ctx, image) {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.drawImage(image, 0, 0);
  ctx.restore();
}
