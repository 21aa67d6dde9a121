// Error panel: a missing or broken item is still a card, so it can be skipped or labeled.
import { textEl } from "../dom.js";

export function create(card) {
  const el = document.createElement("div");
  el.className = "gtw-panel gtw-panel-error";
  el.appendChild(textEl("div", "gtw-error-icon", "⚠"));
  el.appendChild(textEl("div", "gtw-error-text", card.error || "this item cannot be shown"));
  return { el, ready: Promise.resolve(), dispose() {} };
}
