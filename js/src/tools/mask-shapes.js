// Shapes the mask tool paints into its labels (./mask-labels.js), one row run at a time. A pixel
// belongs to a shape when its centre does: brush strokes are capsules (centres within r of the
// segment), polygons fill by the even-odd rule, and fills work on a coarser grid (the card's image
// for flood fill, the kernel's superpixels for smart fill) whose cells map onto original pixels:
// original column x lies in grid column floor((2x + 1) * gw / (2 * width)), and so for rows.

/** The brush from (ax, ay) to (bx, by), radius r, in image pixels. */
export function capsule(labels, change, ax, ay, bx, by, r) {
  const ya = Math.max(0, Math.floor(Math.min(ay, by) - r - 0.5));
  const yb = Math.min(labels.height - 1, Math.ceil(Math.max(ay, by) + r));
  const dx = bx - ax, dy = by - ay, len = Math.hypot(dx, dy);
  const ux = len ? dx / len : 0, uy = len ? dy / len : 0;
  for (let y = ya; y <= yb; y++) {
    const cy = y + 0.5;
    let lo = Infinity, hi = -Infinity;
    for (const [px, py] of [[ax, ay], [bx, by]]) {  // the two end discs
      const h = r * r - (cy - py) * (cy - py);
      if (h >= 0) {
        const s = Math.sqrt(h);
        lo = Math.min(lo, px - s);
        hi = Math.max(hi, px + s);
      }
    }
    if (len) {  // the band between them: 0 <= along <= len and |across| <= r
      const along = slab(ux, (cy - ay) * uy, 0, len), across = slab(-uy, (cy - ay) * ux, -r, r);
      const a = Math.max(along[0], across[0]), b = Math.min(along[1], across[1]);
      if (a <= b) { lo = Math.min(lo, ax + a); hi = Math.max(hi, ax + b); }
    }
    if (lo <= hi) labels.span(change, y, Math.ceil(lo - 0.5), Math.floor(hi - 0.5));
  }
}

// Offsets t = x - ax where lo <= k * t + c <= hi, as [from, to] (empty when from > to).
function slab(k, c, lo, hi) {
  if (Math.abs(k) < 1e-12) return c >= lo && c <= hi ? [-Infinity, Infinity] : [1, 0];
  const p = (lo - c) / k, q = (hi - c) / k;
  return p < q ? [p, q] : [q, p];
}

/** A closed polygon of image-pixel points, even-odd rule on pixel centres. */
export function polygon(labels, change, points) {
  const ys = points.map((p) => p.y);
  const ya = Math.max(0, Math.floor(Math.min(...ys))), yb = Math.min(labels.height - 1, Math.ceil(Math.max(...ys)));
  for (let y = ya; y <= yb; y++) {
    const cy = y + 0.5, xs = [];
    for (let k = 0; k < points.length; k++) {
      const a = points[k], b = points[(k + 1) % points.length];
      if ((a.y <= cy) !== (b.y <= cy)) xs.push(a.x + ((cy - a.y) * (b.x - a.x)) / (b.y - a.y));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) labels.span(change, y, Math.ceil(xs[k] - 0.5), Math.ceil(xs[k + 1] - 0.5) - 1);
  }
}

/** The grid cell (column or row) of image pixel `p` on an axis of `n` pixels and `g` cells. */
export function cellOf(p, n, g) {
  return Math.min(g - 1, Math.max(0, Math.floor(((2 * p + 1) * g) / (2 * n))));
}

/** Paint the original pixels of every cell of a gw x gh grid that `inside(cellIndex)` says is in,
 * within the grid box {x0, y0, x1, y1} (inclusive). */
export function paintCells(labels, change, gw, gh, box, inside) {
  const cols = starts(labels.width, gw), rows = starts(labels.height, gh);
  for (let gy = box.y0; gy <= box.y1; gy++) {
    const ya = rows[gy], yb = rows[gy + 1] - 1;
    if (yb < ya) continue;
    for (let gx = box.x0; gx <= box.x1; gx++) {
      if (!inside(gy * gw + gx)) continue;
      const first = gx;
      while (gx + 1 <= box.x1 && inside(gy * gw + gx + 1)) gx++;
      const xa = cols[first], xb = cols[gx + 1] - 1;
      if (xb >= xa) for (let y = ya; y <= yb; y++) labels.span(change, y, xa, xb);
    }
  }
}

// starts[k]: the first original pixel of cell k (the inverse of cellOf), k = 0..g
function starts(n, g) {
  const out = new Int32Array(g + 1);
  for (let k = 0; k <= g; k++) out[k] = Math.max(0, Math.min(n, Math.ceil((2 * k * n - g) / (2 * g))));
  out[g] = n;
  return out;
}

/** The grid box of the cells whose value in `grid` is `id`. */
export function boxOf(grid, gw, id) {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let i = 0; i < grid.length; i++) {
    if (grid[i] !== id) continue;
    const x = i % gw, y = (i - x) / gw;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    y1 = y;
  }
  return { x0, y0, x1, y1 };
}

/** Flood fill on an RGBA grid: 4-connected cells whose every channel is within `tolerance` of the
 * seed's. Returns the cells (1 = in) and their box. */
export function flood(rgba, gw, gh, seed, tolerance) {
  const inside = new Uint8Array(gw * gh), stack = new Int32Array(gw * gh);
  const s = seed * 4, r0 = rgba[s], g0 = rgba[s + 1], b0 = rgba[s + 2];
  const like = (j) => {
    const o = j * 4;
    return Math.abs(rgba[o] - r0) <= tolerance && Math.abs(rgba[o + 1] - g0) <= tolerance
      && Math.abs(rgba[o + 2] - b0) <= tolerance;
  };
  let top = 0, x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  inside[seed] = 1;
  stack[top++] = seed;
  while (top) {
    const i = stack[--top], x = i % gw, y = (i - x) / gw;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    if (x > 0 && !inside[i - 1] && like(i - 1)) { inside[i - 1] = 1; stack[top++] = i - 1; }
    if (x < gw - 1 && !inside[i + 1] && like(i + 1)) { inside[i + 1] = 1; stack[top++] = i + 1; }
    if (y > 0 && !inside[i - gw] && like(i - gw)) { inside[i - gw] = 1; stack[top++] = i - gw; }
    if (y < gh - 1 && !inside[i + gw] && like(i + gw)) { inside[i + gw] = 1; stack[top++] = i + gw; }
  }
  return { inside, box: { x0, y0, x1, y1 } };
}
