// gtwidgets labeling widget: the anywidget entry (`export default { render }`).
// The kernel's job is the truth; this view shows a window of cards it asks for with
// custom messages, and turns keys and clicks into submit / skip / undo messages.
// Every key acts at once on cards already decoded; the kernel confirms afterwards.
// What the widget is for (labeling, review) is its mode (modes/), chosen by the `mode` trait;
// the messages both ways are declared in gtwidgets/protocol.py (typedefs: protocol.js).
import "./style.css";
import { CardCache } from "./cache.js";
import { actionFor } from "./keys.js";
import { el, setText, textEl, visible } from "./dom.js";
import { focusOnFirstShow, watchKernel } from "./link.js";
import { modeFor } from "./modes/index.js";
import { formatDuration } from "./modes/label.js";
import { CARD_KINDS, PANEL_KINDS, REPLIES, REQUESTS } from "./protocol.js";
import { panels } from "./panels/index.js";
import { forgetPending, receiveAsset } from "./assets.js";
import { ToolHost, drawsBitmap } from "./tool-host.js";

const BEHIND = 3;
// ms between two batches to the kernel when none is urgent. A person's keys are further apart,
// so each goes at once; a burst of keys shares one kernel request.
const SEND_GAP = 250;

function render({ model, el: host }) {
  const view = new LabelingView(model);
  host.appendChild(view.root);
  view.start();
  return () => view.destroy();
}

class LabelingView {
  constructor(model) {
    this.model = model;
    this.pos = model.get("position") || 0;
    this.history = []; // positions answered or skipped in this page, for instant undo
    this.localUndos = 0; // undos already shown; their replies from the kernel only confirm
    this.outbox = []; // messages to the kernel, sent in order once the new card is painted
    this.sentAt = -Infinity; // when the last batch went
    this.batchNo = 0;
    this.selected = new Set(); // multi-label picks on the current card
    this.moves = 0; // cards shown so far: a kernel's "goto" for an older request must not move the view
    this.seekSeq = 0; // the last "next unlabeled" request; only its reply moves the view
    this.gone = false; // the kernel restarted: this view's answers would go nowhere
    this.shownAt = performance.now();
    this.mode = modeFor(this);
    this.tools = new ToolHost(this); // boxes, masks: a card's tool instead of the category buttons
    this.cache = new CardCache({
      behind: BEHIND,
      ahead: Math.max(1, model.get("prefetch") || 16),
      request: (positions) => this._later({ type: "cards", positions }, { urgent: true }),
      bitmap: drawsBitmap,
    });
    this._build();
    this.onMsg = (msg, buffers) => this._message(msg, buffers);
    this.onChange = () => this._renderState();
  }

  start() {
    const m = this.model;
    // Closing or reloading the tab: answers still waiting for their batch go now.
    this.onHide = () => this.flushing && this._flush();
    window.addEventListener("pagehide", this.onHide);
    m.on("msg:custom", this.onMsg);
    m.on("change:progress", this.onChange);
    m.on("change:sync_status", this.onChange);
    // Automated labeling hands out more items as rounds end: on the end panel, show the first of them.
    this.onTotal = () => {
      if (this.pos < this.total && !this.doneEl.hidden) this.go(this.pos);
      this._renderState();
    };
    m.on("change:total", this.onTotal);
    this.onCategories = () => this._buildButtons();
    m.on("change:categories", this.onCategories);
    this._buildButtons();
    this._renderState();
    this.go(this.pos, { save: false });
    this.stopWatching = watchKernel(m, () => this.kernelGone());
    this.stopFocus = focusOnFirstShow(m, this.root);
  }

  destroy() {
    const m = this.model;
    window.removeEventListener("pagehide", this.onHide);
    m.off("msg:custom", this.onMsg);
    m.off("change:progress", this.onChange);
    m.off("change:sync_status", this.onChange);
    m.off("change:total", this.onTotal);
    m.off("change:categories", this.onCategories);
    this.stopWatching();
    this.stopFocus();
    clearTimeout(this.errorTimer);
    if (this.outbox.length) {
      this.flushing = true;
      this._flush(); // answers given just before closing still reach the kernel
    }
    this.flushing = false;
    this.tools.hide();
    this.cache.clear();
    forgetPending();
  }

