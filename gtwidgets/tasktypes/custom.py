"""A custom task: workers classify with the built-in crowd elements, a consolidation Lambda labels.

``LabelingJob(..., consolidation=handler)`` makes one. The handler (``handler(event)`` or
AWS-style ``handler(event, context)``) gets Ground Truth's consolidation event and payload and
returns each object's label content; the label pair carries ``groundtruth/custom`` metadata.
Running the handler against the output store (request and response files) is the job's side:
``gtwidgets.lambda_runs``.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import pandas as pd

from .. import tasks
from .base import TaskConfig, register
from .classification import _Classification

__all__ = ["CustomTask"]


@register
class CustomTask(_Classification):
    """Answers as classification's; labels from ``config.options["consolidation"]`` (a Lambda handler)."""

    name = "custom"

    def __init__(self, config: TaskConfig):
        super().__init__(config)
        self.text = config.source_key == "source"

    @property
    def gt_type(self) -> str:
        return tasks.CUSTOM

    @property
    def handler(self) -> Callable[..., Any]:
        return self.config.options["consolidation"]

    def lambda_pair(self, label: Any, *, creation_date: str) -> dict:
        """The pair of a label the consolidation Lambda returned."""
        attr = self.config.label_attribute
        return {attr: label,
                attr + tasks.METADATA_SUFFIX: tasks.custom_metadata(self.config.job_name, creation_date=creation_date)}

    def consolidate_table(self, answers: pd.DataFrame, *,
                          data_objects: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
        return self._consolidate(answers, method=self.handler, data_objects=data_objects)
