"""Task types on one seam (see ``base``): each module registers the types it defines."""
from __future__ import annotations

from .base import TASK_TYPES, TaskConfig, TaskType, WorkerAnswer, register, task_type_for
from . import segmentation  # noqa: E402,F401  (registers its task types)

__all__ = ["TASK_TYPES", "TaskConfig", "TaskType", "WorkerAnswer", "register", "task_type_for"]
