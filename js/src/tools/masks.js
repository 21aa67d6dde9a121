// The mask paint tool: brush, eraser, polygon, flood fill and superpixel ("smart") fill over an
// image, one class per pixel, at the image's original resolution.
//
//   const tool = createMaskTool(container, { image, imageSize: {width, height},
//     categories: [{ name, color, value }], mask, superpixels, maxHeight, onChange, onSubmit });
//   maxHeight: the stage takes the image's aspect at the container's width, at most this tall
//   (else the stage's own CSS size).
//   tool.getMask()   // Uint8Array of class values, row-major, width x height
//   await tool.getPNG()  // Blob: Ground Truth's colour mask (transparent background)
//
// The full-resolution labels live in one Uint8Array; the screen shows the image and an overlay
// drawn at display resolution from those labels, redrawn only where a stroke changed them.
// Keys (while the tool has focus): 1-9 class, b brush, e eraser, p polygon (click vertices,
// Enter closes, Escape drops), f flood fill, s smart fill, [ and ] brush size, o mask opacity,
// + and - zoom, arrows pan, Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo, Shift+Enter submit.
// Wheel zooms at the pointer; drag with the middle button or with Space held pans.

import { createHistory } from "./history.js";
import { createViewport } from "./viewport.js";

const TOOLS = { b: "brush", e: "eraser", p: "polygon", f: "fill", s: "smart" };
const OPACITIES = [0.55, 1, 0];

