// Review mode: the labeling view, but the queue is the disagreements and a key press is the
// reviewer's decision. Each card also shows every worker's answer and the consolidated label
// with its confidence. All of it is manifest or worker data: textContent only, never markup.
import "./review.css";
import { el, setText, textEl } from "./dom.js";
import { helpRows } from "./keys.js";

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

/** The review view: a subclass of the labeling view `Base` (passed in, so no import cycle). */
export function reviewView(Base) {
  return class ReviewView extends Base {
    _build() {
      super._build();
      this.root.classList.add("gtw-review-mode");
      this._label(this.model.get("title"));
      this.reviewEl = el("div", "gtw-review");
      this.card.append(this.reviewEl);
      this.root.querySelector(".gtw-undo").textContent = "back (z)";
      this.root.querySelector(".gtw-next-unlabeled").textContent = "next undecided (u)";
    }

    _helpRows() {
      const multi = this.model.get("multi_label");
      return helpRows(this.model.get("shortcuts") || [], {
        pick: multi ? "pick a category for the decision (the key is shown on its button)"
          : "decide: this category is the label (the key is shown on its button)",
        enter: multi ? "decide: the picked categories, or the consolidated label if none is picked"
          : "accept the consolidated label as the decision",
        commands: REVIEW_COMMANDS,
      });
    }

    /** Enter: the consolidated label becomes the decision (multi-label: the picks, when any). */
    submitSelection() {
      if (this.pos >= this.total) return;
      const multi = this.model.get("multi_label");
      if (multi && this.selected.size) return super.submitSelection();
      const entry = this.cache.get(this.pos);
      const consolidated = entry && entry.decoded && entry.card.review ? entry.card.review.consolidated : null;
      if (!consolidated || !consolidated.length) {
        return this.showError(entry && entry.decoded ? "no consolidated label here; pick a category"
          : "this card is still loading; try again in a moment");
      }
      this._answer(multi ? consolidated : consolidated[0]);
    }

    _answer(answer) {
      const entry = this.cache.get(this.pos);
      if (entry && entry.card.review) {
        entry.card.review.adjudication = { reviewer: this.model.get("reviewer") || "", time: new Date().toISOString() };
      }
      super._answer(answer);
    }

    /** Delete: take back the decision on this card; the consolidated label stands again. */
    withdraw() {
      const entry = this.pos < this.total ? this.cache.get(this.pos) : null;
      if (!entry || !entry.decoded || !entry.card.answer) return this.showError("no decision here to withdraw");
      entry.card.answer = null;
      if (entry.card.review) entry.card.review.adjudication = null;
      this._renderCardLabels();
      this._later({ type: "withdraw", id: entry.card.id });
    }

    /** Going back does not withdraw: it returns to the last card decided or skipped. */
    undo() {
      const pos = this.history.pop();
      if (pos === undefined) return this.showError("nothing to go back to");
      this.go(pos);
    }

    _renderCardLabels() {
      super._renderCardLabels();
      if (!this.reviewEl) return;
      const entry = this.pos < this.total ? this.cache.get(this.pos) : null;
      const card = entry && entry.decoded ? entry.card : null;
      const review = card && card.review;
      this.reviewEl.hidden = !review;
      if (!review) return this.reviewEl.replaceChildren();
      const consolidated = review.consolidated || [];
      const decision = card.answer || [];
      const by = review.adjudication && review.adjudication.reviewer;
      setText(this.answerEl, decision.length ? `decision: ${decision.join(", ")}${by ? ` (by ${by})` : ""}` : "");
      const confidence = review.confidence == null ? "" : ` · confidence ${Number(review.confidence).toFixed(2)}`;
      const rows = (review.answers || []).map(({ worker, answer }) => {
        const row = el("tr", "gtw-review-row", textEl("td", "gtw-review-worker", worker),
          textEl("td", "gtw-review-answer", (answer || []).join(", ")));
        row.classList.toggle("gtw-review-agrees", sameLabels(answer, consolidated));
        return row;
      });
      this.reviewEl.replaceChildren(
        el("div", "gtw-review-consensus",
          textEl("span", "gtw-review-label-title", "consolidated: "),
          textEl("span", "gtw-review-consolidated", consolidated.join(", ")),
          textEl("span", "gtw-review-confidence", `${confidence} · ${review.n_workers || rows.length} workers`)),
        el("table", "gtw-review-answers", ...rows));
      const cats = this.model.get("categories") || [];
      (this.catButtons || []).forEach((b, i) => b.classList.toggle("gtw-consolidated-choice", consolidated.includes(cats[i])));
    }

    _renderState() {
      super._renderState();
      const p = this.model.get("progress") || {};
      const parts = [`${p.labeled || 0} / ${p.total ?? this.total} decided`];
      if (p.skipped) parts.push(`${p.skipped} skipped`);
      if (p.per_minute) parts.push(`${p.per_minute.toFixed(1)} per minute`);
      this.progressText.textContent = parts.join(" · ");
    }

    _renderDone() {
      const p = this.model.get("progress") || {};
      const left = (p.total || 0) - (p.labeled || 0);
      let title;
      if (!p.total) title = "Nothing to review: the workers agreed on every object answered so far.";
      else if (p.done) title = `Done: all ${p.total} disagreements decided.`;
      else title = `End of the queue: ${left} disagreement${left === 1 ? "" : "s"} not decided yet. Press u to go to the next one.`;
      const rows = Object.entries(p.per_class || {}).filter(([, n]) => n).map(([c, n]) =>
        el("tr", "", textEl("td", "gtw-done-class", c), textEl("td", "gtw-done-count", n)));
      this.doneEl.replaceChildren(textEl("div", "gtw-done-title", title), el("table", "gtw-done-table", ...rows));
    }
  };
}

function sameLabels(a, b) {
  const x = [...(a || [])].sort(), y = [...(b || [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
