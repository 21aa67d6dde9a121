// Tiny DOM helpers. Text goes in with textContent only; the one innerHTML in the widget
// is the instructions, which the kernel has already sanitized (nh3).
//
// Text from a manifest is anyone's data: shown, never obeyed. A bidi override would make a
// category "\u202Eevil" read "live", and other controls hide, so each such character is shown
// as ⟨U+202E⟩, and every text element is isolated (dir=auto) so its direction cannot leak out.
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function visible(text) {
  if (text == null) return "";
  return String(text).replace(CONTROLS, (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`);
}

export function setText(node, text) {
  node.textContent = visible(text);
  node.dir = "auto"; // [dir] is unicode-bidi: isolate
  return node;
}

export function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

export function textEl(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return setText(node, text);
}
