// The card's tool (gtwidgets/tool_cards.py): boxes or masks drawn over the card's image, in
// place of the category buttons. Tool modules are assets (./assets.js), loaded on the first card
// that needs one, so image and text classification jobs load neither. A tool answers in
// original-image pixels (`tool_meta.image_size`) whatever size the card's image is. The masks
// tool answers with a PNG sent as the submit's binary buffer, and starts from the card's mask
// (`tool_meta.mask`, a buffer of the card message: the worker's answer or a prior mask), with
// smart fill's superpixels (`tool_meta.superpixels`, another buffer).
// A read-only masks card (verification, review) mounts the `maskview` asset instead: the masks of
// `tool_meta.layers` (buffers of the card message) over the image, nothing to paint.
// The boxes tool is mounted once and then handed card after card (`reuse`): its canvas, layer and
// chips stay, and it draws the card's ImageBitmap, decoded ahead off the main thread (`bitmap`:
// the cache decodes the next cards of such tools), so Enter -> the next image costs one draw.
import { el, textEl } from "./dom.js";
import { loadAsset, loadedAsset } from "./assets.js";

/** What each tool module exports, and how its answer becomes a `submit` request. */
const TOOLS = {
  boxes: {
    bitmap: true,
    /** The tool's options for `card`: a new tool's, or the next card's on the tool shown. */
    options(card, img, size, view) {
      const meta = card.tool_meta || {};
      // What the tool showed when it left this card (an answer, an undone answer, a draft) with
      // the edits that led to it, else the kernel's boxes (the answer, or what the card starts from).
      const shown = meta.draft || { boxes: meta.boxes || [], history: [] };
      return {
        image: img, imageSize: size, categories: meta.categories || [], boxes: shown.boxes,
        history: shown.history, readOnly: !!meta.read_only, maxHeight: maxHeight(),
        reference: meta.reference || [], color: meta.color, // review: workers' boxes; the decision's colour
        onSubmit: (boxes, info) => {
          if (meta.read_only) return; // verification: rated with the category keys
          const value = { image_size: size, boxes };
          // Started from boxes not drawn here (pre-labels, a prior label): say whether they changed.
          if ("initial_value_modified" in meta) {
            value.initial_value_modified = meta.initial_value_modified = !!(meta.initial_value_modified || info.modified);
          }
          // Going back to the card, or undoing this answer, shows what was answered, and z then
          // walks back through the edits that led to it (undo is one line: edits, answer, edits...).
          meta.draft = { boxes, history: info.history || [] };
          view.answer(value, [...new Set(boxes.map((b) => b.label))]);
        },
      };
    },
    mount(mod, host, card, img, size, view) {
      return mod.createBoxTool(host, this.options(card, img, size, view));
    },
    reuse(tool, card, img, size, view) {
      tool.setCard(this.options(card, img, size, view));
    },
    /** The tool leaves `card`: unanswered (never, or its answer undone), what it shows stays for
     * when the card comes back; an answered card shows its answer again. */
    leave(tool, card) {
      const meta = card.tool_meta || {};
      if (!card.answer && !meta.read_only) meta.draft = { boxes: tool.getBoxes(), history: tool.getHistory() };
    },
  },
  masks: {
    bitmap: true, // drawn from an ImageBitmap closed with its card (an <img> stays in Chromium's cache)
    /** The mask to start from: what was answered in this page, else the kernel's (answer or prior). */
    prepare(card, size) {
      const meta = card.tool_meta || {};
      const start = meta.mask;
      return meta.answered ? Promise.resolve(meta.answered)
        : start && start.data ? decodeMask(start.data, start.colors || {}, size) : Promise.resolve(null);
    },
    mount(mod, host, card, img, size, view, mask) {
      const meta = card.tool_meta || {};
      const categories = meta.categories || [];
      const sp = meta.superpixels;
      const tool = mod.createMaskTool(host, {
        image: img, imageSize: size, categories, mask, maxHeight: maxHeight(),
        // Shift+Enter (Enter closes a polygon): the next card is shown at once; the PNG in the
        // job's colours is made in a worker and goes as the submit's binary buffer when ready.
        onSubmit: (api) => {
          const present = new Set(api.present());
          // Started from a mask not painted here (pre-labels, a prior label): say whether it changed.
          const started = "initial_value_modified" in meta;
          if (started) meta.initial_value_modified = !!(meta.initial_value_modified || api.isModified());
          const done = afterPaint().then(() => api.finish()); // after the next card's frame
          meta.answered = done.then((r) => r.labels, () => api.labels); // going back shows what was answered
          view.answer(started ? { initial_value_modified: meta.initial_value_modified } : null,
            categories.filter((c) => present.has(c.value)).map((c) => c.name), done.then((r) => r.png));
        },
      });
      // The tool shows at once; smart fill has its regions a few milliseconds later (once a card).
      if (sp && sp.data) (sp.regions ||= inflateSuperpixels(sp).catch(() => null)).then((r) => r && tool.setSuperpixels(r));
      return tool;
    },
  },
  maskview: {
    mount(mod, host, card, img, size) {
      const meta = card.tool_meta || {};
      return mod.createMaskView(host, {
        image: img, imageSize: size, layers: meta.layers || [], legend: meta.legend || [],
        problem: meta.problem, maxHeight: maxHeight(),
      });
    },
  },
};

