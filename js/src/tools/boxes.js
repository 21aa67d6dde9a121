// Bounding-box tool: draw, select, move, resize, relabel and delete boxes on one image.
// Boxes are kept in original-image pixels (the image as displayed, EXIF applied), whatever
// size the shown image is: `imageSize` is the original size, `image` may be a smaller card.
// Works with the mouse alone and with the keyboard alone; repaints only on animation frames.
// One tool serves card after card (setCard): the canvas, its layer and the class chips stay, so
// a new card costs one draw, not a new tool (see bench/box_latency.py).
//
//   const tool = createBoxTool(el, { image, imageSize: {width, height}, categories,
//                                    boxes, readOnly, onChange, onSubmit });
//   image: anything drawImage takes (an <img>, or an ImageBitmap decoded ahead: no decode on draw).
//   readOnly: boxes may carry `color` and `caption` (review shows each worker's in its colour).
//   reference: boxes drawn under the editable ones in their `color`, with their `caption`, never
//   selected or edited (review: each worker's boxes); color: one colour for the editable boxes
//   instead of their class's (review: the decision to be, in gold).
//   history: the edits that led to `boxes` (from a submit's `info.history`): after an answer is
//   undone its card comes back as it was, and z keeps walking back through its edits.
//   tool.getBoxes(); tool.getHistory(); tool.setBoxes([...]); tool.setImage(img, size);
//   tool.setCard(options); tool.destroy();
//
// Keys (while the tool has focus): 1-9, 0 class (of the next box and the selected one);
// b new box at the crosshair; arrows move the selection (or the crosshair), Shift x10;
// Alt+arrows resize (right/bottom edge); Tab / Shift+Tab cycle boxes; Delete removes;
// z undoes; + / - zoom; Space+drag pans; n answers "no objects"; Enter submits; Esc deselects.

const HANDLE = 6;          // px on screen: half the grab size of a resize handle
const MIN_SIZE = 2;        // original px: the smallest box the keyboard makes
const MIN_DRAG = 4;        // screen px: a smaller drag is a click, not a box
const ZOOM_STEP = 1.25;
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];

