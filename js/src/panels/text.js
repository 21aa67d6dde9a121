// Text panel: `source` items. Always textContent: manifest strings are data, never markup.
import { textEl } from "../dom.js";

export function create(card) {
  const el = document.createElement("div");
  el.className = "gtw-panel gtw-panel-text";
  el.appendChild(textEl("div", "gtw-text", card.text || ""));
  if (card.truncated) el.appendChild(textEl("div", "gtw-note", "(text cut at 20,000 characters)"));
  return { el, ready: Promise.resolve(), dispose() {} };
}