  get total() {
    return this.model.get("total") || 0;
  }

  // ------------------------------------------------------------------ DOM

  _build() {
    const root = (this.root = el("div", "gtw-root"));
    root.tabIndex = 0;
    // Lumino skips its shortcuts under this attribute; stopPropagation below covers the rest.
    root.setAttribute("data-lm-suppress-shortcuts", "true");
    root.setAttribute("role", "group");
    root.setAttribute("aria-roledescription", "labeling widget");
    root.classList.add(`gtw-${this.mode.name}-mode`);
    root.addEventListener("keydown", (e) => this._key(e));
    root.addEventListener("focus", () => this.tools.focus()); // a card's tool takes the keys

    this.titleEl = textEl("span", "gtw-title", this.model.get("title"));
    this._label(this.model.get("title"));
    this.syncEl = textEl("span", "gtw-sync", "");
    this.focusHint = textEl("span", "gtw-focus-hint", "Click here or press Tab to use the keys");
    this.focusHint.setAttribute("aria-hidden", "true"); // the widget's own description says it
    const helpBtn = this._button("gtw-help-btn", "?", () => this.toggleHelp());
    helpBtn.title = "Keyboard shortcuts (?)";
    helpBtn.setAttribute("aria-label", "Keyboard shortcuts");
    helpBtn.setAttribute("aria-expanded", "false");
    this.helpBtn = helpBtn;

    const short = el("div", "gtw-instr-short");
    short.innerHTML = this.model.get("instructions_html") || ""; // sanitized by nh3 in the kernel
    const fullHtml = this.model.get("full_instructions_html") || "";
    const instr = el("div", "gtw-instructions", short);
    if (fullHtml) {
      const body = el("div", "gtw-instr-full-body");
      body.innerHTML = fullHtml; // sanitized by nh3 in the kernel
      instr.append(el("details", "gtw-instr-full", textEl("summary", "", "Full instructions"), body));
    }
    if (!short.innerHTML && !fullHtml) instr.hidden = true;

    this.barFill = el("div", "gtw-bar-fill");
    this.progressText = textEl("span", "gtw-progress-text", "");
    const bar = el("div", "gtw-bar", this.barFill);
    bar.setAttribute("aria-hidden", "true"); // the text beside it says the same
    const progress = el("div", "gtw-progress", bar, this.progressText);
    // One line: title, progress, save state, help. The image gets the height it saves.
    const header = el("div", "gtw-header", this.titleEl, progress, this.syncEl, helpBtn);

    this.nameEl = textEl("span", "gtw-name", "");
    this.posEl = textEl("span", "gtw-pos", "");
    this.stage = el("div", "gtw-stage");
    this.existingEl = textEl("span", "gtw-existing", "");
    this.answerEl = textEl("span", "gtw-answer", "");
    this.card = el("div", "gtw-card",
      el("div", "gtw-card-head", this.nameEl, this.posEl),
      this.stage,
      el("div", "gtw-card-labels", this.existingEl, this.answerEl));
    const extra = this.mode.build();
    if (extra) this.card.append(extra);

    this.buttons = el("div", "gtw-buttons");
    const nav = el("div", "gtw-nav",
      this._button("gtw-prev", "← back (k)", () => this.go(this.pos - 1)),
      this._button("gtw-undo", this.mode.buttons.undo, () => this.undo()),
      this._button("gtw-skip", "skip (s)", () => this.skip()),
      this._button("gtw-next-unlabeled", this.mode.buttons.unlabeled, () => this.nextUnlabeled()),
      this._button("gtw-next", "forward (j) →", () => this.go(this.pos + 1)));

    this.doneEl = el("div", "gtw-done");
    this.doneEl.hidden = true;
    this.helpTable = el("table", "");
    this.helpEl = el("div", "gtw-help", textEl("div", "gtw-help-title", "Keyboard shortcuts"), this.helpTable);
    this.helpEl.id = uniqueId("gtw-help");
    this.helpEl.hidden = true;
    helpBtn.setAttribute("aria-controls", this.helpEl.id);
    this.errorEl = textEl("div", "gtw-error", "");
    this.errorEl.setAttribute("role", "alert");
    this.errorEl.hidden = true;
    this.goneEl = textEl("div", "gtw-gone-note",
      "The kernel restarted, so this widget no longer reaches it and takes no answers: run this cell again.");
    this.goneEl.setAttribute("role", "alert");
    this.goneEl.hidden = true;
    // What a screen reader hears after each key: the answer given, the save state, the end.
    this.liveEl = el("div", "gtw-live");
    this.liveEl.setAttribute("role", "status");
    this.liveEl.setAttribute("aria-live", "polite");

    root.append(header, this.focusHint, this.goneEl, instr, this.card, this.doneEl, this.buttons, nav,
      this.errorEl, this.helpEl, this.liveEl);
  }

