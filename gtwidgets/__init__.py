"""gtwidgets: label data inside a notebook, in SageMaker Ground Truth's own formats.

Public names are imported lazily, so ``import gtwidgets`` stays cheap and the
core never drags in the widget (or the widget in the core).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    # manifests
    "read_manifest": "manifests",
    "write_manifest": "manifests",
    "to_manifest": "manifests",
    "validate_manifest": "manifests",
    "manifest_from_prefix": "inputs",
    # labels and jobs
    "classification_label": "tasks",
    "multilabel_label": "tasks",
    "LabelingJob": "job",
    "AutoLabel": "job_autolabel_setup",
    # consolidation and several workers
    "consolidate": "consolidate",
    "read_worker_responses": "responses",
    # mixed-source cards
    "read_series": "series",
    "welding_job": "welding",
    # widgets
    "LabelingWidget": "widget",
    "ReviewWidget": "review",
    "AuditMode": "modes",
    # errors
    "GtError": "errors",
    "ManifestError": "errors",
    "StorageError": "errors",
    "NotFoundError": "errors",
    "ConflictError": "errors",
    "JobError": "errors",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'gtwidgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
