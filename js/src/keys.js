// Keyboard map: a key event -> an action name (or a category index). Pure, so it is easy to test.
export const COMMANDS = [
  ["1 … 9, 0", "pick a category (the key is shown on its button)"],
  ["Enter", "submit the picked categories (multi-label)"],
  ["→ or j", "next item"],
  ["← or k", "previous item"],
  ["Backspace or z", "undo the last answer or skip"],
  ["s", "skip this item"],
  ["u", "jump to the next unlabeled item"],
  ["?", "show or hide these shortcuts"],
  ["Esc", "leave the widget (the notebook gets the keys again)"],
];

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
