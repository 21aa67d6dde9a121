// Labeling mode: the job's queue; a key press is this worker's answer, z undoes it.
// A mode is what the view asks when it differs between labeling, review (and adjustment and
// verification to come); the view keeps the cards, keys, batching and the rest. Every mode is
// `(view) => hooks`, with the hooks below (see modes/index.js).
import { helpRows } from "../keys.js";

export function labelMode(view) {
  const model = view.model;
  return {
    name: "label",
    what: "Labeling", // the widget's accessible name: "Labeling: <title>"
    buttons: { undo: "undo (z)", unlabeled: "next unlabeled (u)" },
    /** An element the card shows below its labels (none here). */
    build: () => null,
    helpRows: () => helpRows(model.get("shortcuts") || [],
      { enter: model.get("multi_label") ? "submit the picked categories" : null }),
    /** Enter: the picked categories of a multi-label job. */
    enter: () => view.submitPicked(),
    /** An answer is about to go for the card in `entry` (review marks who decided). */
    answering: () => {},
    /** Delete: a worker's answer is undone, not withdrawn. */
    withdraw: () => {},
    /** z: take back the last answer or skip, here and in the kernel. */
    undo: () => view.undoLast(),
    /** After the card's labels are drawn (`card` is null on the end panel or while loading). */
    renderCard: () => {},
    progressText(p, total) {
      const labeled = p.labeled || 0;
      const parts = [`${labeled} / ${total} labeled`];
      if (p.skipped) parts.push(`${p.skipped} skipped`);
      if (p.per_minute) parts.push(`${p.per_minute.toFixed(1)} per minute`);
      if (p.eta_seconds != null && !p.done && labeled) parts.push(`${formatDuration(p.eta_seconds)} left`);
      return parts.join(" · ");
    },
    /** The end panel: its title and the [category, count] rows under it. */
    done(p) {
      const left = (p.total || 0) - (p.labeled || 0);
      const title = p.done ? `Done: all ${p.total} items labeled.`
        : `End of the queue: ${left} item${left === 1 ? "" : "s"} not labeled yet${p.skipped ? ` (${p.skipped} skipped)` : ""}. Press u to go to the next one.`;
      return { title, rows: Object.entries(p.per_class || {}) };
    },
  };
}

export function formatDuration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