  /** The widget's accessible name and description: what it is, and how to use it. */
  _label(title) {
    const what = this.mode.what;
    this.root.setAttribute("aria-label", title ? `${what}: ${title}` : what);
    this.root.setAttribute("aria-description",
      "Press a category's key or Tab to its button and press Enter; ? lists every key; Esc leaves.");
  }

  /** Say `text` to screen readers (the live region), once per call even when it repeats. */
  announce(text) {
    this.liveEl.textContent = "";
    requestAnimationFrame(() => (this.liveEl.textContent = text));
    this.liveEl.dataset.said = text; // what the last announcement was, for tests and debugging
  }

  /** The kernel restarted: say so and take no more answers; nothing queued can reach it. */
  kernelGone() {
    if (this.gone) return;
    this.gone = true;
    this.outbox = [];
    this.root.classList.add("gtw-is-gone");
    this.goneEl.hidden = false;
    this.root.dataset.gone = "true";
  }

  _button(className, text, onClick) {
    const b = textEl("button", `gtw-btn ${className}`, text);
    b.type = "button";
    b.addEventListener("click", (e) => {
      e.stopPropagation();
      if (!this.gone || className === "gtw-help-btn") onClick();
      else this._refuse();
      if (e.detail) this.root.focus({ preventScroll: true }); // keys keep working after a click (not after Enter on it)
    });
    return b;
  }

  /** A key or click after the kernel went: nothing moves; the note says why, once more. */
  _refuse() {
    this.goneEl.hidden = false;
    this.announce(this.goneEl.textContent);
  }