export function createMaskTool(container, opts) {
  let { width, height } = opts.imageSize;
  const categories = opts.categories.map((c, i) =>
    typeof c === "string" ? { name: c, color: opts.colors[i], value: i + 1 } : { value: i + 1, ...c });
  const colorOf = new Uint8Array(256 * 4);  // class value -> RGBA
  for (const c of categories) colorOf.set([...hexRGB(c.color), 255], c.value * 4);

  let labels = new Uint8Array(width * height);
  if (opts.mask) labels.set(opts.mask);
  let superpixels = opts.superpixels || null;
  let imagePixels = null;  // RGBA at full resolution, made on the first flood fill
  let tolerance = opts.tolerance ?? 24;
  const state = { tool: "brush", current: categories[0].value, size: opts.brushSize || 8, opacity: 0, polygon: [] };

  // ---------------------------------------------------------------- DOM
  const root = el("div", "gtw-masks");
  root.tabIndex = 0;
  const bar = el("div", "gtw-masks-bar");
  const buttons = {};
  for (const [key, name] of Object.entries(TOOLS)) {
    const b = el("button", "gtw-masks-tool");
    b.type = "button";
    b.textContent = `${name} (${key})`;
    b.addEventListener("click", () => setTool(name));
    buttons[name] = b;
    bar.append(b);
  }
  const legend = el("div", "gtw-masks-legend");
  const swatches = new Map();
  categories.forEach((c, i) => {
    const item = el("button", "gtw-masks-class");
    item.type = "button";
    const sw = el("span", "gtw-masks-swatch");
    sw.style.background = c.color;
    const text = el("span", "gtw-masks-name");
    text.textContent = i < 9 ? `${i + 1} ${c.name}` : c.name;
    item.append(sw, text);
    item.addEventListener("click", () => setClass(c.value));
    swatches.set(c.value, item);
    legend.append(item);
  });
  const stage = el("div", "gtw-masks-stage");
  const canvas = document.createElement("canvas");
  stage.append(canvas);
  root.append(bar, legend, stage);
  container.append(root);
  const ctx = canvas.getContext("2d");
  const overlay = document.createElement("canvas");  // display resolution, the labels' colours
  const octx = overlay.getContext("2d");
  let overlayData = null;

  let img = null;
  const viewport = createViewport(canvas, { width, height, onChange: () => { renderOverlay(); draw(); } });
  const history = createHistory({ onChange: () => opts.onChange && opts.onChange() });

  // ---------------------------------------------------------------- drawing
  function resize() {
    if (opts.maxHeight) {  // in the widget: the stage takes the image's shape, at most maxHeight tall
      const fit = Math.min((container.clientWidth || width) / width, opts.maxHeight / height);
      stage.style.width = Math.round(width * fit) + "px";
      stage.style.height = Math.round(height * fit) + "px";
    }
    const w = stage.clientWidth || 400, h = stage.clientHeight || 300;
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    overlay.width = w;
    overlay.height = h;
    overlayData = octx.createImageData(w, h);
    viewport.fit();
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const v = viewport.view;
    ctx.imageSmoothingEnabled = v.scale < 1;
    if (img) ctx.drawImage(img, v.x, v.y, width * v.scale, height * v.scale);
    ctx.globalAlpha = OPACITIES[state.opacity];
    ctx.drawImage(overlay, 0, 0);
    ctx.globalAlpha = 1;
    if (state.polygon.length) {
      ctx.strokeStyle = colorHex(state.current);
      ctx.lineWidth = 2;
      ctx.beginPath();
      for (const p of state.polygon) {
        const c = viewport.toCanvas(p.x, p.y);
        ctx.lineTo(c.x, c.y);
      }
      ctx.stroke();
    }
  }

  // Overlay pixels of a canvas rectangle (default: all), sampled from the labels.
  function renderOverlay(x0 = 0, y0 = 0, x1 = overlay.width, y1 = overlay.height) {
    if (!overlayData) return;
    const v = viewport.view, W = overlay.width, d = overlayData.data;
    x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
    x1 = Math.min(W, Math.ceil(x1)); y1 = Math.min(overlay.height, Math.ceil(y1));
    if (x1 <= x0 || y1 <= y0) return;
    const cols = new Int32Array(x1 - x0);
    for (let x = x0; x < x1; x++) {
      const ix = Math.floor((x + 0.5 - v.x) / v.scale);
      cols[x - x0] = ix >= 0 && ix < width ? ix : -1;
    }
    for (let y = y0; y < y1; y++) {
      const iy = Math.floor((y + 0.5 - v.y) / v.scale);
      const row = iy >= 0 && iy < height ? iy * width : -1;
      for (let x = x0; x < x1; x++) {
        const o = (y * W + x) * 4, ix = cols[x - x0];
        const k = row >= 0 && ix >= 0 ? labels[row + ix] * 4 : 0;
        d[o] = colorOf[k]; d[o + 1] = colorOf[k + 1]; d[o + 2] = colorOf[k + 2]; d[o + 3] = colorOf[k + 3];
      }
    }
    octx.putImageData(overlayData, 0, 0, x0, y0, x1 - x0, y1 - y0);
  }

  function refreshImageRect(r) {  // after labels changed in image rect r
    const a = viewport.toCanvas(r.x0, r.y0), b = viewport.toCanvas(r.x1, r.y1);
    renderOverlay(a.x - 1, a.y - 1, b.x + 1, b.y + 1);
    draw();
  }

  // ---------------------------------------------------------------- edits
  // A change records each pixel's old value the first time it changes; every pixel of one action
  // gets the same new value, so undo and redo are two loops.
  function beginChange(value) {
    return { value, indices: [], before: [], rect: { x0: width, y0: height, x1: 0, y1: 0 } };
  }

  function setPixel(change, i) {
    if (labels[i] === change.value) return;
    change.indices.push(i);
    change.before.push(labels[i]);
    labels[i] = change.value;
    const x = i % width, y = (i - x) / width, r = change.rect;
    if (x < r.x0) r.x0 = x; if (y < r.y0) r.y0 = y; if (x + 1 > r.x1) r.x1 = x + 1; if (y + 1 > r.y1) r.y1 = y + 1;
  }

  function commit(change) {
    if (!change.indices.length) return;
    const indices = Uint32Array.from(change.indices), before = Uint8Array.from(change.before);
    const { value, rect } = change;
    history.push({
      undo() { for (let k = 0; k < indices.length; k++) labels[indices[k]] = before[k]; refreshImageRect(rect); },
      redo() { for (let k = 0; k < indices.length; k++) labels[indices[k]] = value; refreshImageRect(rect); },
    });
  }

  function stamp(change, cx, cy) {  // a disc of diameter `size` image pixels: pixel centres within it
    const r = state.size / 2;
    const xa = Math.max(0, Math.floor(cx - r)), xb = Math.min(width - 1, Math.ceil(cx + r));
    const ya = Math.max(0, Math.floor(cy - r)), yb = Math.min(height - 1, Math.ceil(cy + r));
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
        if (dx * dx + dy * dy <= r * r) setPixel(change, y * width + x);
      }
    }
  }

  function strokeTo(change, from, to) {
    const step = Math.max(0.5, state.size / 4);
    const n = Math.max(1, Math.ceil(Math.hypot(to.x - from.x, to.y - from.y) / step));
    for (let k = 1; k <= n; k++) stamp(change, from.x + ((to.x - from.x) * k) / n, from.y + ((to.y - from.y) * k) / n);
  }

  function fillPolygon(points) {  // even-odd rule on pixel centres
    const change = beginChange(state.current);
    const ys = points.map((p) => p.y);
    const ya = Math.max(0, Math.floor(Math.min(...ys))), yb = Math.min(height - 1, Math.ceil(Math.max(...ys)));
    for (let y = ya; y <= yb; y++) {
      const cy = y + 0.5, xs = [];
      for (let k = 0; k < points.length; k++) {
        const a = points[k], b = points[(k + 1) % points.length];
        if ((a.y <= cy) !== (b.y <= cy)) xs.push(a.x + ((cy - a.y) * (b.x - a.x)) / (b.y - a.y));
      }
      xs.sort((p, q) => p - q);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const xa = Math.max(0, Math.ceil(xs[k] - 0.5)), xb = Math.min(width - 1, Math.ceil(xs[k + 1] - 0.5) - 1);
        for (let x = xa; x <= xb; x++) setPixel(change, y * width + x);
      }
    }
    commit(change);
    refreshImageRect(change.rect);
  }

  function pixelsOfImage() {
    if (!imagePixels && img) {
      const c = document.createElement("canvas");
      c.width = width;
      c.height = height;
      const g = c.getContext("2d", { willReadFrequently: true });
      g.drawImage(img, 0, 0, width, height);
      imagePixels = g.getImageData(0, 0, width, height).data;
    }
    return imagePixels;
  }

  function floodFill(px, py) {  // 4-connected pixels within `tolerance` of the seed's colour
    const rgba = pixelsOfImage();
    if (!rgba) return;
    const seed = py * width + px, s = seed * 4;
    const r0 = rgba[s], g0 = rgba[s + 1], b0 = rgba[s + 2];
    const seen = new Uint8Array(width * height);
    const stack = [seed];
    seen[seed] = 1;
    const change = beginChange(state.current);
    while (stack.length) {
      const i = stack.pop(), x = i % width;
      setPixel(change, i);
      const next = [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, i >= width ? i - width : -1,
        i + width < width * height ? i + width : -1];
      for (const j of next) {
        if (j < 0 || seen[j]) continue;
        const o = j * 4;
        if (Math.abs(rgba[o] - r0) <= tolerance && Math.abs(rgba[o + 1] - g0) <= tolerance
            && Math.abs(rgba[o + 2] - b0) <= tolerance) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
    commit(change);
    refreshImageRect(change.rect);
  }

  function smartFill(px, py) {  // the whole superpixel under the pointer
    if (!superpixels) return;
    const id = superpixels[py * width + px];
    const change = beginChange(state.current);
    for (let i = 0; i < superpixels.length; i++) if (superpixels[i] === id) setPixel(change, i);
    commit(change);
    refreshImageRect(change.rect);
  }

  // ---------------------------------------------------------------- input
  let stroke = null, panning = null, spaceDown = false;

  function inside(p) { return p.x >= 0 && p.y >= 0 && p.x < width && p.y < height; }

  canvas.addEventListener("pointerdown", (e) => {
    root.focus();
    const p = viewport.fromEvent(e);
    if (e.button === 1 || spaceDown) {
      panning = { x: e.clientX, y: e.clientY };
      canvas.setPointerCapture?.(e.pointerId);
      return;
    }
    if (e.button !== 0) return;
    if (state.tool === "brush" || state.tool === "eraser") {
      stroke = { change: beginChange(state.tool === "eraser" ? 0 : state.current), last: p };
      stamp(stroke.change, p.x, p.y);
      refreshImageRect(stroke.change.rect);
      canvas.setPointerCapture?.(e.pointerId);
    } else if (state.tool === "polygon") {
      state.polygon.push({ x: Math.round(p.x), y: Math.round(p.y) });
      draw();
    } else if (inside(p)) {
      (state.tool === "fill" ? floodFill : smartFill)(Math.floor(p.x), Math.floor(p.y));
    }
  });
  canvas.addEventListener("pointermove", (e) => {
    if (panning) {
      viewport.pan(e.clientX - panning.x, e.clientY - panning.y);
      panning = { x: e.clientX, y: e.clientY };
    } else if (stroke) {
      const p = viewport.fromEvent(e);
      strokeTo(stroke.change, stroke.last, p);
      stroke.last = p;
      refreshImageRect(stroke.change.rect);
    }
  });
  const endPointer = () => {
    if (stroke) commit(stroke.change);
    stroke = null;
    panning = null;
  };
  canvas.addEventListener("pointerup", endPointer);
  canvas.addEventListener("pointercancel", endPointer);
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    viewport.zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });

  root.addEventListener("keyup", (e) => { if (e.key === " ") spaceDown = false; });
  root.addEventListener("keydown", (e) => {
    const mod = e.ctrlKey || e.metaKey, k = e.key;
    let used = true;
    if (mod && (k === "z" || k === "Z")) (e.shiftKey ? history.redo() : history.undo());
    else if (mod && k === "y") history.redo();
    else if (mod) used = false;
    else if (k >= "1" && k <= "9" && categories[+k - 1]) setClass(categories[+k - 1].value);
    else if (TOOLS[k]) setTool(TOOLS[k]);
    else if (k === "[") state.size = Math.max(1, Math.round(state.size / 1.25));
    else if (k === "]") state.size = Math.min(500, Math.round(state.size * 1.25) + 1);
    else if (k === "o") { state.opacity = (state.opacity + 1) % OPACITIES.length; draw(); }
    else if (k === "+" || k === "=") viewport.zoomAt(1.25, canvas.width / 2, canvas.height / 2);
    else if (k === "-") viewport.zoomAt(0.8, canvas.width / 2, canvas.height / 2);
    else if (k.startsWith("Arrow")) viewport.pan(...{ ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] }[k]);
    else if (k === " ") spaceDown = true;
    else if (k === "Enter" && e.shiftKey) opts.onSubmit && opts.onSubmit(api);
    else if (k === "Enter" && state.polygon.length >= 3) { const pts = state.polygon; state.polygon = []; fillPolygon(pts); }
    else if (k === "Escape" && state.polygon.length) { state.polygon = []; draw(); }
    else used = false;
    if (used) { e.preventDefault(); e.stopPropagation(); }
  });

  function setTool(name) {
    state.tool = name;
    state.polygon = [];
    for (const [n, b] of Object.entries(buttons)) b.setAttribute("aria-pressed", String(n === name));
    draw();
  }

  function setClass(value) {
    state.current = value;
    for (const [v, item] of swatches) item.setAttribute("aria-pressed", String(v === value));
    draw();
  }

  function setImage(image, size, mask = null) {  // image: an HTMLImageElement / ImageBitmap / URL
    ({ width, height } = size || { width: image.naturalWidth || image.width, height: image.naturalHeight || image.height });
    labels = new Uint8Array(width * height);
    if (mask) labels.set(mask);
    imagePixels = null;
    superpixels = null;
    history.clear();
    if (opts.maxHeight) resize();
    viewport.setSize(width, height);
    if (typeof image === "string") {
      img = null;
      const el = new Image();
      el.onload = () => { img = el; imagePixels = null; draw(); opts.onImageLoad && opts.onImageLoad(); };
      el.src = image;
    } else {
      img = image;
      draw();
    }
  }

  function getPNG() {  // the labels in their classes' colours, full resolution, transparent background
    const c = document.createElement("canvas");
    c.width = width;
    c.height = height;
    const g = c.getContext("2d");
    const out = g.createImageData(width, height), d = out.data;
    for (let i = 0; i < labels.length; i++) d.set(colorOf.subarray(labels[i] * 4, labels[i] * 4 + 4), i * 4);
    g.putImageData(out, 0, 0);
    return new Promise((resolve) => c.toBlob(resolve, "image/png"));
  }

  const api = {
    element: root,  // takes the keys (focus it)
    /** Whether the mask changed since it was set (an edit that undo can take back). */
    isModified: () => history.canUndo,
    getMask: () => labels.slice(),
    getPNG,
    setImage,
    setSuperpixels(array) { superpixels = array; },
    setTool,
    setClass,
    undo: () => history.undo(),
    redo: () => history.redo(),
    viewport,
    get state() { return { ...state, polygon: [...state.polygon] }; },
    destroy() { root.remove(); },
  };

  colorOf.set([0, 0, 0, 0], 0);
  resize();
  setTool("brush");
  setClass(state.current);
  setImage(opts.image, { width, height }, opts.mask);
  if (opts.superpixels) superpixels = opts.superpixels;
  return api;

  function colorHex(value) { return (categories.find((c) => c.value === value) || {}).color || "#000"; }
}

function hexRGB(hex) {
  const h = hex.replace("#", "");
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

function el(tag, cls) {
  const e = document.createElement(tag);
  e.className = cls;
  return e;
}
