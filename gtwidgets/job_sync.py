"""What the uploader drives: a job's state made true in its output store.

``StoreSync`` is the uploader's side of a job (``gtwidgets.sync.SyncTarget``): the work still
to do (answers and decisions whose store copy is out of date), doing one piece, journaling
what was done, and after each batch the output manifest, a custom task's consolidation and,
on flush, settling this worker's answers given in another notebook with its own journal.
It also reads what the store holds of other workers and reviewers (``adopt``, ``refresh``).
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Any, Callable

from .decisions import DecisionWork
from .errors import NotFoundError, StorageError
from .job_store import JobStore
from .jobstate import JobState
from .journal import Journal

__all__ = ["StoreSync", "flush_at_exit", "forget_at_exit"]

_log = logging.getLogger(__name__)


class StoreSync:
    """The uploader's protocol object for one job.

    ``catch_up``: take what other notebooks on the journal wrote (returns whether anything
    changed); ``manifest_body``: the output manifest's bytes; ``refresh``: read the other
    workers' answers and decisions (before a shared manifest is written); ``run_lambda``:
    a custom task's consolidation (None for the others); ``shared``: several workers an object.
    """

    def __init__(self, state: JobState, store: JobStore, journal: Journal, lock: threading.RLock, *,
                 worker_id: str, catch_up: Callable[[], bool], manifest_body: Callable[[], bytes],
                 refresh: Callable[[], None], run_lambda: Callable[[], object] | None = None,
                 shared: bool = False, manifest_interval: float = 2.0):
        self.state, self.store, self.journal, self._lock = state, store, journal, lock
        self.worker_id = worker_id
        self._catch_up, self._body, self._refresh, self._run_lambda = catch_up, manifest_body, refresh, run_lambda
        self.shared = shared
        self.manifest_interval = manifest_interval
        self.manifest_dirty = False
        self.settle_wanted = False
        self._written_at = 0.0

    # ------------------------------------------------------------------ the uploader's side

    def status(self, uploader, job_dir: str) -> dict:
        """``LabelingJob.sync_status()``: the uploader's state (uploading while work is pending) and the store's problems."""
        pending = len(self.pending_work())
        state = uploader.state
        if state == "saved" and pending:
            state = "uploading"
        message = uploader.message if state != "saved" else f"all answers saved to {job_dir}"
        return self.store.with_problems({"state": state, "pending": pending, "message": message})

    def pending_work(self) -> list:
        with self._lock:
            return [*self.state.pending_answers(), *self.state.pending_decisions()]

    def do_work(self, item):
        if isinstance(item, DecisionWork):
            decisions = self.store.decisions
            key = decisions.write(item.object_id, item.decision) if item.decision else None
            if item.old_key and item.old_key != key:
                try:
                    decisions.delete(item.object_id, item.old_key)
                except NotFoundError:
                    pass
            return item, key
        oid, answer, old_key = item
        new_key = self.store.put_answer(answer) if answer is not None else None
        with self._lock:  # only files a sound journal record retired, or older than the one just put
            drop = {old_key} & self.state.retired.get(oid, set()) if old_key else set()
            if new_key is not None:
                drop |= self.state.stale.get(oid, set())
        for key in drop - {new_key}:
            self.store.delete_answer(oid, key)
        if new_key is not None:
            with self._lock:
                self.state.stale.pop(oid, None)
        return oid, (new_key, answer.token) if answer is not None else None

    def work_done(self, results: list) -> None:
        if not results:
            return
        # The index first: an answer journaled as synced is one other workers can find.
        self.store.commit()
        self.store.decisions.commit()
        records = [{"op": "decision-synced", "id": item.object_id, "key": have} if isinstance(item, DecisionWork)
                   else {"op": "synced", "id": item, "have": have} for item, have in results]
        self.journal.append(*records)
        with self._lock:
            for rec in records:
                self.state.take(rec, own=True)
            self.manifest_dirty = True

    def after_batch(self, *, final: bool) -> None:
        if final and self._run_lambda is not None:
            self._run_lambda()
        if final and self.settle_wanted:
            self.settle()
        if self._catch_up():
            self.manifest_dirty = True
        now = time.monotonic()
        if not self.manifest_dirty:
            return
        if not final and now - self._written_at < self.manifest_interval:
            return
        with self._lock:
            self.manifest_dirty = False
        try:
            self._write_manifest()
            for _ in range(10):  # another notebook on this journal answered meanwhile: include it
                if not self._catch_up():
                    break
                self._write_manifest()
        except BaseException:
            with self._lock:
                self.manifest_dirty = True
            raise
        self._written_at = now

    # ------------------------------------------------------------------ what the store holds

    def adopt(self) -> None:
        """Learn what the output store already holds (another machine, a lost journal, other workers)."""
        try:
            found = self.store.scan_answers()
        except StorageError:
            return  # offline at start: the uploader will report it; labeling goes on
        self._settle_own(found)
        try:
            self.store.commit()  # the stale files' deletions
        except StorageError:
            pass
        try:
            decisions = self.store.decisions.scan()
        except StorageError:
            decisions = {}
        with self._lock:
            self.state.decisions_lost(decisions)
            self.state.set_store_decisions(decisions)
        if self.shared:
            self.refresh_answers()

    def settle(self) -> None:
        """Settle this worker's files against another notebook's with its own journal (on flush)."""
        self.settle_wanted = False
        try:
            found = self.store.scan_answers()
        except StorageError:
            self.settle_wanted = True
            raise
        if self._settle_own(found):
            with self._lock:
                self.manifest_dirty = True

    def refresh_answers(self) -> None:
        """Other workers' answers (new files only, through the index)."""
        found, changed = self.store.scan_answer_changes()
        with self._lock:
            self.state.set_others(found, self.worker_id, changed)

    def refresh_decisions(self) -> None:
        found = self.store.decisions.scan()
        with self._lock:
            self.state.set_store_decisions(found)

    # ------------------------------------------------------------------ internals

    def _settle_own(self, found: dict) -> bool:
        mine = {oid: [a for a in answers if a.worker_id == self.worker_id] for oid, answers in found.items()}
        with self._lock:
            changed, drop = self.state.settle_own({oid: v for oid, v in mine.items() if v})
        for oid, key in drop:
            try:
                self.store.delete_answer(oid, key)
            except StorageError:
                continue  # still there next time
        return changed

    def _write_manifest(self) -> None:
        self.store.write_output_manifest(self._body, shared=self.shared, refresh=self._refresh)


_open_jobs: "weakref.WeakSet[Any]" = weakref.WeakSet()


def flush_at_exit(job: Any) -> None:
    """Flush ``job``'s uploader when the interpreter exits, unless it was closed (held weakly)."""
    _open_jobs.add(job)


def forget_at_exit(job: Any) -> None:
    """A closed job: nothing to flush at exit."""
    _open_jobs.discard(job)


@atexit.register
def _flush_open_jobs() -> None:
    for job in list(_open_jobs):
        try:
            job._uploader.flush(timeout=10)
        except Exception:
            _log.exception("%s: flushing at exit failed; its answers stay in the journal", job.name)
