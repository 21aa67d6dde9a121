// The mask paint tool: brush, eraser, polygon, flood fill and superpixel ("smart") fill over an
// image, one class per pixel, at the image's original resolution.
//
//   const tool = createMaskTool(container, { image, imageSize: {width, height},
//     categories: [{ name, color, value }], mask, superpixels, maxHeight, onChange, onSubmit });
//   superpixels: { labels: Uint16Array, width, height } at any resolution (the kernel's, see
//   gtwidgets/superpixels.py), or a Uint16Array at the image's size.
//   maxHeight: the stage takes the image's aspect at the container's width, at most this tall
//   (else the stage's own CSS size).
//   tool.getMask()        // Uint8Array of class values, row-major, width x height (a copy)
//   await tool.encodePNG() // ArrayBuffer: the mask as a PNG in the classes' colours, made in a worker
//   await tool.finish()    // {png, labels}: the same without a copy, for a host done with the tool
//
// The full-resolution labels are one byte a pixel (./mask-labels.js). The screen is three stacked
// canvases at display resolution: the image (redrawn when the view moves), the labels' colours
// (only the pixels a stroke changed are redrawn; its opacity is CSS) and the pointer's layer (the
// brush outline, the polygon being drawn).
// Keys (while the tool has focus): 1-9 class, b brush, e eraser, p polygon (click vertices, Enter
// closes, Backspace drops the last vertex, Escape all), f flood fill (, and . tolerance), s smart
// fill, [ and ] brush size, o mask opacity, + and - zoom, arrows pan, Ctrl+Z undo, Ctrl+Shift+Z or
// Ctrl+Y redo, Shift+Enter submit. Wheel zooms at the pointer; drag with the middle button or with
// Space held pans.

import { createHistory } from "./history.js";
import { createViewport } from "./viewport.js";
import { createLabels, emptyRect } from "./mask-labels.js";
import { boxOf, capsule, cellOf, flood, paintCells, polygon } from "./mask-shapes.js";
import { createOverlay } from "./mask-overlay.js";
import { encodeMaskPNG } from "./mask-png.js";

const TOOLS = { b: "brush", e: "eraser", p: "polygon", f: "fill", s: "smart" };
const OPACITIES = [0.55, 1, 0];
const HISTORY_BYTES = 256 * 2 ** 20;  // undo keeps the tiles it needs, up to this much
const MAX_GRID = 2048;                // flood fill reads the shown image at most this big
const PNG_MEASURE = "gtwidgets:mask-png";

