// One module per panel kind; a new kind (e.g. sensor series) is one more entry here.
import * as image from "./image.js";
import * as text from "./text.js";
import * as error from "./error.js";
import * as panelCard from "./panel-card.js";

export const panels = { image, text, error, panels: panelCard };

export function createPanel(card, buffer, options = {}) {
  const panel = panels[card.kind] || error;
  return panel.create(card.kind in panels ? card : { ...card, error: `unknown card kind ${card.kind}` }, buffer, options);
}
