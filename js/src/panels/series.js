// Sensor series panel: plotly.js (shipped in the package, loaded on first use, no CDN) over
// typed arrays from the kernel.
// The kernel sends each signal downsampled with peaks kept (MinMax-LTTB); zooming asks
// for the visible range at full detail (`series_range`), double-click goes back to the
// overview. The plot is drawn once the card is first shown, after its image has painted,
// so a key press never waits on plotly. dispose() purges the plot.
import { textEl } from "../dom.js";
import { loadPlotly } from "./plotly.js";

const CONFIG = { displayModeBar: false, scrollZoom: false, responsive: false, doubleClick: "reset", showTips: false };
const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const ZOOM_DELAY = 120; // ms: one request per zoom gesture, not one per relayout event

/** A kernel buffer (DataView, ArrayBuffer or typed array) as a typed array of `Type`. */
export function typed(buffer, Type) {
  if (!buffer) return new Type(0);
  if (buffer instanceof Type) return buffer;
  const ab = buffer.buffer instanceof ArrayBuffer ? buffer.buffer : buffer;
  const offset = buffer.byteOffset || 0;
  const length = buffer.byteLength;
  if (offset % Type.BYTES_PER_ELEMENT === 0) return new Type(ab, offset, length / Type.BYTES_PER_ELEMENT);
  return new Type(ab.slice(offset, offset + length)); // misaligned view: copy once
}

/** Each column's {name, x, y} from a meta whose `buffers` index into `buffers`. */
export function columnsOf(meta, buffers) {
  return (meta.columns || []).map((c, i) => ({
    name: c.name,
    x: typed(buffers[meta.buffers[2 * i]], Float64Array),
    y: typed(buffers[meta.buffers[2 * i + 1]], Float32Array),
  }));
}

/** The x range a plotly relayout event asks for: [x0, x1], "reset", or null (not an x zoom). */
export function rangeOf(ev) {
  if (!ev) return null;
  for (const [k, v] of Object.entries(ev)) {
    if (/^xaxis\d*\.autorange$/.test(k) && v) return "reset";
  }
  for (const k of Object.keys(ev)) {
    const m = /^(xaxis\d*)\.range\[0\]$/.exec(k);
    if (m && ev[`${m[1]}.range[1]`] !== undefined) return [Number(ev[k]), Number(ev[`${m[1]}.range[1]`])];
    const r = /^(xaxis\d*)\.range$/.exec(k);
    if (r && Array.isArray(ev[k])) return [Number(ev[k][0]), Number(ev[k][1])];
  }
  return null;
}

/**
 * meta: {title, overlay, columns, total_points, range, buffers, panel}; ctx: {card, request}.
 * request(msg) sends a message to the kernel (batched by the view).
 */
