// Zoom, pan and coordinates for tools that draw on an image: one transform from image pixels to
// the canvas's CSS pixels (scale, then offset). Generic: no drawing, no DOM beyond the canvas.

export function createViewport(canvas, { width, height, minScale = 0.05, maxScale = 64, onChange = () => {} }) {
  const view = { scale: 1, x: 0, y: 0, width, height };

  function fit(w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height) {  // the canvas's CSS size
    view.scale = Math.min(w / view.width, h / view.height);
    view.x = (w - view.width * view.scale) / 2;
    view.y = (h - view.height * view.scale) / 2;
    onChange(view);
  }

  // canvas-relative CSS pixels <-> image pixels (continuous: pixel (i, j) spans [i, i+1) x [j, j+1))
  const toImage = (cx, cy) => ({ x: (cx - view.x) / view.scale, y: (cy - view.y) / view.scale });
  const toCanvas = (ix, iy) => ({ x: ix * view.scale + view.x, y: iy * view.scale + view.y });

  function fromEvent(e) {
    const r = canvas.getBoundingClientRect();
    return toImage(e.clientX - r.left, e.clientY - r.top);
  }

  function toClient(ix, iy) {
    const r = canvas.getBoundingClientRect(), p = toCanvas(ix, iy);
    return { x: p.x + r.left, y: p.y + r.top };
  }

  function zoomAt(factor, cx, cy) {  // keeps the image point under (cx, cy) in place
    const s = Math.min(maxScale, Math.max(minScale, view.scale * factor));
    const p = toImage(cx, cy);
    view.scale = s;
    view.x = cx - p.x * s;
    view.y = cy - p.y * s;
    onChange(view);
  }

  function pan(dx, dy) {
    view.x += dx;
    view.y += dy;
    onChange(view);
  }

  function setSize(w, h) {
    view.width = w;
    view.height = h;
    fit();
  }

  return { view, fit, toImage, toCanvas, fromEvent, toClient, zoomAt, pan, setSize };
}
