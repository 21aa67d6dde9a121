// A small window of cards around the one shown (a few behind, `ahead` in front).
// Cards outside the window are disposed (Blob URLs revoked), so the browser's memory
// stays flat however long the job is; the kernel keeps the data.
import { createPanel } from "./panels/index.js";

export class CardCache {
  constructor({ request, behind = 3, ahead = 5, bitmap = () => false }) {
    this.request = request; // (positions: number[]) => void
    this.behind = behind;
    this.ahead = ahead;
    // (card) => whether a canvas tool draws it: decoded into an ImageBitmap (1.7 MB at 768 x 576,
    // outside the JS heap), closed when the card leaves the window
    this.bitmap = bitmap;
    this.pos = 0;
    // Cards are asked for in chunks, once this many are missing from the window (or the card
    // shown is): each request costs a kernel round trip, so not one a key press.
    this.refill = Math.max(1, Math.ceil(ahead / 2));
    this.entries = new Map(); // pos -> {card, panel, decoded}
    this.pending = new Set();
    this.waiters = new Map(); // pos -> [callback]
    this.lo = 0;
    this.hi = -1;
  }

  /** Keep [pos - behind, pos + ahead]; ask the kernel for what is missing, nearest first, in chunks. */
  want(pos, total) {
    this.pos = pos;
    this.lo = Math.max(0, pos - this.behind);
    this.hi = Math.min(total - 1, pos + this.ahead);
    for (const [p, entry] of this.entries) {
      if (p < this.lo || p > this.hi) this._drop(p, entry);
    }
    for (const p of this.pending) if (p < this.lo || p > this.hi) this.pending.delete(p);
    const missing = [];
    for (let d = 0; d <= Math.max(this.ahead, this.behind); d++) {
      for (const p of d === 0 ? [pos] : [pos + d, pos - d]) {
        if (p >= this.lo && p <= this.hi && !this.entries.has(p) && !this.pending.has(p)) missing.push(p);
      }
    }
    // The last cards of the queue may never make a chunk: once the window reaches them, they go.
    const tail = this.hi === total - 1 && missing.includes(this.hi);
    const now = missing.length && (missing[0] === pos || missing.length >= this.refill || tail);
    if (now) {
      missing.forEach((p) => this.pending.add(p));
      this.request(missing);
    }
  }

  /** A card arrived from the kernel. */
  receive(card, buffer) {
    const pos = card.pos;
    this.pending.delete(pos);
    if (pos < this.lo || pos > this.hi) return; // the user moved on; drop it at once
    const old = this.entries.get(pos);
    if (old) this._drop(pos, old);
    const panel = createPanel(card, buffer, { bitmap: this.bitmap(card) });
    const entry = { card, panel, decoded: false };
    this.entries.set(pos, entry);
    panel.ready.finally(() => {
      entry.decoded = true;
      if (this.entries.get(pos) !== entry) return;
      const waiting = this.waiters.get(pos) || [];
      this.waiters.delete(pos);
      waiting.forEach((cb) => cb(entry));
    });
  }

  get(pos) {
    return this.entries.get(pos);
  }

  /** Call back once the card at `pos` is decoded (at once if it already is). */
  whenReady(pos, callback) {
    const entry = this.entries.get(pos);
    if (entry && entry.decoded) return callback(entry);
    if (!this.waiters.has(pos)) this.waiters.set(pos, []);
    this.waiters.get(pos).push(callback);
  }

  /** Forget a card so it is fetched again (its label changed in the kernel). */
  invalidate(pos) {
    const entry = this.entries.get(pos);
    if (entry) this._drop(pos, entry);
  }

  clear() {
    for (const [p, entry] of this.entries) this._drop(p, entry);
    this.pending.clear();
    this.waiters.clear();
  }

  _drop(pos, entry) {
    if (pos !== this.pos && entry.panel.release) entry.panel.release(); // the card shown may still be drawn
    entry.panel.dispose();
    entry.panel.el.remove();
    this.entries.delete(pos);
  }
}
