"""Where the test files live: the project's own fixtures, and the real Ground Truth files beside it.

The real files sit in ``../shared`` next to the checkout (never copied in); a fresh clone does not
have them, so tests that read them parametrize over both sets or skip with :data:`SHARED_REASON`.
``GTWIDGETS_SHARED_DIR`` points elsewhere (or at a missing folder, to test a fresh clone).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("GTWIDGETS_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared")
FIXTURES = SHARED / "fixtures" / "ground-truth"
MANIFEST_FIXTURES = sorted((FIXTURES / "manifests").glob("*.manifest"))
LAMBDA_EVENTS = FIXTURES / "lambda-events"
HAVE_SHARED = bool(MANIFEST_FIXTURES) and LAMBDA_EVENTS.is_dir()
SHARED_REASON = (f"the real Ground Truth files are not in {FIXTURES} (a fresh clone has no ../shared); "
                 "set GTWIDGETS_SHARED_DIR to the folder holding fixtures/ground-truth to run these")
needs_shared = pytest.mark.skipif(not HAVE_SHARED, reason=SHARED_REASON)

OWN = Path(__file__).resolve().parent / "fixtures"
OWN_MANIFESTS = sorted((OWN / "manifests").glob("*.manifest"))
OWN_LAMBDA_EVENTS = OWN / "lambda-events"


def manifest_params(*, own: bool = True, shared: bool = True) -> list:
    """Manifest paths as pytest params (ids ``own/...``, ``shared/...``); a skipped one stands in
    for the shared files when they are absent, so the skip and its reason show in the report."""
    params = [pytest.param(p, id="own/" + p.stem) for p in OWN_MANIFESTS] if own else []
    if shared:
        if HAVE_SHARED:
            params += [pytest.param(p, id="shared/" + p.stem) for p in MANIFEST_FIXTURES]
        else:
            params.append(pytest.param(None, id="shared", marks=pytest.mark.skip(reason=SHARED_REASON)))
    return params


def lambda_event_params() -> list:
    """The folders of Lambda events: ours always, the shared AWS samples when present."""
    shared = pytest.param(LAMBDA_EVENTS, id="shared") if HAVE_SHARED else \
        pytest.param(None, id="shared", marks=pytest.mark.skip(reason=SHARED_REASON))
    return [pytest.param(OWN_LAMBDA_EVENTS, id="own"), shared]


def task_kind(path: Path) -> str:
    """The task-type part of a fixture's name: ``<task-type>__<source>__<input|output>``."""
    return path.name.split("__")[0]
