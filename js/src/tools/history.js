// Undo/redo of whole user actions (a stroke, a fill): each entry knows how to undo and redo itself.

export function createHistory({ limit = 100, onChange = () => {} } = {}) {
  const done = [], undone = [];
  return {
    push(entry) {  // entry: { undo(), redo() }, already applied
      done.push(entry);
      if (done.length > limit) done.shift();
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