export function createBoxTool(container, options = {}) {
  const opts = { categories: [], boxes: [], readOnly: false, onChange() {}, onSubmit() {}, ...options };
  const root = document.createElement("div");
  root.className = "gtw-boxes";
  root.tabIndex = 0;
  root.setAttribute("role", "application");
  root.setAttribute("aria-label", "bounding boxes");
  const canvas = document.createElement("canvas");
  canvas.className = "gtw-boxes-canvas";
  const chips = document.createElement("div");
  chips.className = "gtw-boxes-classes";
  const status = document.createElement("div");
  status.className = "gtw-boxes-status";
  status.setAttribute("aria-live", "polite");
  root.append(canvas, chips, status);
  container.append(root);
  const ctx = canvas.getContext("2d");

  let image = opts.image || null;
  let size = { ...(opts.imageSize || { width: 1, height: 1 }) };
  let boxes = [];
  let selected = -1;
  let current = 0;                    // class of the next box
  let history = [];                   // snapshots before each edit, for z
  let modified = false;
  let view = { scale: 1, ox: 0, oy: 0, fit: 1 };
  let cross = { x: size.width / 2, y: size.height / 2 };
  let drag = null;                    // {kind: draw|move|resize|pan, ...}
  let space = false;
  let frame = 0;
  let chipsShown = null;              // the classes and choice the chips show: rebuilt only on a change
  let statusShown = null;

  const categories = () => opts.categories;
  const labelIndex = (label) => Math.max(0, categories().indexOf(label));

  function setBoxes(list, { keepHistory = false } = {}) {
    boxes = (list || []).map((b) => {
      const box = { label: b.label, left: b.left, top: b.top, width: b.width, height: b.height };
      if (opts.readOnly && b.color) box.color = b.color;     // shown as given (review: a worker's colour)
      if (opts.readOnly && b.caption) box.caption = b.caption; // and named (review: "worker: label")
      return box;
    });
    selected = -1;
    if (!keepHistory) { history = copyHistory(opts.history || []); modified = history.length > 0; }
    repaint();
  }

  function getBoxes() { return boxes.map((b) => ({ ...b })); }

  function copyHistory(h) { return h.map((s) => ({ boxes: s.boxes.map((b) => ({ ...b })), selected: s.selected })); }

  /** The next card on this tool, as if it were a new one (class, zoom, history and selection
   * start afresh), keeping the DOM: `options` as createBoxTool's, those left out kept. */
  function setCard(options) {
    Object.assign(opts, options);
    current = 0;
    drag = null;
    space = false;
    image = opts.image || null;
    size = { ...(opts.imageSize || { width: 1, height: 1 }) };
    cross = { x: size.width / 2, y: size.height / 2 };
    setBoxes(opts.boxes);
    layout();
  }

  function setImage(img, imageSize) {
    image = img;
    if (imageSize) size = { ...imageSize };
    cross = { x: size.width / 2, y: size.height / 2 };
    layout();
  }

  // ------------------------------------------------------------------ geometry

  function layout() {
    const width = container.clientWidth || size.width;
    const fit = Math.min(width / size.width, (opts.maxHeight || Infinity) / size.height);
    const cssW = Math.round(size.width * fit), cssH = Math.round(size.height * fit);
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(cssW * dpr), h = Math.round(cssH * dpr);
    canvas.style.width = cssW + "px";
    canvas.style.height = cssH + "px";
    if (canvas.width !== w || canvas.height !== h) { // setting either allocates a new bitmap
      canvas.width = w;
      canvas.height = h;
    }
    view = { scale: fit, ox: 0, oy: 0, fit };
    repaint();
  }

  const toImage = (px, py) => ({ x: (px - view.ox) / view.scale, y: (py - view.oy) / view.scale });
  const toView = (x, y) => ({ x: x * view.scale + view.ox, y: y * view.scale + view.oy });

  function pointer(e) {
    const r = canvas.getBoundingClientRect();
    return { px: e.clientX - r.left, py: e.clientY - r.top };
  }

  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

  function normalise(x1, y1, x2, y2) {
    const left = Math.round(clamp(Math.min(x1, x2), 0, size.width));
    const top = Math.round(clamp(Math.min(y1, y2), 0, size.height));
    const right = Math.round(clamp(Math.max(x1, x2), 0, size.width));
    const bottom = Math.round(clamp(Math.max(y1, y2), 0, size.height));
    return { left, top, width: right - left, height: bottom - top };
  }

  function hitHandle(px, py) {
    if (selected < 0) return null;
    const b = boxes[selected];
    const a = toView(b.left, b.top), z = toView(b.left + b.width, b.top + b.height);
    const xs = { w: a.x, c: (a.x + z.x) / 2, e: z.x }, ys = { n: a.y, m: (a.y + z.y) / 2, s: z.y };
    for (const [hy, vy] of Object.entries(ys)) {
      for (const [hx, vx] of Object.entries(xs)) {
        if (hx === "c" && hy === "m") continue;
        if (Math.abs(px - vx) <= HANDLE && Math.abs(py - vy) <= HANDLE) return (hy === "m" ? "" : hy) + (hx === "c" ? "" : hx);
      }
    }
    return null;
  }

  function hitBox(x, y) {
    // Topmost (last drawn) first; among nested boxes the smaller one wins, so it stays reachable.
    let best = -1;
    for (let i = boxes.length - 1; i >= 0; i--) {
      const b = boxes[i];
      if (x >= b.left && x <= b.left + b.width && y >= b.top && y <= b.top + b.height) {
        if (best < 0 || b.width * b.height < boxes[best].width * boxes[best].height) best = i;
      }
    }
    return best;
  }

  // ------------------------------------------------------------------ edits

  function edit(fn) {
    if (opts.readOnly) return;
    history.push({ boxes: getBoxes(), selected });
    fn();
    modified = true;
    opts.onChange(getBoxes());
    repaint();
  }

  function undo() {
    const last = history.pop();
    if (!last) return;
    boxes = last.boxes;
    selected = Math.min(last.selected, boxes.length - 1);
    modified = history.length > 0;
    opts.onChange(getBoxes());
    repaint();
  }

  function chooseClass(i) {
    if (i < 0 || i >= categories().length) return;
    current = i;
    if (selected >= 0 && boxes[selected].label !== categories()[i]) edit(() => { boxes[selected].label = categories()[i]; });
    repaint();
  }

  function newBoxAtCross() {
    const w = Math.max(MIN_SIZE, Math.round(size.width / 10)), h = Math.max(MIN_SIZE, Math.round(size.height / 10));
    edit(() => {
      boxes.push({ label: categories()[current], ...normalise(cross.x - w / 2, cross.y - h / 2, cross.x + w / 2, cross.y + h / 2) });
      selected = boxes.length - 1;
    });
  }

  function nudge(dx, dy, resize) {
    if (selected < 0) {
      cross = { x: clamp(cross.x + dx, 0, size.width), y: clamp(cross.y + dy, 0, size.height) };
      repaint();
      return;
    }
    edit(() => {
      const b = boxes[selected];
      if (resize) {
        b.width = clamp(b.width + dx, 1, size.width - b.left);
        b.height = clamp(b.height + dy, 1, size.height - b.top);
      } else {
        b.left = clamp(b.left + dx, 0, size.width - b.width);
        b.top = clamp(b.top + dy, 0, size.height - b.height);
      }
    });
  }

  function zoom(factor, px, py) {
    const anchor = px === undefined ? toView(cross.x, cross.y) : { x: px, y: py };
    const at = toImage(anchor.x, anchor.y);
    const scale = clamp(view.scale * factor, view.fit, view.fit * 32);
    view = { ...view, scale, ox: anchor.x - at.x * scale, oy: anchor.y - at.y * scale };
    repaint();
  }

  // ------------------------------------------------------------------ events

  function onKey(e) {
    const k = e.key;
    const step = e.shiftKey ? 10 : 1;
    const arrows = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    let handled = true;
    if (k === " ") space = true;
    else if (/^[0-9]$/.test(k)) chooseClass(k === "0" ? 9 : Number(k) - 1);
    else if (k in arrows) nudge(...arrows[k], e.altKey);
    else if (k === "Tab") {
      if (!boxes.length) handled = false;
      else selected = ((selected < 0 ? (e.shiftKey ? 0 : -1) : selected) + (e.shiftKey ? -1 : 1) + boxes.length) % boxes.length;
      if (handled && selected >= 0) current = labelIndex(boxes[selected].label);
    } else if (k === "Delete" || k === "Backspace") {
      if (selected >= 0) edit(() => { boxes.splice(selected, 1); selected = -1; });
      else handled = k === "Backspace"; // Delete with no box selected is the widget's (review: withdraw)
    } else if (k === "b") newBoxAtCross();
    else if (k === "z" && !e.ctrlKey && !e.metaKey) undo();
    else if (k === "+" || k === "=") zoom(ZOOM_STEP);
    else if (k === "-") zoom(1 / ZOOM_STEP);
    else if (k === "n") {
      if (boxes.length) edit(() => { boxes = []; selected = -1; });
      opts.onSubmit([], { noObjects: true, modified, history: copyHistory(history) });
    } else if (k === "Enter") opts.onSubmit(getBoxes(), { noObjects: boxes.length === 0, modified, history: copyHistory(history) });
    else if (k === "Escape" && selected >= 0) selected = -1;
    else handled = false;
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
      repaint();
    }
  }

  function onKeyUp(e) { if (e.key === " ") space = false; }

  function onDown(e) {
    if (e.button !== 0) return;
    root.focus();
    const { px, py } = pointer(e);
    const at = toImage(px, py);
    canvas.setPointerCapture?.(e.pointerId);
    if (space) { drag = { kind: "pan", px, py, ox: view.ox, oy: view.oy }; return; }
    if (opts.readOnly) return;
    const handle = hitHandle(px, py);
    if (handle) {
      const b = boxes[selected];
      drag = { kind: "resize", handle, start: { ...b }, snapshot: false };
      return;
    }
    const hit = hitBox(at.x, at.y);
    if (hit >= 0) {
      selected = hit;
      current = labelIndex(boxes[hit].label);
      drag = { kind: "move", from: at, start: { ...boxes[hit] }, snapshot: false };
    } else {
      selected = -1;
      drag = { kind: "draw", from: at, to: at };
    }
    repaint();
  }

  function onMove(e) {
    const { px, py } = pointer(e);
    const at = toImage(px, py);
    cross = { x: clamp(at.x, 0, size.width), y: clamp(at.y, 0, size.height) };
    if (!drag) { repaint(); return; }
    if (drag.kind === "pan") {
      view = { ...view, ox: drag.ox + px - drag.px, oy: drag.oy + py - drag.py };
    } else if (drag.kind === "draw") {
      drag.to = at;
    } else {
      if (!drag.snapshot) { history.push({ boxes: getBoxes().map((b, i) => (i === selected ? { ...drag.start } : b)), selected }); drag.snapshot = true; }
      const b = boxes[selected], s = drag.start;
      if (drag.kind === "move") {
        b.left = Math.round(clamp(s.left + at.x - drag.from.x, 0, size.width - s.width));
        b.top = Math.round(clamp(s.top + at.y - drag.from.y, 0, size.height - s.height));
      } else {
        let x1 = s.left, y1 = s.top, x2 = s.left + s.width, y2 = s.top + s.height;
        if (drag.handle.includes("w")) x1 = at.x;
        if (drag.handle.includes("e")) x2 = at.x;
        if (drag.handle.includes("n")) y1 = at.y;
        if (drag.handle.includes("s")) y2 = at.y;
        Object.assign(b, normalise(x1, y1, x2, y2));
      }
    }
    repaint();
  }

  function onUp() {
    const d = drag;
    drag = null;
    if (!d) return;
    if (d.kind === "draw") {
      const b = normalise(d.from.x, d.from.y, d.to.x, d.to.y);
      if (b.width * view.scale >= MIN_DRAG && b.height * view.scale >= MIN_DRAG) {
        edit(() => { boxes.push({ label: categories()[current], ...b }); selected = boxes.length - 1; });
      }
    } else if ((d.kind === "move" || d.kind === "resize") && d.snapshot) {
      const b = boxes[selected];
      if (b.width < 1 || b.height < 1) Object.assign(b, d.start);
      modified = true;
      opts.onChange(getBoxes());
    }
    repaint();
  }

  function onWheel(e) {
    e.preventDefault();
    const { px, py } = pointer(e);
    zoom(e.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, px, py);
  }

  // ------------------------------------------------------------------ drawing

  function renderChips() {
    const shown = JSON.stringify([current, categories()]);
    if (shown === chipsShown) return; // a repaint that changes no chip touches no DOM (no layout)
    chipsShown = shown;
    chips.replaceChildren(...categories().map((name, i) => {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "gtw-boxes-class" + (i === current ? " gtw-selected" : "");
      chip.textContent = (i < 10 ? `${(i + 1) % 10} ` : "") + name;
      chip.style.borderColor = COLORS[i % COLORS.length];
      chip.setAttribute("aria-pressed", String(i === current));
      chip.tabIndex = -1;
      chip.addEventListener("click", () => { chooseClass(i); root.focus(); });
      return chip;
    }));
  }

  function repaint() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function draw() {
    frame = 0;
    const dpr = canvas.width / (parseFloat(canvas.style.width) || canvas.width);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (image) ctx.drawImage(image, view.ox, view.oy, size.width * view.scale, size.height * view.scale);
    ctx.lineWidth = 2;
    ctx.font = "12px sans-serif";
    for (const b of opts.reference || []) { // under the editable boxes, never selected
      const a = toView(b.left, b.top);
      ctx.strokeStyle = ctx.fillStyle = b.color || "#7f7f7f";
      ctx.strokeRect(a.x, a.y, b.width * view.scale, b.height * view.scale);
      ctx.fillText(String(b.caption || b.label), a.x + 3, a.y + 13);
    }
    boxes.forEach((b, i) => {
      const a = toView(b.left, b.top);
      const color = b.color || opts.color || COLORS[labelIndex(b.label) % COLORS.length];
      ctx.strokeStyle = color;
      ctx.setLineDash(i === selected ? [6, 3] : []);
      ctx.strokeRect(a.x, a.y, b.width * view.scale, b.height * view.scale);
      ctx.fillStyle = color;
      ctx.fillText(String(b.caption || b.label), a.x + 3, a.y + 13);
      if (i === selected) {
        ctx.setLineDash([]);
        for (const hx of [0, 0.5, 1]) for (const hy of [0, 0.5, 1]) {
          if (hx === 0.5 && hy === 0.5) continue;
          const p = toView(b.left + b.width * hx, b.top + b.height * hy);
          ctx.fillRect(p.x - HANDLE / 2, p.y - HANDLE / 2, HANDLE, HANDLE);
        }
      }
    });
    ctx.setLineDash([]);
    if (drag && drag.kind === "draw") {
      const a = toView(Math.min(drag.from.x, drag.to.x), Math.min(drag.from.y, drag.to.y));
      ctx.strokeStyle = COLORS[current % COLORS.length];
      ctx.strokeRect(a.x, a.y, Math.abs(drag.to.x - drag.from.x) * view.scale, Math.abs(drag.to.y - drag.from.y) * view.scale);
    }
    // Crosshair guides across the whole view.
    const c = toView(cross.x, cross.y);
    const w = parseFloat(canvas.style.width), h = parseFloat(canvas.style.height);
    ctx.strokeStyle = "rgba(255,255,255,0.7)";
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(0, c.y); ctx.lineTo(w, c.y);
    ctx.moveTo(c.x, 0); ctx.lineTo(c.x, h);
    ctx.stroke();
    ctx.setLineDash([]);
    renderChips();
    const name = categories()[current] ?? "";
    const sel = selected >= 0 ? `box ${selected + 1} of ${boxes.length} (${boxes[selected].label})` : `${boxes.length} boxes`;
    const text = `${name} · ${sel} · ${Math.round(cross.x)}, ${Math.round(cross.y)} · ${Math.round(view.scale / view.fit * 100)}%`;
    if (text !== statusShown) status.textContent = statusShown = text;
  }

  root.addEventListener("keydown", onKey);
  root.addEventListener("keyup", onKeyUp);
  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("pointercancel", onUp);
  canvas.addEventListener("wheel", onWheel, { passive: false });

  setBoxes(opts.boxes);
  layout();

  return {
    element: root,
    getBoxes,
    getHistory: () => copyHistory(history),
    setBoxes,
    setImage,
    setCard,
    isModified: () => modified,
    selected: () => selected,
    destroy() {
      if (frame) cancelAnimationFrame(frame);
      root.remove();
    },
  };
}
