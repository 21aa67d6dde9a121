"""Where the real Ground Truth files live: ``../shared`` beside the project (never copied in)."""
from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures" / "ground-truth"
MANIFEST_FIXTURES = sorted((FIXTURES / "manifests").glob("*.manifest"))
LAMBDA_EVENTS = FIXTURES / "lambda-events"
