// The mask as a PNG, encoded off the page's main thread: an indexed (palette) PNG whose palette
// index is the class value, each class in its colour and the background (0) transparent. One byte
// a pixel, deflated by the browser's own zlib (CompressionStream) in a Web Worker: a 12-megapixel
// mask takes tens of milliseconds there and none on the thread that paints the next card. The
// kernel reads it by colour (gtwidgets.masks.decode_mask), as Ground Truth's own answer.

let worker = null, next = 0;  // null: not started; false: none (encode on this thread)
const waiting = new Map();

/** PNG bytes (ArrayBuffer) of `labels` (Uint8Array, width x height; it is transferred to the
 * worker: pass a copy you will not use again); `colors`: class value -> [r, g, b]. */
export async function encodeMaskPNG(labels, width, height, colors) {
  const palette = paletteOf(colors);
  const w = await startWorker();
  if (!w) return encodeIndexedPNG(labels, width, height, palette);
  return new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, labels, width, height, palette }, [labels.buffer]);
  });
}

function paletteOf(colors) {
  const n = Math.max(1, ...Object.keys(colors).map(Number)) + 1;
  const palette = new Uint8Array(n * 3).fill(255);
  for (const [v, rgb] of Object.entries(colors)) palette.set(rgb, Number(v) * 3);
  return palette;
}

// One worker a page, once it has said it runs (a page may forbid blob: workers: then none).
function startWorker() {
  if (worker !== null) return worker;
  worker = new Promise((resolve) => {
    let url = null, w;
    try {
      const source = `const encode = (${encodeIndexedPNG.toString()});
self.onmessage = async ({ data: m }) => {
  try {
    const png = await encode(m.labels, m.width, m.height, m.palette);
    self.postMessage({ id: m.id, png }, [png]);
  } catch (e) { self.postMessage({ id: m.id, error: String((e && e.message) || e) }); }
};
self.postMessage({ ready: true });`;
      url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      w = new Worker(url);
    } catch {
      if (url) URL.revokeObjectURL(url);
      return resolve((worker = false));
    }
    w.onmessage = ({ data }) => {
      if (data.ready) {
        URL.revokeObjectURL(url);
        return resolve((worker = w));
      }
      const p = waiting.get(data.id);
      waiting.delete(data.id);
      if (p) data.error ? p.reject(new Error(data.error)) : p.resolve(data.png);
    };
    w.onerror = (e) => {
      if (worker !== w) return resolve((worker = false));  // it never ran
      for (const p of waiting.values()) p.reject(new Error(`the PNG encoder failed: ${e.message || "unknown error"}`));
      waiting.clear();
    };
  });
  return worker;
}

// Self-contained (it runs as the worker's source too): the PNG of palette-indexed rows.
async function encodeIndexedPNG(labels, width, height, palette) {
  const raw = new Uint8Array((width + 1) * height);  // filter byte 0 (none) before each row
  for (let y = 0; y < height; y++) raw.set(labels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"));
  const idat = new Uint8Array(await new Response(stream).arrayBuffer());
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  const header = new Uint8Array(13);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  header.set([8, 3, 0, 0, 0], 8);  // 8 bits, palette, deflate, adaptive filters, no interlace
  const chunks = [["IHDR", header], ["PLTE", palette], ["tRNS", new Uint8Array([0])], ["IDAT", idat],
    ["IEND", new Uint8Array(0)]];
  const out = new Uint8Array(8 + chunks.reduce((n, [, d]) => n + 12 + d.length, 0));
  out.set([137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(out.buffer);
  let at = 8;
  for (const [type, data] of chunks) {
    view.setUint32(at, data.length);
    for (let k = 0; k < 4; k++) out[at + 4 + k] = type.charCodeAt(k);
    out.set(data, at + 8);
    let c = -1;
    for (let i = at + 4; i < at + 8 + data.length; i++) c = table[(c ^ out[i]) & 255] ^ (c >>> 8);
    view.setUint32(at + 8 + data.length, (c ^ -1) >>> 0);
    at += 12 + data.length;
  }
  return out.buffer;
}
