// plotly.js, loaded on first use. Image and text jobs never need it, so it is not in the
// widget's bundle: the first plot asks the kernel for gtwidgets/static/plotly.js (an `asset`
// message), and imports it from a Blob URL (no network, no CDN). One load a page, shared by
// every widget in it.
const KEY = "__gtwidgetsPlotly";

/** The Plotly module; `request(msg)` sends a message to the kernel when it must be fetched. */
export function loadPlotly(request) {
  let slot = globalThis[KEY];
  if (!slot || slot.failed) {
    slot = globalThis[KEY] = { asked: false };
    slot.promise = new Promise((resolve, reject) => Object.assign(slot, { resolve, reject }));
  }
  if (!slot.asked && request) {
    slot.asked = true;
    request({ type: "asset", name: "plotly" });
  }
  return slot.promise;
}

/** The kernel's `asset` reply: evaluate the module and hand it to every waiting plot. */
export function receiveAsset(msg, buffers) {
  const slot = globalThis[KEY];
  if (!slot || msg.name !== "plotly" || slot.module) return;
  if (msg.error || !buffers || !buffers.length) {
    slot.failed = true;
    slot.reject(new Error(msg.error || "the kernel sent no plotly.js"));
    return;
  }
  const url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/javascript" }));
  import(/* webpackIgnore: true */ url).then((mod) => {
    slot.module = mod.default;
    slot.resolve(mod.default);
  }, (e) => {
    slot.failed = true;
    slot.reject(e);
  }).finally(() => URL.revokeObjectURL(url));
}

/** A view that asked and goes away before the reply: let the next plot ask again. */
export function forgetPending() {
  const slot = globalThis[KEY];
  if (slot && slot.asked && !slot.module) slot.asked = false;
}
