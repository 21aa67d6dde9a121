"""Ground Truth manifests (JSON Lines) <-> pandas, in one-way layers.

``rules`` (what a line must be) <- the engines (``_arrow_scan``, ``_arrow_read``,
``_line_by_line``, ``_column_write``) <- ``api`` (the public verbs) <- ``accessor``
(``df.gt``, registered here). Nothing imports back up; ``tests/test_layers.py`` holds it.
"""
from __future__ import annotations

from .api import (ERROR_COLUMN, RAW_COLUMN, MISSING, Parsed, frame_from_bytes, frame_from_objects,
                  label_attributes, object_from_row, objects, parse_lines, read_manifest, to_manifest,
                  validate_manifest, write_manifest)
from .rules import Problem
from . import accessor as _accessor  # noqa: F401  registers DataFrame.gt, last: it uses the API

__all__ = ["read_manifest", "write_manifest", "to_manifest", "validate_manifest", "frame_from_bytes",
           "frame_from_objects", "object_from_row", "objects", "parse_lines", "label_attributes",
           "Problem", "Parsed", "MISSING", "ERROR_COLUMN", "RAW_COLUMN"]
