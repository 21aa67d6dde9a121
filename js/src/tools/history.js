// Undo/redo of whole user actions (a stroke, a fill): each entry knows how to undo and redo itself.
// An entry may say how many `bytes` it keeps (a mask edit's old pixels): past `maxBytes` in all,
// the oldest entries go, as past `limit` entries.

export function createHistory({ limit = 100, maxBytes = Infinity, onChange = () => {} } = {}) {
  const done = [], undone = [];
  const kept = () => done.reduce((n, e) => n + (e.bytes || 0), 0);
  return {
    push(entry) {  // entry: { undo(), redo(), bytes? }, already applied
      done.push(entry);
      if (done.length > limit) done.shift();
      while (done.length > 1 && maxBytes < Infinity && kept() > maxBytes) done.shift();
      undone.length = 0;
      onChange();
    },
    undo() {
      const e = done.pop();
      if (!e) return false;
      e.undo();
      undone.push(e);
      onChange();
      return true;
    },
    redo() {
      const e = undone.pop();
      if (!e) return false;
      e.redo();
      done.push(e);
      onChange();
      return true;
    },
    get canUndo() { return done.length > 0; },
    get canRedo() { return undone.length > 0; },
    clear() { done.length = 0; undone.length = 0; onChange(); },
  };
}
