"""Errors a user sees. Each message says what is wrong and what to do next."""
from __future__ import annotations


class GtError(Exception):
    """Base class for every error gtwidgets raises on purpose."""


class ManifestError(GtError, ValueError):
    """A manifest (or a line of it) breaks the Ground Truth format.

    ``problems`` holds every ``file:line: what; fix`` message found, the first of
    which also make up the exception text.
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]


class StorageError(GtError, OSError):
    """A local file or an S3 object could not be read or written."""


class NotFoundError(StorageError, FileNotFoundError):
    """The file, object or bucket does not exist."""


class ConflictError(StorageError):
    """A conditional write lost: someone else wrote the object first (HTTP 412)."""


class JobError(GtError, ValueError):
    """A labeling job was configured or driven in a way Ground Truth would refuse."""


class PermanentStorageError(StorageError):
    """The store refuses for good (no such bucket, access denied, a read-only folder): retrying will not help."""


class BucketNotFoundError(NotFoundError, PermanentStorageError):
    """The S3 bucket does not exist."""


class MissingExtraError(GtError, ImportError):
    """An optional feature needs a package that is not installed; the message names the pip extra."""


class AutoLabelError(GtError, ValueError):
    """Automated labeling was configured or driven in a way that cannot work (too few objects, unknown ids)."""
