// The view's link to its kernel and its place in the page: what a view needs to know beyond
// its own model traits. Kept apart from the labeling view so review mode and other tools share it.

/** Call `onGone` when the kernel behind `model` is gone (restarted or shut down).
 *
 * JupyterLab and Notebook 7 (@jupyter-widgets/jupyterlab-manager) mark every model of a kernel
 * not live when that kernel restarts (WidgetManager.disconnect sets model.comm_live = false,
 * which fires "comm_live_update"); the old models never come back to life, a new kernel has
 * none of them. anywidget passes model.on through to the widget model, so the event reaches us.
 * Front ends without that event (marimo re-runs the cell itself) simply never call `onGone`.
 * Returns a function that stops watching. */
export function watchKernel(model, onGone) {
  const gone = () => onGone();
  model.on("comm_live_update", gone);
  return () => model.off("comm_live_update", gone);
}

/** Focus `root` once, on the first display of a widget just made by running its cell, if it is
 * in view then. Not on a reload or a re-opened notebook: the kernel's `autofocus` trait is set
 * false after the first view, so later views of the same widget leave the focus where it is.
 * Returns a function that stops waiting. */
export function focusOnFirstShow(model, root) {
  if (!model.get("autofocus")) return () => {};
  let observer = null;
  let frame = 0;
  let frames = 0;
  const settle = (inView) => {
    stop();
    model.set("autofocus", false);
    model.save_changes();
    const active = document.activeElement;
    const typing = active && active !== document.body && !active.closest(".jp-Cell, .cell, .jp-Notebook")
      && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName));
    if (inView && !typing) root.focus({ preventScroll: true });
  };
  const stop = () => {
    cancelAnimationFrame(frame);
    if (observer) observer.disconnect();
  };
  // The front end attaches the view after render() returns: wait for that, a frame at a time.
  const attach = () => {
    if (!root.isConnected) {
      if (++frames < 120) frame = requestAnimationFrame(attach);
      else settle(false);
      return;
    }
    // IntersectionObserver sees the clipping by the notebook's scrolling panel, not only the window.
    observer = new IntersectionObserver((entries) => settle(entries.some((e) => e.isIntersecting)));
    observer.observe(root);
  };
  attach();
  return stop;
}