/** Superpixels {width, height, data: zlib'd uint16 little-endian} -> {labels: Uint16Array, width, height}. */
async function inflateSuperpixels({ data, width, height }) {
  const bytes = data instanceof DataView ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  const raw = await new Response(stream).arrayBuffer();
  if (raw.byteLength !== width * height * 2) throw new Error("superpixels of the wrong size");
  return { labels: new Uint16Array(raw), width, height };  // little-endian, as every browser's typed arrays
}

/** The asset that draws `card`: its tool, or the mask viewer for read-only masks. */
function toolName(card) {
  return card.tool === "masks" && (card.tool_meta || {}).read_only ? "maskview" : card.tool;
}

/** A colour mask PNG (DataView / ArrayBuffer) -> class values at `size`: `colors` maps
 * `#rrggbb` to a value; transparent pixels and any other colour are the background (0). */
export async function decodeMask(data, colors, size) {
  const bytes = data instanceof DataView ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }),
    { premultiplyAlpha: "none", colorSpaceConversion: "none" });
  const canvas = document.createElement("canvas");
  canvas.width = size.width;
  canvas.height = size.height;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bitmap, 0, 0, size.width, size.height);
  const rgba = ctx.getImageData(0, 0, size.width, size.height).data;
  const lookup = new Map(Object.entries(colors).map(([hex, v]) => [parseInt(hex.slice(1), 16), v]));
  const out = new Uint8Array(size.width * size.height);
  for (let i = 0; i < out.length; i++) {
    const k = i * 4;
    if (rgba[k + 3] === 0) continue;
    out[i] = lookup.get((rgba[k] << 16) | (rgba[k + 1] << 8) | rgba[k + 2]) || 0;
  }
  return out;
}

/** Whether cards of `card`'s kind are drawn from an ImageBitmap (the cache decodes them ahead). */
export function drawsBitmap(card) {
  const spec = card.kind === "image" && card.tool ? TOOLS[toolName(card)] : null; // maskview: an <img>
  return !!(spec && spec.bitmap);
}

export class ToolHost {
  constructor(view) {
    this.view = view;
    this.tool = null;
    this.card = null;
    this.token = null;
    this.comment = null;
    this.host = null; // the mounted tool's element in the stage, and its kind
    this.kind = null;
  }

  /** Whether the card shown answers with a tool rather than the category buttons. */
  get active() {
    return !!(this.card && this.card.tool && !(this.card.tool_meta || {}).read_only);
  }

