"""``df.gt``: what a manifest frame holds (label attributes, source key) and how to write it back.

Registered by the package (:mod:`gtwidgets.manifests` imports this module last), so any
frame read with ``read_manifest`` (or built by hand in the same layout) has it.
"""
from __future__ import annotations

import os
import warnings

import pandas as pd

from .. import tasks
from .api import label_attributes, objects, to_manifest, write_manifest

__all__ = ["GroundTruthAccessor"]

_PANDAS_GT = pd.DataFrame.gt  # pandas' own "greater than"; df.gt(other) keeps working


class GroundTruthAccessor:
    """Ground Truth views of a manifest DataFrame.

    ``df.gt`` replaces pandas' ``DataFrame.gt`` attribute, so calling it (``df.gt(0)``)
    still does pandas' element-wise "greater than".
    """

    def __init__(self, df: pd.DataFrame):
        self._df = df

    def __call__(self, other, axis="columns", level=None) -> pd.DataFrame:
        return _PANDAS_GT(self._df, other, axis=axis, level=level)

    @property
    def label_attributes(self) -> dict[str, str | None]:
        """``{attribute: task type}`` in column order (type = most common ``<attr>-metadata.type``)."""
        return label_attributes(self._df)

    @property
    def source_key(self) -> str | None:
        """``"source-ref"`` (files) or ``"source"`` (text), whichever the lines carry."""
        for key in tasks.SOURCE_KEYS:
            if key in self._df.columns:
                return key
        return None

    @property
    def source(self) -> str | None:
        """Where the frame was read from, if it was."""
        return (self._df.attrs.get("gtwidgets") or {}).get("source")

    def labels(self, attribute: str | None = None) -> pd.DataFrame:
        """A tidy frame of a classification attribute: class_name, class_index, confidence,
        human_annotated (bool), creation_date, job_name; one row per manifest row.

        Multi-label attributes give lists in class_name and class_index, and confidence per class.
        """
        attrs = self.label_attributes
        if attribute is None:
            if len(attrs) != 1:
                raise ValueError(f"this frame has label attributes {list(attrs)}; pass labels(attribute=...).")
            attribute = next(iter(attrs))
        if attribute not in attrs:
            raise KeyError(f"{attribute!r} is not a label attribute of this frame; choose one of {list(attrs)}.")
        df, meta = self._df, f"{attribute}{tasks.METADATA_SUFFIX}."
        col = lambda key: df[meta + key] if meta + key in df.columns else pd.Series(pd.NA, index=df.index)  # noqa: E731
        human = col("human-annotated")
        out = pd.DataFrame(index=df.index)
        if attrs[attribute] in tasks.MULTI_LABEL_TYPES:
            cmap, conf = col("class-map"), col("confidence-map")
            idx = df[attribute]
            out["class_name"] = [[m.get(str(i)) for i in ix] if isinstance(ix, list) and isinstance(m, dict) else pd.NA
                                 for ix, m in zip(idx, cmap)]
            out["class_index"] = idx
            out["confidence"] = [[c.get(str(i)) for i in ix] if isinstance(ix, list) and isinstance(c, dict) else pd.NA
                                 for ix, c in zip(idx, conf)]
        else:
            out["class_name"] = col("class-name")
            out["class_index"] = pd.to_numeric(df[attribute], errors="coerce").astype("Int64")
            out["confidence"] = col("confidence")
        out["human_annotated"] = pd.Series(human.map({"yes": True, "no": False}), index=df.index, dtype="boolean")
        out["creation_date"] = col("creation-date")
        out["job_name"] = col("job-name")
        return out

    def objects(self) -> list[dict]:
        """The JSON object of each row, exactly as :meth:`to_manifest` would write it."""
        return objects(self._df)

    def to_manifest(self, path: str | os.PathLike | None = None, **kwargs) -> list[str] | str:
        """The manifest lines (``path=None``), or write them to a file or ``s3://`` URI and return it."""
        if path is None:
            return to_manifest(self._df, **kwargs)
        return write_manifest(self._df, path, **kwargs)


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # "overriding a preexisting attribute": see the class doc
    pd.api.extensions.register_dataframe_accessor("gt")(GroundTruthAccessor)