  _buildButtons() {
    const cats = this.model.get("categories") || [];
    const keys = this.model.get("shortcuts") || [];
    this.catButtons = cats.map((name, i) => {
      const b = el("button", "gtw-btn gtw-cat");
      b.type = "button";
      b.dataset.index = String(i);
      if (keys[i]) b.append(textEl("kbd", "gtw-key", keys[i]));
      b.append(textEl("span", "gtw-cat-name", name));
      b.title = visible(keys[i] ? `${name} (key ${keys[i]})` : name);
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        if (this.gone) this._refuse();
        else this.pick(i);
        if (e.detail) this.root.focus({ preventScroll: true }); // a mouse click; Tab users keep their place
      });
      return b;
    });
    const parts = [...this.catButtons];
    if (this.model.get("multi_label")) {
      parts.push(this._button("gtw-submit", "submit (Enter)", () => this.submitSelection()));
    }
    this.buttons.replaceChildren(...parts);
    this.helpTable.replaceChildren(...this.mode.helpRows().map(([k, what]) =>
      el("tr", "", textEl("td", "gtw-help-key", k), textEl("td", "", what))));
    this.renderCardLabels();
  }

  // ------------------------------------------------------------------ actions

  _key(e) {
    const action = actionFor(e, this.model.get("shortcuts") || []);
    if (e.key !== "Tab" && e.key !== "Escape") e.stopPropagation(); // never reaches JupyterLab
    // Enter or Space on a focused button presses that button, as everywhere else.
    if ((e.key === "Enter" || e.key === " ") && e.target !== this.root && e.target.closest("button")) return;
    if (!action) {
      if (!this.gone && this.tools.key(e)) e.preventDefault(); // e.g. the mask viewer's o and m
      return;
    }
    e.preventDefault();
    if (this.gone && action.type !== "leave" && action.type !== "help") return this._refuse();
    switch (action.type) {
      case "category": return this.pick(action.index);
      case "submit": return this.submitSelection();
      case "next": return this.go(this.pos + 1);
      case "prev": return this.go(this.pos - 1);
      case "undo": return this.undo();
      case "withdraw": return this.withdraw();
      case "skip": return this.skip();
      case "unlabeled": return this.nextUnlabeled();
      case "help": return this.toggleHelp();
      case "leave":
        if (!this.helpEl.hidden) return this.toggleHelp(false);
        this.root.blur();
        return;
    }
  }

  pick(index) {
    const name = (this.model.get("categories") || [])[index];
    if (this.tools.active) return; // the tool answers this card (its own keys choose classes)
    const refused = this.mode.refusePick && this.mode.refusePick(); // e.g. review of boxes: Enter decides
    if (refused) return this.showError(refused);
    if (name === undefined || this.pos >= this.total) return;
    if (this.model.get("multi_label")) {
      if (this.selected.has(name)) this.selected.delete(name);
      else this.selected.add(name);
      this.renderCardLabels();
      return;
    }
    this.answer(this.tools.answerFor(name), [name]); // verification: with the comment, if any
  }

  /** Enter: what it submits is the mode's call. */
  submitSelection() {
    this.mode.enter();
  }

  /** The categories picked on this card (a multi-label job), as the answer. */
  submitPicked() {
    if (!this.model.get("multi_label") || this.pos >= this.total) return;
    if (this.selected.size === 0) return this.showError("pick at least one category, then press Enter");
    const cats = this.model.get("categories") || [];
    this.answer(cats.filter((c) => this.selected.has(c)));
  }

  /** Answer the card shown (the mode says what an answer means) and move on; `shown`: the
   * category names it is shown as (a tool's answer is not a list of names itself). */
  answer(answer, shown = Array.isArray(answer) ? answer : [answer], buffer = null) {
    const pos = this.pos;
    const entry = this.cache.get(pos);
    if (!entry) return this.showError("this card is still loading; try again in a moment");
    this.mode.answering(entry);
    const spent = (performance.now() - this.shownAt) / 1000;
    entry.card.answer = shown;
    this.history.push(pos);
    // queued first, sent after the paint; a binary answer (a mask's PNG) goes as a buffer (_flush)
    this._later({ type: "submit", id: entry.card.id, answer, spent, ...(buffer ? { buffer } : {}) });
    this._advance(pos, entry.card.id); // paint first: the next card is already decoded
    this.announce(`${shown.join(", ") || "nothing"}: answered. ${this._where()}`);
  }

  /** After an answer: the next card that still needs one. Cards answered already (the user went
   * back, or came to a skipped card with u) are passed over; when every card after this one is,
   * the kernel says where the next unlabeled one is, or that the job is done. */
  _advance(pos, id) {
    const total = this.total;
    if (pos + 1 >= total) return this.go(total); // the end of the queue, in order: the end panel
    for (let p = pos + 1; p < total; p++) {
      const entry = this.cache.get(p);
      if (!entry || !entry.decoded) { // not here yet: shown when it is, or passed over if answered
        this.go(p);
        this.passAnswered = p;
        return;
      }
      if (!entry.card.answer) return this.go(p);
    }
    this.renderCardLabels(); // stay on the answered card until the kernel says where to go
    this._seek({ after: id });
  }

  /** Ask the kernel for the next unlabeled card (`from`: this one counts; `after`: the next). */
  _seek(where) {
    this.seekSeq += 1;
    this.seekMoves = this.moves;
    this._later({ type: "next_unlabeled", ...where, seq: this.seekSeq });
  }

  _where() {
    return this.pos >= this.total ? "End of the queue." : `Item ${this.pos + 1} of ${this.total}.`;
  }

  skip() {
    const pos = this.pos;
    const entry = this.cache.get(pos);
    if (!entry) return;
    this.history.push(pos);
    this.go(pos + 1);
    this._later({ type: "skip", id: entry.card.id });
    this.announce(`Skipped. ${this._where()}`);
  }

  undo() {
    this.mode.undo();
  }

  /** Take back the last answer or skip: shown at once, confirmed by the kernel's `undone`. */
  undoLast() {
    const pos = this.history.pop();
    if (pos !== undefined) {
      const entry = this.cache.get(pos);
      if (entry) entry.card.answer = null;
      this.localUndos += 1;
      this.go(pos);
    }
    this._later({ type: "undo" });
  }

  withdraw() {
    this.mode.withdraw();
  }

  /** u: the first card from this one on (this one too) that is not labeled, else the end panel. */
  nextUnlabeled() {
    const entry = this.pos < this.total ? this.cache.get(this.pos) : null;
    this._seek({ from: entry ? entry.card.id : null });
  }

  toggleHelp(show) {
    this.helpEl.hidden = show === undefined ? !this.helpEl.hidden : !show;
    this.helpBtn.setAttribute("aria-expanded", String(!this.helpEl.hidden));
  }

  /** Show card `pos` (or the end panel at `total`); paints synchronously when it is decoded. */
  go(pos, { save = true } = {}) {
    const total = this.total;
    pos = Math.max(0, Math.min(pos, total));
    const moved = pos !== this.pos;
    this.pos = pos;
    this.moves += 1;
    this.passAnswered = null;
    this.root.dataset.pos = String(pos);
    this.selected = new Set();
    if (pos >= total) {
      this._showEnd();
    } else {
      this.doneEl.hidden = true;
      this.card.hidden = false;
      const entry = this.cache.get(pos);
      if (entry && entry.decoded) this._show(entry);
      else {
        this._loading(pos);
        this.cache.whenReady(pos, (e) => this.pos === pos && this._show(e));
      }
    }
    this.cache.want(Math.min(pos, Math.max(total - 1, 0)), total);
    this.posEl.textContent = total ? `${Math.min(pos + 1, total)} / ${total}` : "";
    if (save && moved) this._later(null); // the kernel learns the position with the next batch
  }

  /** Send a request to the kernel with the next batch (see `_later`).
   * @param {import("./protocol.js").Request} msg */
  request(msg) {
    this._later(msg);
  }

  /** Queue a message for the kernel. Messages go after the next paint, in order, as one batch
   * carrying the position shown, and at most one batch per SEND_GAP unless one is urgent (cards
   * to fetch): each kernel request costs the page its busy/idle updates (a few ms each in
   * JupyterLab), so keys pressed faster than that share a request. The paint never waits. */
  _later(msg, { urgent = false } = {}) {
    if (msg) this.outbox.push(msg);
    if (this.flushing && (this.urgent || !urgent)) return;
    this.flushing = true;
    this.urgent = urgent;
    const gap = urgent ? 0 : Math.max(0, this.sentAt + SEND_GAP - performance.now());
    const batch = ++this.batchNo; // a timer of an earlier batch must not send this one early
    requestAnimationFrame(() => setTimeout(() => this._flush(batch), gap));
    setTimeout(() => this._flush(batch), 100 + gap); // rAF does not run in a hidden tab; messages must still go out
  }

  _flush(batch = this.batchNo) {
    if (!this.flushing || batch !== this.batchNo) return;
    this.flushing = false;
    this.urgent = false;
    this.sentAt = performance.now();
    const outbox = this.outbox;
    this.outbox = [];
    // A buffer still being made (a mask's PNG, encoded in a worker) holds its batch, and the
    // batches after it, so the kernel gets them in order; the view does not wait.
    if (!this.held && !outbox.some((m) => m.buffer instanceof Promise)) return this._send(outbox, outbox.map((m) => m.buffer));
    const held = (this.held = (this.held || Promise.resolve())
      .then(() => Promise.allSettled(outbox.map((m) => m.buffer)))
      .then((done) => {
        const failed = done.filter((d) => d.status === "rejected");
        if (failed.length) this.showError(`an answer was not sent (${failed[0].reason.message}); answer that card again`);
        const ok = outbox.filter((m, i) => done[i].status === "fulfilled");
        this._send(ok, done.filter((d) => d.status === "fulfilled").map((d) => d.value));
      })
      .finally(() => { if (this.held === held) this.held = null; }));
  }

  /** One batch: `buffers[i]` is message i's binary answer (a mask's PNG), if any, sent by index. */
  _send(outbox, buffers) {
    const parts = [];
    const messages = outbox.map(({ buffer, ...m }, i) => {
      if (buffer) {
        m.answer_buffer = parts.length;
        parts.push(buffers[i]);
      }
      return m;
    });
    this.model.send({ type: "batch", position: this.pos, messages }, undefined, parts.length ? parts : undefined);
  }

  _show(entry) {
    if (this.passAnswered === this.pos && entry.card.answer) return this._advance(this.pos, entry.card.id);
    if (!this.tools.show(entry, this.stage)) {
      this.stage.classList.remove("gtw-has-tool");
      this.stage.replaceChildren(entry.panel.el);
    }
    if (entry.panel.shown) entry.panel.shown(); // e.g. sensor plots draw once on screen
    this.root.dataset.shown = entry.card.id;
    this.card.dataset.kind = entry.card.kind;
    setText(this.nameEl, entry.card.name);
    this.nameEl.title = visible(entry.card.source || entry.card.name);
    this.shownAt = performance.now();
    if (this.model.get("multi_label") && entry.card.answer) this.selected = new Set(entry.card.answer);
    this.renderCardLabels();
  }

  _loading(pos) {
    this.tools.hide();
    this.stage.replaceChildren(textEl("div", "gtw-loading", "loading…"));
    this.root.dataset.shown = "";
    this.nameEl.textContent = "";
    this.renderCardLabels();
  }

  renderCardLabels() {
    const entry = this.pos < this.total ? this.cache.get(this.pos) : null;
    const card = entry && entry.decoded ? entry.card : null;
    const existing = (card && card.label) || [];
    const answer = (card && card.answer) || [];
    setText(this.existingEl, existing.length ? `existing label: ${existing.join(", ")}` : "");
    setText(this.answerEl, answer.length ? `your answer: ${answer.join(", ")}` : "");
    this.buttons.hidden = this.tools.active;
    const chosen = this.model.get("multi_label") ? this.selected : new Set(answer);
    (this.catButtons || []).forEach((b, i) => {
      const name = this.model.get("categories")[i];
      b.classList.toggle("gtw-chosen", chosen.has(name));
      b.classList.toggle("gtw-existing-choice", existing.includes(name));
      b.setAttribute("aria-pressed", chosen.has(name) ? "true" : "false");
    });
    this.mode.renderCard(card);
  }

  _showEnd() {
    this.tools.hide();
    this.card.hidden = true;
    this.doneEl.hidden = false;
    this._renderDone();
    this.renderCardLabels(); // no category stays highlighted on the end panel
  }

  _renderDone() {
    const { title, rows } = this.mode.done(this.model.get("progress") || {});
    this.doneEl.replaceChildren(textEl("div", "gtw-done-title", title), el("table", "gtw-done-table",
      ...rows.map(([c, n]) => el("tr", "", textEl("td", "gtw-done-class", c), textEl("td", "gtw-done-count", n)))));
  }

  // ------------------------------------------------------------------ kernel -> view

  /** @param {import("./protocol.js").Reply} msg a message from the kernel; @param {DataView[]} buffers */
  _message(msg, buffers) {
    const handler = msg && Object.prototype.hasOwnProperty.call(ON_REPLY, msg.type) ? ON_REPLY[msg.type] : null;
    if (handler) handler(this, msg, buffers);
  }

  showError(text) {
    setText(this.errorEl, text);
    this.errorEl.hidden = false;
    clearTimeout(this.errorTimer);
    this.errorTimer = setTimeout(() => (this.errorEl.hidden = true), 8000);
  }

  _renderState() {
    const p = this.model.get("progress") || {};
    const total = p.total ?? this.total;
    const labeled = p.labeled || 0;
    this.barFill.style.width = total ? `${(100 * labeled) / total}%` : "0%";
    this.progressText.textContent = this.mode.progressText(p, total);
    const sync = this.model.get("sync_status") || {};
    this.syncEl.textContent = syncText(sync);
    if (this.syncEl.dataset.state && sync.state !== this.syncEl.dataset.state && sync.state !== "uploading") {
      this.announce(this.syncEl.textContent); // saved, offline, back online: not every upload
    }
    this.syncEl.dataset.state = sync.state || "";
    this.syncEl.title = visible(sync.message);
    const newlyDone = !!p.done && !this.root.classList.contains("gtw-is-done");
    this.root.classList.toggle("gtw-is-done", !!p.done);
    if (this.pos >= this.total || newlyDone) this._renderDone();
    if (newlyDone) this.announce(this.doneEl.querySelector(".gtw-done-title").textContent);
  }
}

