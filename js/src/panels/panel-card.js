// Multi-panel card ("panels" kind): what a pre-labeled taskInput shows, laid out side by side:
// images, sensor plots, text and key/value facts. The card is ready once its images are
// decoded; plots draw when the card is first shown. One part failing is one error panel.
import "./series.css";
import * as image from "./image.js";
import * as series from "./series.js";
import { el as node, textEl } from "../dom.js";

function errorPart(message) {
  const part = node("div", "gtw-panel-problem", textEl("div", "gtw-error-icon", "⚠"), textEl("div", "gtw-error-text", message));
  return { el: part, ready: Promise.resolve(), dispose() {} };
}

function factsPart(meta) {
  const rows = (meta.items || []).map(([k, v]) => node("tr", "", textEl("th", "", k), textEl("td", "", v)));
  return { el: node("table", "gtw-facts", ...rows), ready: Promise.resolve(), dispose() {} };
}

function textPart(meta) {
  return { el: textEl("div", "gtw-text", meta.text || ""), ready: Promise.resolve(), dispose() {} };
}

function part(meta, buffers, ctx) {
  const at = (i) => buffers[(meta.buffers || [])[i]];
  switch (meta.kind) {
    case "image":
      return image.create({ name: meta.title, source: ctx.card.source || meta.title, mime: meta.mime,
        width: meta.width, height: meta.height }, at(0));
    case "series": return series.create(meta, buffers, ctx);
    case "text": return textPart(meta);
    case "facts": return factsPart(meta);
    case "error": return errorPart(`${meta.title}: ${meta.message}`);
    default: return errorPart(`unknown panel kind ${meta.kind}`);
  }
}

/** card: {id, pos, panels: [meta...], request}; buffers: every buffer of the message. */
export function create(card, buffers) {
  const bufs = Array.isArray(buffers) ? buffers : buffers ? [buffers] : [];
  const ctx = { card, request: card.request };
  const root = node("div", "gtw-panel gtw-panel-multi");
  const parts = (card.panels || []).map((meta) => {
    let p;
    try {
      p = part(meta, bufs, ctx);
    } catch (e) {
      p = errorPart(`${meta.title || meta.kind}: cannot draw (${e && e.message})`);
    }
    const box = node("div", `gtw-part gtw-part-${meta.kind}`);
    if (meta.title && meta.kind !== "error") box.append(textEl("div", "gtw-part-title", meta.title));
    box.append(p.el);
    root.append(box);
    return { meta, panel: p };
  });
  if (!parts.length) root.append(textEl("div", "gtw-error-text", "this card has no panels"));
  return {
    el: root,
    ready: Promise.all(parts.map((p) => p.panel.ready)).then(() => undefined),
    shown() {
      for (const p of parts) if (p.panel.shown) p.panel.shown();
    },
    /** A reply for one of this card's panels (a zoomed series range). */
    receive(msg, replyBuffers) {
      const p = parts.find((x) => x.meta.panel === msg.panel && x.panel.receive);
      if (p) p.panel.receive(msg, replyBuffers || []);
    },
    dispose() {
      for (const p of parts) p.panel.dispose();
    },
  };
}
