// The mask layer at display resolution: each canvas pixel shows the class colour of the image
// pixel under its centre (one label sampled a screen pixel, however large the image), drawn
// only in the rectangle that changed.

export function createOverlay(canvas) {
  const ctx = canvas.getContext("2d");
  const colors = new Uint32Array(256);  // class value -> RGBA as one word (0: transparent)
  const bytes = new Uint8Array(colors.buffer);
  let data = null, words = null, blank = true;  // blank: nothing drawn since the canvas was sized

  /** Class `value` in `rgb` ([r, g, b]), opaque. */
  function setColor(value, rgb) {
    bytes.set([...rgb, 255], value * 4);
  }

  function resize(w, h) {
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    data = ctx.createImageData(w, h);
    words = new Uint32Array(data.data.buffer);
    blank = true;
  }

  /** Draw `labels` (./mask-labels.js) seen through `view` (viewport.js) in the canvas rectangle
   * [x0, x1) x [y0, y1) (default: all). */
  function render(labels, view, x0 = 0, y0 = 0, x1 = canvas.width, y1 = canvas.height) {
    if (!data || !labels) return;
    const W = canvas.width, { width, height } = labels, src = labels.data;
    x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
    x1 = Math.min(W, Math.ceil(x1)); y1 = Math.min(canvas.height, Math.ceil(y1));
    if (x1 <= x0 || y1 <= y0) return;
    if (!labels.present().length) {  // nothing painted (a new card): nothing to sample or draw
      if (blank) return;  // a new canvas is transparent: touching it would only allocate its pixels
      words.fill(0);
      blank = true;
      return ctx.clearRect(0, 0, W, canvas.height);
    }
    blank = false;
    const cols = new Int32Array(x1 - x0);
    for (let x = x0; x < x1; x++) {
      const ix = Math.floor((x + 0.5 - view.x) / view.scale);
      cols[x - x0] = ix >= 0 && ix < width ? ix : -1;
    }
    for (let y = y0; y < y1; y++) {
      const iy = Math.floor((y + 0.5 - view.y) / view.scale), o = y * W;
      if (iy < 0 || iy >= height) { words.fill(0, o + x0, o + x1); continue; }
      const row = iy * width;
      for (let x = x0; x < x1; x++) {
        const ix = cols[x - x0];
        words[o + x] = ix >= 0 ? colors[src[row + ix]] : 0;
      }
    }
    ctx.putImageData(data, 0, 0, x0, y0, x1 - x0, y1 - y0);
  }

  return { setColor, resize, render };
}
