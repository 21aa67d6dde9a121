// Tiny DOM helpers. Text goes in with textContent only; the one innerHTML in the widget
// is the instructions, which the kernel has already sanitized (nh3).
export function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

export function textEl(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.textContent = text == null ? "" : String(text);
  return node;
}
