// Scripts the widget's bundle does not carry (plotly.js, the boxes and masks tools), loaded on
// first use: the view asks the kernel for gtwidgets/static/<asset> (an `asset` message) and
// imports it from a Blob URL (no network, no CDN). One load a page per asset, shared by every
// widget in it; image and text jobs never load any.
const KEY = "__gtwidgetsAssets";

function slots() {
  return (globalThis[KEY] ||= {});
}

/** The module called `name`; `request(msg)` sends a message to the kernel when it must be fetched. */
export function loadAsset(name, request) {
  const all = slots();
  let slot = all[name];
  if (!slot || slot.failed) {
    slot = all[name] = { asked: false };
    slot.promise = new Promise((resolve, reject) => Object.assign(slot, { resolve, reject }));
  }
  if (!slot.asked && request) {
    slot.asked = true;
    request({ type: "asset", name });
  }
  return slot.promise;
}

/** The module called `name` if it is loaded already, else null (then `loadAsset` fetches it). */
export function loadedAsset(name) {
  const slot = slots()[name];
  return slot && slot.module ? slot.module : null;
}

/** The kernel's `asset` reply: evaluate the module and hand it to everything waiting for it. */
export function receiveAsset(msg, buffers) {
  const slot = slots()[msg.name];
  if (!slot || slot.module) return;
  if (msg.error || !buffers || !buffers.length) {
    slot.failed = true;
    slot.reject(new Error(msg.error || `the kernel sent no ${msg.name}`));
    return;
  }
  const url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/javascript" }));
  import(/* webpackIgnore: true */ url).then((mod) => {
    slot.module = mod;
    slot.resolve(mod);
  }, (e) => {
    slot.failed = true;
    slot.reject(e);
  }).finally(() => URL.revokeObjectURL(url));
}

/** A view that asked and goes away before the reply: let the next one ask again. */
export function forgetPending() {
  for (const slot of Object.values(slots())) {
    if (slot.asked && !slot.module) slot.asked = false;
  }
}
