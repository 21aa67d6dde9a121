// Image panel: the kernel's bytes become a Blob URL, decoded before the card is shown,
// so swapping cards never waits on the decoder. dispose() revokes the URL.
import { textEl } from "../dom.js";

export function create(card, buffer) {
  const el = document.createElement("div");
  el.className = "gtw-panel gtw-panel-image";
  const img = new Image();
  img.className = "gtw-image";
  img.alt = card.name || "";
  img.draggable = false;
  if (card.width && card.height) {
    img.width = card.width;
    img.height = card.height;
  }
  let url = null;
  if (buffer) {
    url = URL.createObjectURL(new Blob([buffer], { type: card.mime || "image/jpeg" }));
    img.src = url;
  }
  el.appendChild(img);
  const ready = (url ? img.decode() : Promise.reject(new Error("no image bytes"))).catch(() => {
    // The browser could not decode what the kernel sent: show why, keep the card usable.
    el.classList.add("gtw-panel-error");
    el.replaceChildren(textEl("div", "gtw-error-icon", "⚠"),
      textEl("div", "gtw-error-text", `${card.source || card.name}: the browser cannot decode this image; skip it or label it anyway.`));
  });
  return {
    el,
    ready,
    dispose() {
      if (url) URL.revokeObjectURL(url);
      url = null; // keep src: removing it leaves the <img> pending, and alive, for good
    },
  };
}
