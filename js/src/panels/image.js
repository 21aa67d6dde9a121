// Image panel: the kernel's bytes become a Blob URL, decoded before the card is shown,
// so swapping cards never waits on the decoder. dispose() revokes the URL.
// A card a canvas tool draws (`bitmap`) is decoded instead into an ImageBitmap, off the main
// thread, and has no <img>: a canvas drawing an <img> decodes it again on the main thread
// (~2-3 ms a 768x576 JPEG), and Chromium keeps every decoded <img> in its image cache long after
// the card is gone (hundreds of MB over a long job), while a bitmap is closed with its card.
import { textEl } from "../dom.js";

export function create(card, buffer, { bitmap: asBitmap = false } = {}) {
  const el = document.createElement("div");
  el.className = "gtw-panel gtw-panel-image";
  const blob = buffer ? new Blob([buffer], { type: card.mime || "image/jpeg" }) : null;
  let url = null;
  let bitmap = null;
  let closed = false;
  let decoded;
  if (asBitmap) {
    decoded = blob ? createImageBitmap(blob, { imageOrientation: "from-image" }).then((b) => {
      if (closed) b.close(); // the card went while it decoded
      else bitmap = b;
    }) : Promise.reject(new Error("no image bytes"));
  } else {
    const img = new Image();
    img.className = "gtw-image";
    img.alt = card.name || "";
    img.draggable = false;
    if (card.width && card.height) {
      img.width = card.width;
      img.height = card.height;
    }
    if (blob) {
      url = URL.createObjectURL(blob);
      img.src = url;
    }
    el.appendChild(img);
    decoded = url ? img.decode() : Promise.reject(new Error("no image bytes"));
  }
  const ready = decoded.catch(() => {
    // The browser could not decode what the kernel sent: show why, keep the card usable.
    el.classList.add("gtw-panel-error");
    el.replaceChildren(textEl("div", "gtw-error-icon", "⚠"),
      textEl("div", "gtw-error-text", `${card.source || card.name}: the browser cannot decode this image; skip it or label it anyway.`));
  });
  return {
    el,
    ready,
    /** The decoded image of a `bitmap` card (null until ready, or when it cannot be decoded). */
    get bitmap() {
      return bitmap;
    },
    /** Free the bitmap's pixels now: only once no canvas may draw it again. */
    release() {
      closed = true;
      if (bitmap) bitmap.close();
      bitmap = null;
    },
    dispose() {
      closed = true; // a tool may still draw the bitmap of the card it shows: the GC takes it then
      bitmap = null;
      if (url) URL.revokeObjectURL(url);
      url = null; // keep src: removing it leaves the <img> pending, and alive, for good
    },
  };
}
