"""scikit-learn is an optional extra: import it only when automated labeling is used."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from ..errors import MissingExtraError

_blas = threading.Lock()
_blas_users = 0
_blas_limits = None


def require_sklearn() -> None:
    """Raise a readable error when scikit-learn is not installed."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise MissingExtraError(
            "automated labeling needs scikit-learn, which is not installed; "
            "run `pip install gtwidgets[auto]` (or `pip install scikit-learn`).") from None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run numpy's and scikit-learn's matrix products on one thread while inside.

    Our products are small (a few thousand rows of 128 columns, or one image's patches): a
    multi-threaded BLAS spends longer waking its threads than working, by 10-30 times on a busy
    2-core machine (bench/auto_label.py), and training in the background should leave a core to
    the person labeling. The limit is process-wide (that is how BLAS works), so it is counted:
    set by the first user, restored when the last one leaves, whatever the threads' order.
    """
    global _blas_users, _blas_limits
    try:
        from threadpoolctl import threadpool_limits   # comes with scikit-learn
    except ImportError:
        yield
        return
    with _blas:
        if _blas_users == 0:
            _blas_limits = threadpool_limits(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limits is not None:
                _blas_limits.restore_original_limits()
                _blas_limits = None
