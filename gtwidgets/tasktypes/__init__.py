"""Task types on one seam (see ``base``): each module registers the types it defines."""
from __future__ import annotations

from . import classification, custom  # noqa: F401  (register the task types)
from .base import TASK_TYPES, TaskConfig, TaskType, WorkerAnswer, register, task_type_for
from . import boxes  # noqa: F401  registers bounding-box, -adjustment, -verification
from . import segmentation  # noqa: F401  registers semantic-segmentation, -adjustment, -verification

__all__ = ["TASK_TYPES", "TaskConfig", "TaskType", "WorkerAnswer", "register", "task_type_for"]
