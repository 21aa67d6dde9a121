// plotly.js, loaded on first use (../assets.js): image and text jobs never need it, so it is not
// in the widget's bundle. One load a page, shared by every widget in it.
import { loadAsset } from "../assets.js";

/** The Plotly module; `request(msg)` sends a message to the kernel when it must be fetched. */
export function loadPlotly(request) {
  return loadAsset("plotly", request).then((mod) => mod.default);
}