  /** Show `entry`'s tool in `stage`; false when its card has none (the panel shows as usual). */
  show(entry, stage) {
    const card = entry.card;
    const name = card.tool && card.kind === "image" ? toolName(card) : null;
    const spec = name ? TOOLS[name] : null;
    if (!spec) {
      this.hide();
      return false;
    }
    const size = (card.tool_meta && card.tool_meta.image_size) || { width: card.width, height: card.height };
    if (spec.reuse && this.tool && this.kind === name && this.host.parentNode === stage) {
      if (spec.leave && this.card) spec.leave(this.tool, this.card); // what the last card showed stays with it
      this.card = card; // the tool shown takes this card: no DOM rebuilt, its focus kept
      this.comment = null;
      for (const child of [...stage.children]) if (child !== this.host) child.remove();
      if ((card.tool_meta || {}).read_only && this.view.mode.name === "label") stage.append(this._commentField(card));
      spec.reuse(this.tool, card, imageOf(entry, spec), size, this.view);
      return true;
    }
    this.hide();
    this.card = card;
    const host = el("div", "gtw-tool");
    host.append(textEl("div", "gtw-loading", "loading the tool…"));
    stage.replaceChildren(host);
    if ((card.tool_meta || {}).read_only && this.view.mode.name === "label") stage.append(this._commentField(card));
    stage.classList.add("gtw-has-tool");
    const token = (this.token = {});
    const request = (msg) => this.view._later(msg, { urgent: true });
    const mountWith = (mod, extra) => {
      if (this.token !== token) return;
      host.replaceChildren();
      this.tool = spec.mount(mod, host, card, imageOf(entry, spec), size, this.view, extra);
      this.host = host;
      this.kind = name;
      // z with nothing to undo on this card takes back the last answer, as on every card.
      host.addEventListener("keydown", (e) => {
        if (e.key === "z" && !e.ctrlKey && !e.metaKey && this.tool && !this.tool.isModified()) {
          e.preventDefault();
          e.stopPropagation();
          this.view.undo();
        }
      }, { capture: true });
      if (this.active && this.view.root.contains(document.activeElement)) this.focus();
    };
    const loaded = spec.prepare ? null : loadedAsset(name);
    if (loaded) mountWith(loaded, null); // at once: the first frame shows the tool, not "loading"
    else {
      const prepared = spec.prepare ? spec.prepare(card, size) : Promise.resolve(null);
      Promise.all([loadAsset(name, request), prepared]).then(([mod, extra]) => mountWith(mod, extra),
        (e) => token === this.token && this.view.showError(`cannot load the ${name} tool: ${e.message}`));
    }
    return true;
  }

  /** Verification: an optional comment beside the rating keys; its keys stay in the field. */
  _commentField(card) {
    const meta = card.tool_meta;
    const input = el("input", "gtw-verify-comment");
    input.type = "text";
    input.placeholder = "comment (optional), then Esc and a rating key";
    input.setAttribute("aria-label", "comment on this item (optional)");
    input.value = (meta.answer && meta.answer.comment) || "";
    input.addEventListener("keydown", (e) => {
      e.stopPropagation(); // typing is not a shortcut
      if (e.key === "Escape") this.view.root.focus({ preventScroll: true });
    });
    this.comment = input;
    return el("div", "gtw-verify", input);
  }

  /** What picking category `name` answers: the name, or `{label, comment}` with a comment. */
  answerFor(name) {
    const card = this.card;
    if (!card || !this.comment || !(card.tool_meta || {}).read_only) return name;
    const comment = this.comment.value.trim();
    const value = comment ? { label: name, comment } : { label: name };
    card.tool_meta.answer = value; // going back shows the comment
    return comment ? value : name;
  }

  /** A key the widget has no use for, offered to a read-only tool (the mask viewer's o and m);
   * true when it took it. */
  key(e) {
    const tool = this.tool;
    return !!(tool && !this.active && tool.onKey && tool.onKey(e.key));
  }

  /** The mask layer a read-only masks card shows (review: Enter accepts it), or null. */
  shownLayer() {
    return this.tool && this.tool.current ? this.tool.current() : null;
  }

  /** Keys go to the tool while a card has one (the view's root passes its focus on). */
  focus() {
    if (this.tool && this.active) this.tool.element.focus({ preventScroll: true });
  }

  hide() {
    const tool = this.tool;
    const spec = tool && this.card ? TOOLS[toolName(this.card)] : null;
    if (spec && spec.leave) spec.leave(tool, this.card);
    this.token = null;
    this.card = null;
    this.tool = null;
    this.comment = null;
    this.host = null;
    this.kind = null;
    if (!tool) return;
    const focused = tool.element.contains(document.activeElement);
    tool.destroy();
    if (focused) this.view.root.focus({ preventScroll: true }); // the keys stay in the widget
  }
}

/** Resolves once the page has painted (or after 100 ms: a hidden tab paints nothing). */
function afterPaint() {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, 0));
    setTimeout(resolve, 100);
  });
}

/** What the tool draws: the card's ImageBitmap when the cache has decoded it, else its <img>. */
function imageOf(entry, spec) {
  return (spec.bitmap && entry.panel.bitmap) || entry.panel.el.querySelector("img");
}

function maxHeight() {
  return Math.max(180, Math.min(window.innerHeight - 400, 576));
}
