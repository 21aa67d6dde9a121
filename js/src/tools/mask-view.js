// Masks shown read only over an image: verification (the prior mask under review) and review
// (each worker's mask, the consolidated one, where they disagree). Nothing is painted here; the
// paint tool is masks.js. Each layer is a Ground Truth colour PNG at the original resolution whose
// background colour is left out, drawn over the card's image at the chosen opacity.
//
//   const view = createMaskView(container, { image, imageSize: {width, height},
//     layers: [{ name, data (DataView of the PNG), background: "#ffffff", color }],
//     legend: [{ name, color }], problem, maxHeight });
//   view.onKey("o")  // opacity 55% -> 100% -> hidden; "m" the next layer; "+" / "-" zoom
//   view.current()   // the layer shown
//
// The wheel zooms at the pointer and a drag pans (viewport.js, as in the paint tools).
// Names are manifest and worker data: textContent only.

import { el, textEl as text } from "../dom.js";
import { createViewport } from "./viewport.js";

const OPACITIES = [0.55, 1, 0];

export function createMaskView(container, opts) {
  const { width, height } = opts.imageSize;
  const layers = opts.layers || [];
  const state = { layer: 0, opacity: 0 };

  const root = el("div", "gtw-maskview");
  const bar = el("div", "gtw-maskview-bar");
  const opacityBtn = button("gtw-maskview-opacity", "", () => onKey("o"));
  bar.append(opacityBtn);
  const layerBtns = layers.map((layer, i) => {
    const b = button("gtw-maskview-layer", "", () => show(i));
    if (layer.color) {
      const sw = el("span", "gtw-maskview-swatch");
      sw.style.background = layer.color;
      b.append(sw);
    }
    b.append(text("span", "", layer.name));
    b.setAttribute("aria-pressed", "false");
    return b;
  });
  if (layers.length > 1) bar.append(text("span", "gtw-maskview-hint", "mask (m):"), ...layerBtns);
  const legend = el("div", "gtw-maskview-legend");
  for (const c of opts.legend || []) {
    const sw = el("span", "gtw-maskview-swatch");
    sw.style.background = c.color;
    legend.append(el("span", "gtw-maskview-class", sw, text("span", "", c.name)));
  }
  const stage = el("div", "gtw-maskview-stage");
  const canvas = document.createElement("canvas");
  stage.append(canvas);
  root.append(bar, legend, stage);
  if (opts.problem) root.append(text("div", "gtw-maskview-problem", opts.problem));
  container.append(root);
  const ctx = canvas.getContext("2d");
  const viewport = createViewport(canvas, { width, height, onChange: () => draw() });

  let destroyed = false;
  function resize() {
    const fit = Math.min((container.clientWidth || width) / width, (opts.maxHeight || height) / height);
    const w = Math.max(1, Math.round(width * fit)), h = Math.max(1, Math.round(height * fit));
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    viewport.fit();
  }

  function draw() {
    if (destroyed) return;
    const v = viewport.view;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = true;
    if (opts.image && opts.image.complete && opts.image.naturalWidth) {
      ctx.drawImage(opts.image, v.x, v.y, width * v.scale, height * v.scale);
    }
    const layer = layers[state.layer];
    const mask = layer && layer.canvas;
    if (mask && OPACITIES[state.opacity] > 0) {
      ctx.globalAlpha = OPACITIES[state.opacity];
      ctx.imageSmoothingEnabled = false; // class colours stay exact
      ctx.drawImage(mask, v.x, v.y, width * v.scale, height * v.scale);
      ctx.globalAlpha = 1;
    }
  }

  function renderBar() {
    opacityBtn.textContent = `mask opacity (o): ${Math.round(OPACITIES[state.opacity] * 100)}%`;
    layerBtns.forEach((b, i) => {
      b.classList.toggle("gtw-maskview-shown", i === state.layer);
      b.setAttribute("aria-pressed", i === state.layer ? "true" : "false");
    });
    root.dataset.layer = layers[state.layer] ? layers[state.layer].name : "";
    root.dataset.opacity = String(OPACITIES[state.opacity]);
  }

  function show(i) {
    if (!layers.length) return;
    state.layer = ((i % layers.length) + layers.length) % layers.length;
    renderBar();
    const layer = layers[state.layer];
    if (layer.canvas) draw();
    else decodeLayer(layer).then(() => !destroyed && layers[state.layer] === layer && draw());
  }

  function onKey(key) {
    if (key === "o") state.opacity = (state.opacity + 1) % OPACITIES.length;
    else if (key === "m" && layers.length > 1) return show(state.layer + 1), true;
    else if (key === "+" || key === "=") viewport.zoomAt(1.25, canvas.width / 2, canvas.height / 2);
    else if (key === "-") viewport.zoomAt(0.8, canvas.width / 2, canvas.height / 2);
    else return false;
    renderBar();
    draw();
    return true;
  }

  // wheel zoom at the pointer, drag to pan
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    viewport.zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    viewport.pan(e.clientX - drag.x, e.clientY - drag.y);
    drag = { x: e.clientX, y: e.clientY };
  });
  canvas.addEventListener("pointerup", () => (drag = null));

  const onResize = () => resize();
  window.addEventListener("resize", onResize);
  if (opts.image && !opts.image.complete) opts.image.addEventListener("load", draw, { once: true });
  resize();
  renderBar();
  show(0);
  draw();

  return {
    element: root,
    onKey,
    current: () => layers[state.layer] || null,
    isModified: () => false,
    /** Resolves once the layer shown is drawn (tests, and a card that wants to wait). */
    ready: () => (layers[state.layer] ? decodeLayer(layers[state.layer]).then(() => draw()) : Promise.resolve()),
    destroy() {
      destroyed = true;
      window.removeEventListener("resize", onResize);
      root.remove();
    },
  };
}

/** A layer's PNG -> a canvas at its own size with the background colour transparent; kept on the
 * layer (the card's meta), so going back to a card does not decode it again. */
export function decodeLayer(layer) {
  if (layer.decoding) return layer.decoding;
  const data = layer.data;
  if (!data) return (layer.decoding = Promise.resolve(null));
  const bytes = data instanceof DataView ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
  layer.decoding = createImageBitmap(new Blob([bytes], { type: "image/png" }),
    { premultiplyAlpha: "none", colorSpaceConversion: "none" }).then((bitmap) => {
    const c = document.createElement("canvas");
    c.width = bitmap.width;
    c.height = bitmap.height;
    const g = c.getContext("2d");
    g.drawImage(bitmap, 0, 0);
    bitmap.close();
    const image = g.getImageData(0, 0, c.width, c.height);
    const px = image.data;
    const bg = parseInt((layer.background || "#ffffff").slice(1), 16);
    const r = bg >> 16, gg = (bg >> 8) & 255, b = bg & 255;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i] === r && px[i + 1] === gg && px[i + 2] === b) px[i + 3] = 0;
    }
    g.putImageData(image, 0, 0);
    layer.canvas = c;
    return c;
  }, () => null);
  return layer.decoding;
}

function button(className, label, onClick) {
  const b = el("button", className);
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", (e) => {
    e.stopPropagation();
    onClick();
  });
  return b;
}
