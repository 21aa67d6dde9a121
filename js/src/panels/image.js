// Image panel: the kernel's bytes become a Blob URL, decoded before the card is shown,
// so swapping cards never waits on the decoder. dispose() revokes the URL.
// A canvas tool draws an ImageBitmap instead: predecode() makes one off the main thread (a
// canvas drawing the <img> would decode it again on the main thread, ~2-3 ms a 768x576 JPEG).
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
  const blob = buffer ? new Blob([buffer], { type: card.mime || "image/jpeg" }) : null;
  if (blob) {
    url = URL.createObjectURL(blob);
    img.src = url;
  }
  let bitmap = null;
  let decoding = null;
  el.appendChild(img);
  const ready = (url ? img.decode() : Promise.reject(new Error("no image bytes"))).catch(() => {
    // The browser could not decode what the kernel sent: show why, keep the card usable.
    el.classList.add("gtw-panel-error");
    el.replaceChildren(textEl("div", "gtw-error-icon", "⚠"),
      textEl("div", "gtw-error-text", `${card.source || card.name}: the browser cannot decode this image; skip it or label it anyway.`));
  });
  const release = () => {
    decoding = null;
    if (bitmap) bitmap.close();
    bitmap = null;
  };
  return {
    el,
    ready,
    /** The image decoded for a canvas, or null until predecode() has made it. */
    get bitmap() {
      return bitmap;
    },
    predecode() {
      if (decoding || !blob) return;
      const mine = (decoding = createImageBitmap(blob, { imageOrientation: "from-image" }).then((b) => {
        if (decoding === mine) bitmap = b;
        else b.close(); // released while decoding
      }, () => {})); // undecodable: `ready` says so, and the <img> is drawn
    },
    /** Close the bitmap (its pixels go at once): only when no canvas may still draw it. */
    release,
    dispose() {
      decoding = null; // a tool may still draw the bitmap of the card it shows: the GC takes it
      bitmap = null;
      if (url) URL.revokeObjectURL(url);
      url = null; // keep src: removing it leaves the <img> pending, and alive, for good
    },
  };
}
