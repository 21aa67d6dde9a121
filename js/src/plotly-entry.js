// plotly.js as its own ES module (gtwidgets/static/plotly.js). The widget's bundle stays small:
// the kernel sends this file the first time a card has a plot (see panels/plotly.js).
import Plotly from "plotly.js-basic-dist-min";

export default Plotly;