export function createMaskTool(container, opts) {
  let { width, height } = opts.imageSize;
  const categories = opts.categories.map((c, i) =>
    typeof c === "string" ? { name: c, color: opts.colors[i], value: i + 1 } : { value: i + 1, ...c });
  const rgbOf = Object.fromEntries(categories.map((c) => [c.value, hexRGB(c.color)]));  // class value -> [r, g, b]
  let labels = null;  // set by setImage
  let superpixels = null, grid = null, img = null;
  let tolerance = opts.tolerance ?? 24, message = "";
  const state = { tool: "brush", current: categories[0].value, size: opts.brushSize || 0, opacity: 0, polygon: [] };

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
  const status = el("span", "gtw-masks-status");
  status.setAttribute("aria-live", "polite");
  bar.append(status);
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
  stage.style.position = "relative";
  const [base, overlay, pointer] = ["gtw-masks-image", "gtw-masks-overlay", "gtw-masks-pointer"].map((name) => {
    const c = el("canvas", name);
    c.style.position = "absolute";
    c.style.left = c.style.top = "0";
    stage.append(c);
    return c;
  });
  pointer.style.cursor = "crosshair";
  root.append(bar, legend, stage);
  container.append(root);
  const bctx = base.getContext("2d"), pctx = pointer.getContext("2d");
  const layer = createOverlay(overlay);
  for (const c of categories) layer.setColor(c.value, rgbOf[c.value]);
  let hover = null, pointerDrawn = false;

  const viewport = createViewport(pointer, { width, height, onChange: () => { drawImage(); renderOverlay(); drawPointer(); } });
  const history = createHistory({ maxBytes: HISTORY_BYTES, onChange: () => opts.onChange && opts.onChange() });

  // ---------------------------------------------------------------- drawing
  // Sizes are set, never read back after a change: each read of a changed layout is a layout of
  // the whole page (JupyterLab's is large), and a card switch should cost one.
  function resize() {
    let w, h;
    if (opts.maxHeight) {  // in the widget: the stage takes the image's shape, at most maxHeight tall
      const fit = Math.min((container.clientWidth || width) / width, opts.maxHeight / height);
      [w, h] = [Math.round(width * fit), Math.round(height * fit)];
      stage.style.width = w + "px";
      stage.style.height = h + "px";
    } else {
      [w, h] = [stage.clientWidth || 400, stage.clientHeight || 300];
    }
    pointerDrawn = false;  // sizing a canvas clears it
    for (const c of [base, pointer]) {
      c.width = w;
      c.height = h;
      c.style.width = w + "px";
      c.style.height = h + "px";
    }
    layer.resize(w, h);
    viewport.fit(w, h);
  }

  function drawImage() {
    const v = viewport.view;
    bctx.clearRect(0, 0, base.width, base.height);
    bctx.imageSmoothingEnabled = v.scale < 1;
    if (img) bctx.drawImage(img, v.x, v.y, width * v.scale, height * v.scale);
  }

  function renderOverlay(x0, y0, x1, y1) {
    layer.render(labels, viewport.view, x0, y0, x1, y1);
  }

  function refresh(r) {  // after labels changed in image rect r
    if (!(r.x1 > r.x0)) return;
    const a = viewport.toCanvas(r.x0, r.y0), b = viewport.toCanvas(r.x1, r.y1);
    renderOverlay(a.x - 1, a.y - 1, b.x + 1, b.y + 1);
  }

  function drawPointer() {  // the brush outline and the polygon being drawn
    if (pointerDrawn) pctx.clearRect(0, 0, pointer.width, pointer.height);
    pointerDrawn = !!(hover || state.polygon.length);
    if (!pointerDrawn) return;
    const color = colorHex(state.current);
    pctx.lineWidth = 1.5;
    if (state.polygon.length) {
      pctx.strokeStyle = color;
      pctx.beginPath();
      for (const p of [...state.polygon, ...(hover ? [hover] : [])]) {
        const c = viewport.toCanvas(p.x, p.y);
        pctx.lineTo(c.x, c.y);
      }
      pctx.stroke();
    } else if (hover && (state.tool === "brush" || state.tool === "eraser")) {
      const c = viewport.toCanvas(hover.x, hover.y);
      pctx.strokeStyle = state.tool === "eraser" ? "#000" : color;
      pctx.beginPath();
      pctx.arc(c.x, c.y, Math.max(1, (state.size / 2) * viewport.view.scale), 0, 2 * Math.PI);
      pctx.stroke();
    }
  }

  function showStatus() {
    const tol = state.tool === "fill" ? ` · tolerance ${tolerance}` : "";
    const pct = Math.round(OPACITIES[state.opacity] * 100);
    status.textContent = ` ${state.tool} · brush ${state.size} px${tol} · mask ${pct}%${message ? " · " + message : ""}`;
    message = "";
  }

  // ---------------------------------------------------------------- edits
  function apply(change) {  // a finished edit: on screen, in the history
    refresh(change.rect);
    const entry = labels.commit(change);
    if (entry) history.push({ undo: () => refresh(entry.undo()), redo: () => refresh(entry.redo()), bytes: entry.bytes });
  }

  function imageGrid() {  // the shown image's pixels, for flood fill
    if (!grid && img) {
      const iw = img.naturalWidth || img.width, ih = img.naturalHeight || img.height;
      const k = Math.min(1, MAX_GRID / Math.max(iw, ih));
      const c = document.createElement("canvas");
      c.width = Math.max(1, Math.round(iw * k));
      c.height = Math.max(1, Math.round(ih * k));
      const g = c.getContext("2d", { willReadFrequently: true });
      g.drawImage(img, 0, 0, c.width, c.height);
      grid = { rgba: g.getImageData(0, 0, c.width, c.height).data, width: c.width, height: c.height };
    }
    return grid;
  }

  function fillAt(p) {  // flood fill or smart fill at image point p
    const g = state.tool === "fill" ? imageGrid() : superpixels;
    if (!g) {
      message = state.tool === "fill" ? "the image is still loading" : "no superpixels for this image (yet)";
      return showStatus();
    }
    const cell = cellOf(p.y, height, g.height) * g.width + cellOf(p.x, width, g.width);
    const change = labels.begin(state.current);
    if (state.tool === "fill") {
      const { inside, box } = flood(g.rgba, g.width, g.height, cell, tolerance);
      paintCells(labels, change, g.width, g.height, box, (i) => inside[i] === 1);
    } else {
      const sp = g.labels, id = sp[cell];
      paintCells(labels, change, g.width, g.height, boxOf(sp, g.width, id), (i) => sp[i] === id);
    }
    apply(change);
  }

  // ---------------------------------------------------------------- input
  let stroke = null, panning = null, spaceDown = false;

  const inside = (p) => p.x >= 0 && p.y >= 0 && p.x < width && p.y < height;

  pointer.addEventListener("pointerdown", (e) => {
    root.focus();
    const p = viewport.fromEvent(e);
    if (e.button === 1 || spaceDown) {
      panning = { x: e.clientX, y: e.clientY };
      pointer.setPointerCapture?.(e.pointerId);
      return;
    }
    if (e.button !== 0) return;
    if (state.tool === "brush" || state.tool === "eraser") {
      stroke = { change: labels.begin(state.tool === "eraser" ? 0 : state.current), last: p };
      capsule(labels, stroke.change, p.x, p.y, p.x, p.y, state.size / 2);
      refresh(stroke.change.dirty);
      stroke.change.dirty = emptyRect();
      pointer.setPointerCapture?.(e.pointerId);
    } else if (state.tool === "polygon") {
      state.polygon.push({ x: Math.round(p.x), y: Math.round(p.y) });
      drawPointer();
    } else if (inside(p)) {
      fillAt(p);
    }
  });
  pointer.addEventListener("pointermove", (e) => {
    if (panning) {
      viewport.pan(e.clientX - panning.x, e.clientY - panning.y);
      panning = { x: e.clientX, y: e.clientY };
      return;
    }
    hover = viewport.fromEvent(e);
    if (stroke) {  // every point the browser coalesced into this event, for a smooth stroke
      const change = stroke.change, r = state.size / 2;
      const events = (e.getCoalescedEvents && e.getCoalescedEvents()) || [];
      for (const ev of events.length ? events : [e]) {
        const p = viewport.fromEvent(ev);
        capsule(labels, change, stroke.last.x, stroke.last.y, p.x, p.y, r);
        stroke.last = p;
      }
      refresh(change.dirty);
      change.dirty = emptyRect();
    }
    drawPointer();
  });
  const endPointer = () => {
    if (stroke) apply(stroke.change);
    stroke = null;
    panning = null;
  };
  pointer.addEventListener("pointerup", endPointer);
  pointer.addEventListener("pointercancel", endPointer);
  pointer.addEventListener("pointerleave", () => { hover = null; drawPointer(); });
  pointer.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = pointer.getBoundingClientRect();
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
    else if (k === "[") setSize(Math.round(state.size / 1.25));
    else if (k === "]") setSize(Math.round(state.size * 1.25) + 1);
    else if (k === "," || k === ".") { tolerance = Math.max(0, Math.min(255, tolerance + (k === "," ? -4 : 4))); showStatus(); }
    else if (k === "o") { state.opacity = (state.opacity + 1) % OPACITIES.length; overlay.style.opacity = OPACITIES[state.opacity]; showStatus(); }
    else if (k === "+" || k === "=") viewport.zoomAt(1.25, pointer.width / 2, pointer.height / 2);
    else if (k === "-") viewport.zoomAt(0.8, pointer.width / 2, pointer.height / 2);
    else if (k.startsWith("Arrow")) viewport.pan(...{ ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] }[k]);
    else if (k === " ") spaceDown = true;
    else if (k === "Enter" && e.shiftKey) opts.onSubmit && opts.onSubmit(api);
    else if (k === "Enter" && state.polygon.length >= 3) closePolygon();
    else if (k === "Backspace" && state.polygon.length) { state.polygon.pop(); drawPointer(); }
    else if (k === "Escape" && state.polygon.length) { state.polygon = []; drawPointer(); }
    else used = false;
    if (used) { e.preventDefault(); e.stopPropagation(); }
  });

  function closePolygon() {
    const change = labels.begin(state.current);
    polygon(labels, change, state.polygon);
    state.polygon = [];
    apply(change);
    drawPointer();
  }

  function setTool(name) {
    state.tool = name;
    state.polygon = [];
    for (const [n, b] of Object.entries(buttons)) b.setAttribute("aria-pressed", String(n === name));
    drawPointer();
    showStatus();
  }

  function setClass(value) {
    state.current = value;
    for (const [v, item] of swatches) item.setAttribute("aria-pressed", String(v === value));
    drawPointer();
  }

  function setSize(size) {
    state.size = Math.max(1, Math.min(1000, size));
    drawPointer();
    showStatus();
  }

  function setSuperpixels(sp) {  // { labels, width, height } or labels at the image's size
    superpixels = !sp ? null : ArrayBuffer.isView(sp) ? { labels: sp, width, height } : sp;
  }

  function setImage(image, size, mask = null) {  // image: an HTMLImageElement / ImageBitmap / URL
    ({ width, height } = size || { width: image.naturalWidth || image.width, height: image.naturalHeight || image.height });
    labels = createLabels(width, height, mask);
    grid = null;
    superpixels = null;
    img = typeof image === "string" ? null : image;
    history.clear();
    viewport.view.width = width;
    viewport.view.height = height;
    resize();  // fits the view: draws the image and the labels once
    if (!opts.brushSize) setSize(Math.round(16 / viewport.view.scale));  // 16 screen pixels at first
    if (typeof image === "string") {
      const el = new Image();
      el.onload = () => { img = el; grid = null; drawImage(); opts.onImageLoad && opts.onImageLoad(); };
      el.src = image;
    }
  }

  async function encode(data) {  // {png, labels}, the labels' bytes given to the worker and back
    const start = performance.now();
    const colors = Object.fromEntries(categories.map((c) => [c.value, rgbOf[c.value]]));
    const out = await encodeMaskPNG(data, width, height, colors);
    performance.clearMeasures(PNG_MEASURE);
    performance.measure(PNG_MEASURE, { start, detail: { bytes: out.png.byteLength, encoder_ms: out.ms } });
    return out;
  }

  const api = {
    element: root,  // takes the keys (focus it)
    /** Whether the mask changed since it was set (an edit that undo can take back). */
    isModified: () => history.canUndo,
    getMask: () => labels.data.slice(),
    /** The labels themselves (no copy): for a host that is done with the tool. */
    get labels() { return labels.data; },
    /** Class values with at least one pixel (not the background). */
    present: () => labels.present(),
    /** The mask as a PNG (ArrayBuffer), encoded in a worker from a copy taken now; the time it
     * took is the User Timing measure "gtwidgets:mask-png", the encoder's own in its detail
     * (bench/mask_latency.py reads them). */
    encodePNG: async () => (await encode(labels.data.slice())).png,
    /** For a host done with the tool: the PNG and the labels, which go to the worker and come back
     * (no copy of 12 MB on the page's thread); the tool must not be used after. */
    finish: () => encode(labels.data),
    getPNG: async () => new Blob([await api.encodePNG()], { type: "image/png" }),
    setImage,
    setSuperpixels,
    setTool,
    setClass,
    undo: () => history.undo(),
    redo: () => history.redo(),
    viewport,
    get state() { return { ...state, tolerance, polygon: [...state.polygon] }; },
    destroy() { root.remove(); },
  };

  overlay.style.opacity = OPACITIES[state.opacity];
  setTool("brush");
  setClass(state.current);
  setImage(opts.image, { width, height }, opts.mask);
  setSuperpixels(opts.superpixels);
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
