"""The widget's bundle in bare headless Chromium: one way to serve it, shared by the fast-tier tests."""
from __future__ import annotations

import json
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
STATIC = Path(__file__).resolve().parents[1] / "gtwidgets" / "static"
ORIGIN = "http://gtwidgets.test"


def open_harness(page, harness: str, cfg: dict):
    """Serve ``harness`` (which reads its config from ``#cfg``) with the real bundle; focus the widget."""
    # "</" cannot end the script element early: JSON escapes "/" as needed here.
    html = harness.replace('<div id="host"', '<script type="application/json" id="cfg">'
                           + json.dumps(cfg).replace("</", "<\\/") + '</script><div id="host"', 1)
    page.route(f"{ORIGIN}/**", lambda route: route.fulfill(**_serve(route.request.url, html)))
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.ready === true")
    page.locator(".gtw-root").focus()
    return page


def _serve(url: str, html: str) -> dict:
    name = url.rsplit("/", 1)[-1]
    if name in ("widget.js", "widget.css"):
        return {"body": (STATIC / name).read_bytes(),
                "content_type": "text/javascript" if name.endswith(".js") else "text/css"}
    return {"body": html, "content_type": "text/html"}
