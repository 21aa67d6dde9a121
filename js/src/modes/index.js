// The view's modes, by the widget's `mode` trait (gtwidgets/modes.py has the kernel's half).
import { labelMode } from "./label.js";
import { reviewMode } from "./review.js";

export const MODES = { label: labelMode, review: reviewMode };

/** The hooks of `view`'s mode; an unknown mode labels. */
export function modeFor(view) {
  return (MODES[view.model.get("mode")] || labelMode)(view);
}