/** The kernel's replies (gtwidgets/protocol.py's REPLIES), each with what the view does with it. */
const ON_REPLY = {
  card(view, msg, buffers) {
    if (msg.kind === "panels") msg.request = (m) => view._later(m, { urgent: true }); // panel cards: all buffers, zoom requests
    for (const part of Object.values(msg.tool_meta || {})) { // the tool's binary parts: starting mask, superpixels
      if (part && typeof part.buffer === "number" && buffers && buffers[part.buffer]) part.data = buffers[part.buffer];
    }
    for (const layer of (msg.tool_meta && msg.tool_meta.layers) || []) layer.data = buffers && buffers[layer.buffer]; // masks shown read only
    view.cache.receive(msg, msg.kind === "panels" ? buffers || [] : buffers && buffers.length ? buffers[0] : null);
    if (msg.pos === view.pos) view.renderCardLabels();
  },
  asset: (view, msg, buffers) => receiveAsset(msg, buffers),
  series_window(view, msg, buffers) {
    const entry = view.cache.get(msg.pos);
    if (entry && entry.card.id === msg.id && entry.panel.receive) entry.panel.receive(msg, buffers || []);
  },
  undone(view, msg) {
    if (view.localUndos > 0) {
      view.localUndos -= 1; // shown already; the user may have answered again since
      return;
    }
    if (msg.pos === null || msg.pos === undefined) return view.showError("nothing to undo");
    const entry = view.cache.get(msg.pos);
    if (entry) entry.card.answer = msg.answer;
    if (msg.pos !== view.pos) view.go(msg.pos);
    else view.renderCardLabels();
  },
  goto(view, msg) {
    // Only the last request's reply moves the view, and only if the user has not moved since.
    if (msg.seq !== view.seekSeq || view.moves !== view.seekMoves) return;
    if (msg.pos === view.pos) return view.announce(`This item is not labeled yet. ${view._where()}`);
    view.go(msg.pos === null || msg.pos === undefined ? view.total : msg.pos);
  },
  error: (view, msg) => view.showError(msg.message),
};

/** For tests/test_protocol.py: the protocol this bundle was built with, and the replies and card
 * kinds it handles (each must be declared in gtwidgets/protocol.py, and each declared one handled). */
export const protocol = {
  declared: { REQUESTS, REPLIES, CARD_KINDS, PANEL_KINDS },
  replies: Object.keys(ON_REPLY),
  cards: Object.keys(panels),
};

let ids = 0;
function uniqueId(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

export function syncText(s) {
  const n = s.pending || 0;
  switch (s.state) {
    case "saved": return "saved";
    case "uploading": return `uploading ${n}`;
    case "offline": return `offline — ${n} answer${n === 1 ? "" : "s"} kept locally, will upload when S3 is back`;
    case "local": return "saved locally";
    default: return s.message || "";
  }
}

export { formatDuration };

export default { render };
