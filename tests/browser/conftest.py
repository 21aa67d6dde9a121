"""Real JupyterLab in headless Chromium (testing.md §3): one server a session, a page a test."""
from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.request
from pathlib import Path

import pytest

from notebook_files import write_notebook  # noqa: E402  (this folder is on sys.path)
from servers import free_port, running_server  # noqa: E402
from bundle_page import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (tests/ is on sys.path)
NB_CELLS = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
KERNEL_READY_JS = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with its own config, data and settings folders."""
    root, home = tmp_path_factory.mktemp("nbroot"), tmp_path_factory.mktemp("jhome")
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython")}
    settings = home / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    with running_server([sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}", f"--LabApp.user_settings_dir={home / 'user-settings'}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True"],
                        env=env, cwd=root, log=home / "jupyter.log", ready=f"/api/status?token={token}",
                        port=port, name="JupyterLab") as (url, proc):
        yield {"url": url, "token": token, "root": root, "proc": proc}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 1000}}


def _api(lab: dict, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{lab['url']}{path}?token={lab['token']}", method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


class Lab:
    """A page on the JupyterLab server, with the few moves a notebook test needs."""

    def __init__(self, server: dict, page):
        self.server, self.page, self.root = server, page, server["root"]

    def open_notebook(self, name: str, cells: list) -> None:
        """Write ``cells`` (sources or nbformat cells) as notebook ``name`` and open it."""
        write_notebook(Path(self.root) / name, cells)
        self.open(name)

    def open(self, name: str) -> None:
        self.page.goto(f"{self.server['url']}/lab/tree/{name}?reset&token={self.server['token']}")
        self.page.wait_for_function(KERNEL_READY_JS, timeout=60_000)

    def cell(self, i: int):
        return self.page.locator(NB_CELLS).nth(i)

    def run_cell(self, i: int):
        cell = self.cell(i)
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        return cell

    def save(self) -> None:
        self.page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")


@pytest.fixture
def lab(jupyter_lab, page):
    """A page on the JupyterLab server; every kernel the test started is shut down afterwards."""
    yield Lab(jupyter_lab, page)
    for session in _api(jupyter_lab, "/api/sessions"):
        _api(jupyter_lab, f"/api/sessions/{session['id']}", method="DELETE")
