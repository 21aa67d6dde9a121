"""scikit-learn is an optional extra: import it only when automated labeling is used."""
from __future__ import annotations

from ..errors import MissingExtraError


def require_sklearn() -> None:
    """Raise a readable error when scikit-learn is not installed."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise MissingExtraError(
            "automated labeling needs scikit-learn, which is not installed; "
            "run `pip install gtwidgets[auto]` (or `pip install scikit-learn`).") from None