export function create(meta, buffers, ctx = {}) {
  const el = document.createElement("div");
  el.className = "gtw-series";
  el.dataset.panel = String(meta.panel);
  const plot = document.createElement("div");
  plot.className = "gtw-series-plot";
  el.appendChild(plot);
  const overview = columnsOf(meta, buffers);
  let drawn = false;
  let disposed = false;
  let seq = 0;
  let timer = null;
  let zoomed = null; // [x0, x1] while zoomed in
  let Plotly = null; // the module, once loaded

  const layout = (range) => {
    const n = meta.overlay ? 1 : Math.max(1, overview.length);
    const width = Math.max(240, el.clientWidth || 480);
    const height = Math.max(120 * n, el.clientHeight || 540);
    const lay = {
      width, height, margin: { l: 48, r: 8, t: 8, b: 28 }, showlegend: !!meta.overlay,
      legend: { orientation: "h", y: 1.02, x: 0 }, dragmode: "zoom", hovermode: false,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 10, color: getComputedStyle(el).color || "#444" },
      xaxis: range ? { range: [...range], autorange: false } : { autorange: true },
      grid: { rows: n, columns: 1, pattern: "coupled", ygap: 0.12 },
    };
    lay.xaxis.title = { text: "ms", standoff: 2 };
    for (let i = 0; i < n; i++) {
      lay[i ? `yaxis${i + 1}` : "yaxis"] = {
        fixedrange: true, autorange: true, zeroline: false,
        title: { text: meta.overlay ? "" : overview[i].name, font: { size: 10 } },
      };
    }
    return lay;
  };

  const traces = (cols) => cols.map((c, i) => ({
    type: "scatter", mode: "lines", name: c.name, x: c.x, y: c.y,
    line: { width: 1, color: COLORS[i % COLORS.length] },
    xaxis: "x", yaxis: meta.overlay || i === 0 ? "y" : `y${i + 1}`,
  }));

  const paint = (cols, range) => {
    const t0 = performance.now();
    return Plotly.react(plot, traces(cols), layout(range), CONFIG).then(() => {
      el.dataset.drawMs = String(Math.round(performance.now() - t0)); // for bench/sensor_card.py
      el.dataset.points = String(cols.reduce((n, c) => n + c.x.length, 0));
      el.dataset.painted = String(Number(el.dataset.painted || 0) + 1);
      el.dataset.zoomed = range ? `${range[0]},${range[1]}` : "";
    });
  };

  const onRelayout = (ev) => {
    const r = rangeOf(ev);
    if (!r) return;
    clearTimeout(timer);
    if (r === "reset") {
      zoomed = null;
      seq += 1; // replies to older zooms are stale now
      paint(overview, null);
      return;
    }
    zoomed = r[0] <= r[1] ? r : [r[1], r[0]];
    timer = setTimeout(() => {
      seq += 1;
      if (ctx.request) ctx.request({ type: "series_range", id: ctx.card && ctx.card.id, pos: ctx.card && ctx.card.pos,
        panel: meta.panel, start: zoomed[0], end: zoomed[1], seq });
    }, ZOOM_DELAY);
  };

  const draw = () => {
    if (drawn || disposed) return;
    drawn = true;
    if (!overview.length) {
      el.replaceChildren(textEl("div", "gtw-error-text", `${meta.title}: no values to plot`));
      return;
    }
    loadPlotly(ctx.request).then((module) => {
      if (disposed) return;
      Plotly = module;
      return paint(overview, null).then(() => {
        if (!disposed) plot.on("plotly_relayout", onRelayout);
      });
    }, (e) => el.replaceChildren(textEl("div", "gtw-error-text", `${meta.title}: cannot load the plotting library (${e && e.message})`)));
  };

  // Using the plot must not take the keyboard away from the widget: the notebook never sees
  // the press (it would focus the cell), and focus goes back to the widget root when the
  // gesture ends (plotly ends drags on a cover element outside the card).
  const refocus = () => {
    const root = el.closest(".gtw-root");
    if (root && document.activeElement !== root) root.focus({ preventScroll: true });
  };
  const onDown = (e) => {
    e.stopPropagation();
    document.addEventListener("pointerup", () => setTimeout(refocus, 0), { once: true, capture: true });
  };
  el.addEventListener("pointerdown", onDown);
  el.addEventListener("mousedown", (e) => e.stopPropagation());
  el.addEventListener("dblclick", () => setTimeout(refocus, 0));

  return {
    el,
    ready: Promise.resolve(),
    /** The card is on screen: draw after this frame has painted the rest of the card. */
    shown() {
      if (drawn) return;
      requestAnimationFrame(() => setTimeout(draw, 0));
    },
    /** A `series_window` reply from the kernel: the zoomed range at full detail. */
    receive(msg, replyBuffers) {
      if (disposed || msg.seq !== seq || !zoomed) return;
      paint(columnsOf(msg, replyBuffers), zoomed);
    },
    dispose() {
      disposed = true;
      clearTimeout(timer);
      if (Plotly) Plotly.purge(plot);
    },
  };
}
