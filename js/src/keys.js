// Keyboard map: a key event -> an action name (or a category index). Pure, so it is easy to test.
export const COMMANDS = [
  ["→ or j", "next item"],
  ["← or k", "previous item"],
  ["Backspace or z", "undo the last answer or skip"],
  ["s", "skip this item"],
  ["u", "jump to the next unlabeled item (this one, if it is not labeled)"],
  ["?", "show or hide these shortcuts"],
  ["Tab", "move between the buttons; Enter or Space presses the one focused"],
  ["Esc", "leave the widget (the notebook gets the keys again)"],
];

/** Help rows for this job: only the keys it has ("1 … 4" for four categories; Enter only where
 * `enter` says what it does, e.g. in a multi-label job). */
export function helpRows(shortcuts, { pick = "pick a category (the key is shown on its button)", enter = null,
  commands = COMMANDS } = {}) {
  const rows = [];
  const keys = (shortcuts || []).filter(Boolean);
  if (keys.length) rows.push([keyRange(keys), pick]);
  if (enter) rows.push(["Enter", enter]);
  return rows.concat(commands);
}

/** "1", "1 … 4", "1 … 9, 0", "1 … 9, 0, q, w": runs of the default keys shortened, others listed. */
export function keyRange(keys) {
  const digits = "1234567890";
  let n = 0;
  while (n < keys.length && n < digits.length && keys[n] === digits[n]) n++;
  const parts = [];
  if (n === 1) parts.push("1");
  else if (n > 1 && n <= 9) parts.push(`1 … ${n}`);
  else if (n === 10) parts.push("1 … 9", "0");
  return parts.concat(keys.slice(n)).join(", ");
}

export function actionFor(event, shortcuts) {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const key = event.key;
  const index = shortcuts.indexOf(key.length === 1 ? key.toLowerCase() : key);
  if (key.length === 1 && index >= 0) return { type: "category", index };
  switch (key) {
    case "Enter": return { type: "submit" };
    case "ArrowRight": case "j": case "J": return { type: "next" };
    case "ArrowLeft": case "k": case "K": return { type: "prev" };
    case "Backspace": case "z": case "Z": return { type: "undo" };
    case "Delete": return { type: "withdraw" };
    case "s": case "S": return { type: "skip" };
    case "u": case "U": return { type: "unlabeled" };
    case "?": return { type: "help" };
    case "Escape": return { type: "leave" };
    default: return null;
  }
}
