// The mask tool's full-resolution class labels (one byte a pixel) and their edits.
//
// An edit paints runs of pixels of one row (`span`) with one value; before a 64 x 64 tile is first
// changed its old bytes are kept, so undo and redo swap whole tiles back: a stroke over a 12-megapixel
// image keeps a few kilobytes, a fill of all of it 12 MB (the history caps its total). Counts of
// each class are kept current, so the classes present are known without a pass over the pixels.

const T = 6;              // tile side 64 = 1 << T
const TILE = 1 << T;

export function createLabels(width, height, initial = null) {
  const data = new Uint8Array(width * height);
  if (initial) data.set(initial);
  const counts = new Float64Array(256);
  if (initial) for (let i = 0; i < data.length; i++) counts[data[i]]++;
  else counts[0] = data.length;
  const tilesX = Math.ceil(width / TILE);

  /** Start an edit that paints `value`; `rect` grows to the image pixels it changed ([x0, x1) x [y0, y1)). */
  function begin(value) {
    return { value, tiles: new Map(), rect: emptyRect(), dirty: emptyRect() };
  }

  /** Paint pixels xa..xb (inclusive, clipped) of row y. */
  function span(change, y, xa, xb) {
    if (y < 0 || y >= height) return;
    xa = Math.max(0, xa);
    xb = Math.min(width - 1, xb);
    const v = change.value, row = y * width, ty = y >> T;
    for (let x = xa; x <= xb;) {
      const tx = x >> T, end = Math.min(xb, ((tx + 1) << T) - 1);
      let i = row + x;
      const last = row + end;
      while (i <= last && data[i] === v) i++;
      if (i <= last) {
        keepTile(change, ty * tilesX + tx);
        const first = i - row;
        let lastChanged = first;
        for (; i <= last; i++) {
          const old = data[i];
          if (old !== v) { counts[old]--; counts[v]++; data[i] = v; lastChanged = i - row; }
        }
        grow(change.rect, first, y, lastChanged + 1, y + 1);
        grow(change.dirty, first, y, lastChanged + 1, y + 1);
      }
      x = end + 1;
    }
  }

  function keepTile(change, t) {
    if (change.tiles.has(t)) return;
    const { x0, y0, x1, y1 } = tileRect(t);
    const saved = new Uint8Array((x1 - x0) * (y1 - y0));
    for (let y = y0, k = 0; y < y1; y++, k += x1 - x0) saved.set(data.subarray(y * width + x0, y * width + x1), k);
    change.tiles.set(t, saved);
  }

  function tileRect(t) {
    const tx = t % tilesX, ty = (t - tx) / tilesX;
    const x0 = tx << T, y0 = ty << T;
    return { x0, y0, x1: Math.min(width, x0 + TILE), y1: Math.min(height, y0 + TILE) };
  }

  /** The edit as a history entry ({undo, redo, bytes, rect}), or null when it changed nothing. */
  function commit(change) {
    if (!change.tiles.size) return null;
    let bytes = 0;
    for (const saved of change.tiles.values()) bytes += saved.length;
    const swap = () => { swapTiles(change.tiles); return change.rect; };
    return { undo: swap, redo: swap, bytes, rect: change.rect };
  }

  function swapTiles(tiles) {  // each kept tile <-> the pixels now there
    for (const [t, saved] of tiles) {
      const { x0, y0, x1, y1 } = tileRect(t);
      for (let y = y0, k = 0; y < y1; y++) {
        for (let i = y * width + x0, e = y * width + x1; i < e; i++, k++) {
          const now = data[i], then = saved[k];
          if (now !== then) { counts[now]--; counts[then]++; data[i] = then; saved[k] = now; }
        }
      }
    }
  }

  /** Class values with at least one pixel, background (0) left out. */
  function present() {
    const out = [];
    for (let v = 1; v < 256; v++) if (counts[v] > 0) out.push(v);
    return out;
  }

  return { width, height, data, begin, span, commit, present };
}

export function emptyRect() {
  return { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
}

export function grow(r, x0, y0, x1, y1) {
  if (x0 < r.x0) r.x0 = x0;
  if (y0 < r.y0) r.y0 = y0;
  if (x1 > r.x1) r.x1 = x1;
  if (y1 > r.y1) r.y1 = y1;
}
