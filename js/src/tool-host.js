// The card's tool (gtwidgets/tool_cards.py): boxes or masks drawn over the card's image, in
// place of the category buttons. Tool modules are assets (./assets.js), loaded on the first card
// that needs one, so image and text classification jobs load neither. A tool answers in
// original-image pixels (`tool_meta.image_size`) whatever size the card's image is.
import { el, textEl } from "./dom.js";
import { loadAsset } from "./assets.js";

/** What each tool module exports, and how its answer becomes a `submit` request. */
const TOOLS = {
  boxes: {
    mount(mod, host, card, img, size, view) {
      const meta = card.tool_meta || {};
      return mod.createBoxTool(host, {
        image: img, imageSize: size, categories: meta.categories || [], boxes: meta.boxes || [],
        readOnly: !!meta.read_only, maxHeight: maxHeight(),
        onSubmit: (boxes, info) => {
          if (meta.read_only) return; // verification: rated with the category keys
          const value = { image_size: size, boxes, initial_value_modified: !!info.modified };
          meta.boxes = boxes; // going back to the card shows what was answered
          view.answer(value, [...new Set(boxes.map((b) => b.label))]);
        },
      });
    },
  },
};

export class ToolHost {
  constructor(view) {
    this.view = view;
    this.tool = null;
    this.card = null;
    this.token = null;
  }

  /** Whether the card shown answers with a tool rather than the category buttons. */
  get active() {
    return !!(this.card && this.card.tool && !(this.card.tool_meta || {}).read_only);
  }

  /** Show `entry`'s tool in `stage`; false when its card has none (the panel shows as usual). */
  show(entry, stage) {
    this.hide();
    const card = entry.card;
    if (!card.tool || card.kind !== "image") return false;
    const spec = TOOLS[card.tool];
    if (!spec) return false;
    this.card = card;
    const host = el("div", "gtw-tool");
    host.append(textEl("div", "gtw-loading", "loading the tool…"));
    stage.replaceChildren(host);
    stage.classList.add("gtw-has-tool");
    const token = (this.token = {});
    const request = (msg) => this.view._later(msg, { urgent: true });
    loadAsset(card.tool, request).then((mod) => {
      if (this.token !== token) return;
      host.replaceChildren();
      const img = entry.panel.el.querySelector("img");
      const size = (card.tool_meta && card.tool_meta.image_size) || { width: card.width, height: card.height };
      this.tool = spec.mount(mod, host, card, img, size, this.view);
      // z with nothing to undo on this card takes back the last answer, as on every card.
      host.addEventListener("keydown", (e) => {
        if (e.key === "z" && !e.ctrlKey && !e.metaKey && this.tool && !this.tool.isModified()) {
          e.preventDefault();
          e.stopPropagation();
          this.view.undo();
        }
      }, { capture: true });
      if (this.active && this.view.root.contains(document.activeElement)) this.focus();
    }, (e) => token === this.token && this.view.showError(`cannot load the ${card.tool} tool: ${e.message}`));
    return true;
  }

  /** Keys go to the tool while a card has one (the view's root passes its focus on). */
  focus() {
    if (this.tool && this.active) this.tool.element.focus({ preventScroll: true });
  }

  hide() {
    const tool = this.tool;
    this.token = null;
    this.card = null;
    this.tool = null;
    if (!tool) return;
    const focused = tool.element.contains(document.activeElement);
    tool.destroy();
    if (focused) this.view.root.focus({ preventScroll: true }); // the keys stay in the widget
  }
}

function maxHeight() {
  return Math.max(180, Math.min(window.innerHeight - 400, 576));
}
