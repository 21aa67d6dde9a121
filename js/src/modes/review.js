// Review mode: the queue is the disagreements and a key press is the reviewer's decision.
// Each card also shows every worker's answer and the consolidated label with its confidence.
// All of it is manifest or worker data: textContent only, never markup.
import "./review.css";
import { el, setText, textEl } from "../dom.js";
import { helpRows } from "../keys.js";

export const REVIEW_COMMANDS = [
  ["→ or j", "next item"],
  ["← or k", "previous item"],
  ["Backspace or z", "back to the last item decided (press another category to change it)"],
  ["Delete", "withdraw this item's decision (the consolidated label stands again)"],
  ["s", "skip this item"],
  ["u", "jump to the next undecided item (this one, if it is not decided)"],
  ["?", "show or hide these shortcuts"],
  ["Tab", "move between the buttons; Enter or Space presses the one focused"],
  ["Esc", "leave the widget (the notebook gets the keys again)"],
];

/** The review mode's hooks for `view` (see modes/label.js for what each is). */
export function reviewMode(view) {
  const model = view.model;
  const reviewEl = el("div", "gtw-review");
  const current = () => {
    const entry = view.pos < view.total ? view.cache.get(view.pos) : null;
    return entry && entry.decoded ? entry : null;
  };
  return {
    name: "review",
    what: "Review",
    buttons: { undo: "back (z)", unlabeled: "next undecided (u)" },
    build: () => reviewEl,
    helpRows() {
      const multi = model.get("multi_label");
      return helpRows(model.get("shortcuts") || [], {
        pick: multi ? "pick a category for the decision (the key is shown on its button)"
          : "decide: this category is the label (the key is shown on its button)",
        enter: multi ? "decide: the picked categories, or the consolidated label if none is picked"
          : "accept the consolidated label as the decision",
        commands: REVIEW_COMMANDS,
      });
    },

    /** Enter: the consolidated label becomes the decision (multi-label: the picks, when any). */
    enter() {
      if (view.pos >= view.total) return;
      const multi = model.get("multi_label");
      if (multi && view.selected.size) return view.submitPicked();
      const entry = view.cache.get(view.pos);
      const review = entry && entry.decoded ? entry.card.review : null;
      const layer = review && review.value ? view.tools.shownLayer() : null;
      if (layer) { // masks: the one shown is the decision
        if (!layer.pick) return view.showError("this layer only marks where the workers disagree; press m for a mask to accept");
        return view.answer(layer.pick, layer.classes || []);
      }
      if (review && review.value) return view.answer(review.value, review.consolidated || []); // the consolidated boxes
      const consolidated = review ? review.consolidated : null;
      if (!consolidated || !consolidated.length) {
        return view.showError(entry && entry.decoded ? "no consolidated label here; pick a category"
          : "this card is still loading; try again in a moment");
      }
      view.answer(multi ? consolidated : consolidated[0]);
    },

    /** A card whose answer is a tool's value (boxes) is decided with Enter, not a category key
     * (the tool, once shown, takes the number keys: the class of a box). */
    refusePick() {
      const entry = current();
      if (!entry || !entry.card.review || !entry.card.review.value) return null;
      return entry.card.tool === "masks"
        ? "these are masks: press Enter to accept the mask shown as the decision (m shows the next one)"
        : "these are boxes: correct the gold ones if you disagree, then press Enter to decide them";
    },

    answering(entry) {
      if (entry.card.review) {
        const reviewer = (model.get("mode_options") || {}).reviewer || "";
        entry.card.review.adjudication = { reviewer, time: new Date().toISOString() };
      }
    },

    /** Delete: take back the decision on this card; the consolidated label stands again. */
    withdraw() {
      const entry = current();
      if (!entry || !entry.card.answer) return view.showError("no decision here to withdraw");
      entry.card.answer = null;
      if (entry.card.review) entry.card.review.adjudication = null;
      view.renderCardLabels();
      view.request({ type: "withdraw", id: entry.card.id });
    },

    /** Going back does not withdraw: it returns to the last card decided or skipped. */
    undo() {
      const pos = view.history.pop();
      if (pos === undefined) return view.showError("nothing to go back to");
      view.go(pos);
    },

    renderCard(card) {
      const review = card && card.review;
      reviewEl.hidden = !review;
      if (!review) return reviewEl.replaceChildren();
      const consolidated = review.consolidated || [];
      const decision = card.answer || [];
      const by = review.adjudication && review.adjudication.reviewer;
      setText(view.answerEl, decision.length ? `decision: ${decision.join(", ")}${by ? ` (by ${by})` : ""}` : "");
      const confidence = review.confidence == null ? "" : ` · confidence ${Number(review.confidence).toFixed(2)}`;
      const rows = (review.answers || []).map(({ worker, answer, color, iou }) => {
        const name = textEl("td", "gtw-review-worker", worker);
        if (color) { // their boxes' or mask's colour on the image
          const swatch = el("span", "gtw-review-swatch");
          swatch.style.background = color;
          name.prepend(swatch);
        }
        const row = el("tr", "gtw-review-row", name, textEl("td", "gtw-review-answer", (answer || []).join(", ")));
        if (iou != null) row.append(textEl("td", "gtw-review-iou", `IoU ${Number(iou).toFixed(2)}`)); // a mask against the consolidated
        row.classList.toggle("gtw-review-agrees", iou != null ? iou >= 0.9995 : sameLabels(answer, consolidated));
        return row;
      });
      reviewEl.replaceChildren(
        el("div", "gtw-review-consensus",
          textEl("span", "gtw-review-label-title", "consolidated: "),
          textEl("span", "gtw-review-consolidated", consolidated.join(", ")),
          textEl("span", "gtw-review-confidence", `${confidence} · ${review.n_workers || rows.length} workers`)),
        el("table", "gtw-review-answers", ...rows));
      if (review.value) view.buttons.hidden = true; // boxes, masks: Enter accepts the consolidated ones
      const cats = model.get("categories") || [];
      (view.catButtons || []).forEach((b, i) => b.classList.toggle("gtw-consolidated-choice", consolidated.includes(cats[i])));
    },

    progressText(p, total) {
      const parts = [`${p.labeled || 0} / ${total} decided`];
      if (p.skipped) parts.push(`${p.skipped} skipped`);
      if (p.per_minute) parts.push(`${p.per_minute.toFixed(1)} per minute`);
      return parts.join(" · ");
    },

    done(p) {
      const left = (p.total || 0) - (p.labeled || 0);
      let title;
      if (!p.total) title = "Nothing to review: the workers agreed on every object answered so far.";
      else if (p.done) title = `Done: all ${p.total} disagreements decided.`;
      else title = `End of the queue: ${left} disagreement${left === 1 ? "" : "s"} not decided yet. Press u to go to the next one.`;
      return { title, rows: Object.entries(p.per_class || {}).filter(([, n]) => n) };
    },
  };
}

function sameLabels(a, b) {
  const x = [...(a || [])].sort(), y = [...(b || [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
