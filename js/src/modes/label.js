// Labeling mode: the job's queue; a key press is this worker's answer, z undoes it.
// A mode is what the view asks when it differs between labeling, review (and adjustment and
// verification to come); the view keeps the cards, keys, batching and the rest. Every mode is
// `(view) => hooks`, with the hooks below (see modes/index.js).
import { helpRows } from "../keys.js";
import { setText, textEl } from "../dom.js";

export function labelMode(view) {
  const model = view.model;
  const machineEl = textEl("div", "gtw-machine", ""); // automated labeling: the model's label of this card
  return {
    name: "label",
    what: "Labeling", // the widget's accessible name: "Labeling: <title>"
    buttons: { undo: "undo (z)", unlabeled: "next unlabeled (u)" },
    /** An element the card shows below its labels: the model's label, when it gave one. */
    build: () => machineEl,
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
    renderCard(card) {
      const m = card && card.machine;
      setText(machineEl, m ? `the model's label: ${m.label} (confidence ${m.confidence.toFixed(2)}, round ${m.round})`
        + (m.audit && !card.answer ? " — is it right? Press its key, or another" : "") : "");
      machineEl.hidden = !m;
    },
    progressText(p, total) {
      if (p.audit) return auditText(p.audit);
      if (p.auto_label) return autoLabelText(p.auto_label);
      const labeled = p.labeled || 0;
      const parts = [`${labeled} / ${total} labeled`];
      if (p.skipped) parts.push(`${p.skipped} skipped`);
      if (p.per_minute) parts.push(`${p.per_minute.toFixed(1)} per minute`);
      if (p.eta_seconds != null && !p.done && labeled) parts.push(`${formatDuration(p.eta_seconds)} left`);
      return parts.join(" · ");
    },
    /** The end panel: its title and the [category, count] rows under it. */
    done(p) {
      if (p.audit) return auditDone(p.audit, p.done);
      if (p.auto_label) return autoLabelDone(p.auto_label, p.done);
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

const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** Automated labeling's progress: who labeled how many, and what held-out human labels say of the model. */
export function autoLabelText(a) {
  const parts = [`${a.human} by people · ${a.machine} by the model / ${a.total}`];
  const acc = a.accuracy;
  if (acc) {
    parts.push(`model ${pct(acc.accuracy)} right on ${acc.support} held-out (95%: ${pct(acc.low)}–${pct(acc.high)})`);
  }
  if (a.training) parts.push("training…");
  if (a.audited) parts.push(`audit: ${a.agreed} of ${a.audited} agreed`);
  if (a.audit_pending) parts.push(`${a.audit_pending} to audit`);
  if (a.error) parts.push(`a round failed: ${a.error}`);
  return parts.join(" · ");
}

export function autoLabelDone(a, done) {
  const title = done ? `Done (${a.stop}): ${a.human} labeled by people, ${a.machine} by the model.`
    : a.training ? "End of the queue for now: the model is training on your labels. More items come when it is done (or press u)."
      : "End of the queue: press u for the next items.";
  const rows = [["labeled by people", a.human], ["labeled by the model", a.machine], ["not labeled", a.total - a.human - a.machine]];
  if (a.audited) rows.push(["machine labels checked by people", a.audited], ["... that they agreed with", a.agreed]);
  return { title, rows };
}

function auditText(a) {
  return `${a.checked} / ${a.total} machine labels checked · ${a.agreed} agreed`;
}

function auditDone(a, done) {
  const title = done ? `Audit done: you agreed with ${a.agreed} of ${a.total} machine labels.`
    : `${a.total - a.checked} machine labels left to check. Press u to go to the next one.`;
  return { title, rows: [["checked", a.checked], ["agreed", a.agreed]] };
}
