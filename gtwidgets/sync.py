"""Background upload of a job's files: batched, retried with backoff, never on the UI path.

The uploader makes the output store match what the job wants there. It asks the job
for the work (``pending_work``), does it, and reports back (``work_done``); when the
store is unreachable it waits (1 s, 2 s, ... up to ``max_delay``) and tries again,
while labeling goes on against the local journal. When the store refuses for good (no
such bucket, access denied, a read-only folder) the state is ``"error"`` with the reason,
and ``flush`` returns False at once instead of waiting for a retry that cannot succeed.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Protocol

from .errors import PermanentStorageError, StorageError

_log = logging.getLogger(__name__)


class SyncTarget(Protocol):
    def pending_work(self) -> list: ...
    def do_work(self, item) -> object: ...
    def work_done(self, results: list) -> None: ...
    def after_batch(self, *, final: bool) -> None: ...


class Uploader:
    def __init__(self, target: SyncTarget, *, on_state: Callable[[], None] = lambda: None,
                 max_delay: float = 30.0, batch_size: int = 64, threads: int = 8):
        self.target = target
        self.on_state = on_state
        self.max_delay = max_delay
        self.batch_size = batch_size
        self.threads = threads
        self.state = "saved"
        self.message = ""
        self.failures = 0
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = False
        self._rounds = 0  # passes of the loop finished, so flush knows an attempt was made
        # Pokes counted: a pass covers the pokes made before it began. flush waits for a pass that
        # covers its own, not one already under way (which may be writing an older manifest).
        self._pokes = 0
        self._covered = 0
        self._poke_lock = threading.Lock()
        self._pool = None
        self._thread = threading.Thread(target=self._run, name="gtwidgets-uploader", daemon=True)
        self._thread.start()

    def poke(self) -> int:
        """New work is there: start on it now (cheap; call it after every answer). Returns the poke's number."""
        with self._poke_lock:
            self._pokes += 1
            number = self._pokes
        self._idle.clear()
        self._wake.set()
        return number

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything pending is written; False if it is not done by ``timeout``."""
        start = self._rounds
        number = self.poke()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = 0.5 if deadline is None else min(0.5, max(0.0, deadline - time.monotonic()))
            if self._idle.wait(remaining) and self._covered >= number and not self.target.pending_work():
                return True
            if self.state == "error" and self._rounds > start:
                return False  # tried again since the call: the store still refuses
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._wake.set()

    def stop(self, timeout: float = 10.0) -> bool:
        done = self.flush(timeout)
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=2)
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        return done

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="gtwidgets-put")
        delay = 0.0
        while not self._stop:
            self._wake.wait(timeout=delay if delay else None)
            self._wake.clear()
            if self._stop:
                break
            with self._poke_lock:
                pokes = self._pokes
            try:
                while True:
                    work = self.target.pending_work()[: self.batch_size]
                    if not work:
                        self.target.after_batch(final=True)
                        break
                    self._set("uploading", f"uploading {len(self.target.pending_work())}")
                    results = list(self._pool.map(self._attempt, work))
                    done = [r for r in results if not isinstance(r, BaseException)]
                    errors = [r for r in results if isinstance(r, BaseException)]
                    self.target.work_done(done)
                    if errors:
                        raise errors[0]
                    self.target.after_batch(final=False)
            except PermanentStorageError as e:
                self.failures += 1
                delay = self.max_delay  # until someone fixes it; flush() tries at once
                pending = len(self.target.pending_work())
                self._set("error", f"cannot save: {e} ({pending} answer(s) kept in the local journal; "
                          "labeling may go on, flush() tries again)")
                self._rounds += 1
                continue
            except StorageError as e:
                self.failures += 1
                delay = min(self.max_delay, 0.5 * 2 ** min(self.failures, 10))
                pending = len(self.target.pending_work())
                self._set("offline", f"offline: {pending} answer(s) kept locally, retrying in {delay:.0f} s ({e})")
                self._rounds += 1
                continue
            except Exception as e:  # a bug must not kill the loop silently
                self.failures += 1
                delay = min(self.max_delay, 0.5 * 2 ** min(self.failures, 10))
                self._set("offline", f"upload failed: {type(e).__name__}: {e}")
                self._rounds += 1
                continue
            self.failures = 0
            delay = 0.0
            self._set("saved", "all answers saved")
            self._rounds += 1
            self._covered = pokes
            with self._poke_lock:
                newer = self._pokes > pokes
            if not newer and not self.target.pending_work():
                self._idle.set()

    def _attempt(self, item):
        try:
            return self.target.do_work(item)
        except BaseException as e:  # returned, so one failure does not hide the others' success
            return e

    def _set(self, state: str, message: str) -> None:
        changed = (state, message) != (self.state, self.message)
        self.state, self.message = state, message
        if changed:
            try:
                self.on_state()
            except Exception:  # a view's bug must not stop the uploads
                _log.exception("the uploader's state listener failed (state %r)", state)
