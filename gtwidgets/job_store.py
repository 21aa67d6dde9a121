"""A job's output store: Ground Truth's files for one worker, written with conditional writes.

Worker-response files (one per answer, never over another worker's), reviewers' decision files
(``gtwidgets.decisions``), the output manifest (with several workers: never over a newer one,
If-Match), all under the paths of ``gtwidgets.output_layout``. Reading them goes through the
answer index (``gtwidgets.answer_index``) or, without one, the files themselves; a file or an
answer that cannot be read or does not fit the job's task type is set aside in ``problems``
(file -> why) and logged once, and everything else is used as usual.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Callable, Mapping

from . import storage
from .answer_index import AnswerIndex
from .decisions import DecisionStore
from .errors import ConflictError, JobError, NotFoundError, StorageError
from .jobstate import EPOCH, Answer, make_answer
from .output_layout import (ITERATION, output_manifest_uri, parse_answers, parse_worker_response,
                            worker_response_body, worker_response_dir, worker_response_index_dir,
                            worker_response_uri)
from .responses import answer_problem, answer_time, scan_object_files
from .tasktypes import TaskType
from .tasktypes.base import LabelFile

__all__ = ["JobStore"]

_log = logging.getLogger(__name__)


class JobStore:
    """Reads and writes one job's files for one worker.

    ``index``: keep an index beside the answer and decision files, so that a team job's opening
    and refresh do not read every file. ``is_object``: which object ids belong to the job.
    ``on_problems``: called when new files were set aside.
    """

    def __init__(self, job_dir: str, worker_id: str, task: TaskType, *, index: bool = True,
                 is_object: Callable[[str], bool] = lambda oid: True,
                 on_problems: Callable[[], None] = lambda: None):
        self.job_dir = job_dir
        self.worker_id = worker_id
        self.task = task
        self.problems: dict[str, str] = {}  # worker-response file set aside -> why
        self._is_object = is_object
        self._on_problems = on_problems
        self._logged: set[str] = set()
        self._cache: dict[str, list[dict] | None] = {}  # worker-response file -> its answers (no index)
        self._usable: dict[tuple[str, str], tuple[list, list, list]] = {}  # (id, file) -> (entries, answers, why)
        self._since = None  # how far scan_answer_changes has read the index
        self._files_written: dict[str, str] = {}  # file a label pair names -> the key written there
        self._listed: dict[str, set[str]] = {}  # folder -> the files in it when first written to
        self.decisions = DecisionStore(job_dir, ITERATION, writer=worker_id if index else None)
        self.index = AnswerIndex(worker_response_dir(job_dir), worker_response_index_dir(job_dir),
                                 writer=worker_id, parse=parse_worker_response,
                                 problems=self.problems) if index else None

    @property
    def output_manifest_uri(self) -> str:
        return output_manifest_uri(self.job_dir)

    def worker_response_uri(self, object_id: str, key: str) -> str:
        return worker_response_uri(self.job_dir, object_id, key)

    # ------------------------------------------------------------------ answers

    def put_answer(self, a: Answer) -> str:
        """Write an answer's worker-response file (never over another worker's); returns its name."""
        body = worker_response_body(self.task.to_content(a.value), worker_id=a.worker_id, accepted=a.accepted,
                                    submitted=a.submitted, time_spent=a.time_spent)
        uri = self.worker_response_uri(a.object_id, a.key)
        try:
            storage.write_bytes(uri, body, if_none_match=True, content_type="application/json")
        except ConflictError:
            # Already there: our own earlier upload (a retry after a crash) or a same-second
            # answer we replace. Another worker's file is never overwritten.
            existing = parse_answers(storage.read_bytes(uri))
            if existing and all(e.get("workerId") != self.worker_id for e in existing):
                raise JobError(f"{uri}: belongs to another worker; two workers share one worker id?") from None
            if storage.read_bytes(uri) != body:
                storage.write_bytes(uri, body, content_type="application/json")
        if self.index is not None:
            self.index.wrote(a.object_id, a.key, body)
        return a.key

    def delete_answer(self, object_id: str, key: str) -> None:
        storage.delete(self.worker_response_uri(object_id, key))
        if self.index is not None:
            self.index.deleted(object_id, key)

    def scan_answers(self) -> dict[str, list[Answer]]:
        """object id -> every usable answer in the store's worker-response files (all workers)."""
        if self.index is not None:
            files = self.index.scan()  # Ground Truth's files, through the index (unreadable ones in problems)
        else:
            files = scan_object_files(worker_response_dir(self.job_dir), cache=self._cache,
                                      parse=parse_worker_response, problems=self.problems)
        return self._answers_in(files, files.keys())

    def scan_answer_changes(self) -> tuple[dict[str, list[Answer]], set[str] | None]:
        """:meth:`scan_answers` for the objects whose files changed since the last call, and their
        ids (None: all), so that a big team job's refresh costs what changed."""
        if self.index is None:
            return self.scan_answers(), None
        files, changed, self._since = self.index.scan_changes(self._since)
        return self._answers_in(files, files.keys() if changed is None else changed), changed

    def _answers_in(self, files: dict, ids) -> dict[str, list[Answer]]:
        found: dict[str, list[Answer]] = {}
        for oid in ids:
            by_key = files.get(oid)
            if not by_key or not self._is_object(oid):
                continue
            for key, entries in by_key.items():
                if isinstance(entries, dict):
                    self.problems[self.worker_response_uri(oid, key)] = entries["unreadable"]
                    continue
                answers, problems = self._usable_answers(oid, key, entries)
                if problems:
                    self.problems[self.worker_response_uri(oid, key)] = "; ".join(problems)
                found.setdefault(oid, []).extend(answers)
        self._report_problems()
        return {oid: answers for oid, answers in found.items() if answers}

    def commit(self) -> None:
        """Index what was written and deleted since the last commit."""
        if self.index is not None:
            self.index.commit()

    def with_problems(self, status: dict) -> dict:
        """A ``sync_status`` that names the files set aside (the widget shows a state it does not know)."""
        if self.problems:
            uri, why = list(self.problems.items())[0]
            more = f" and {len(self.problems) - 1} more" if len(self.problems) > 1 else ""
            status["problems"] = len(self.problems)
            if status["state"] == "saved":
                status["state"] = "problems"
                status["message"] = f"saved; skipped {uri}: {why}{more} (see job.problems)"
        return status

    # ------------------------------------------------------------------ the output manifest

    def put_files(self, files: Mapping[str, LabelFile]) -> None:
        """Write the files label pairs name (mask PNGs), each once: a file whose key was written to its
        URI already, or (a name that says what it holds) found there when this store first looked,
        is neither made nor written again; one made from other answers is."""
        for uri, f in files.items():
            if self._files_written.get(uri) == f.key:
                continue
            if f.unique_name and uri in self._present(uri):
                self._files_written[uri] = f.key
                continue
            storage.write_bytes(uri, f.data, content_type="image/png" if uri.endswith(".png") else None)
            self._files_written[uri] = f.key

    def _present(self, uri: str) -> set[str]:
        """The files in ``uri``'s folder when this store first wrote there (one listing a session)."""
        folder = uri.rsplit("/", 1)[0] + "/"
        found = self._listed.get(folder)
        if found is None:
            try:
                found = set(storage.list_files(folder))
            except NotFoundError:
                found = set()
            self._listed[folder] = found
        return found

    def write_output_manifest(self, body: Callable[[], bytes], *, shared: bool,
                              refresh: Callable[[], None] = lambda: None) -> None:
        """Write the output manifest; ``shared`` (several workers): never over a newer one (If-Match),
        calling ``refresh`` before each ``body`` so that it holds what the others wrote."""
        uri = self.output_manifest_uri
        if not shared:
            storage.write_bytes(uri, body())
            return
        for _ in range(20):
            try:
                etag = storage.head(uri).etag
            except NotFoundError:
                etag = None
            refresh()
            data = body()
            try:
                if etag is None:
                    storage.write_bytes(uri, data, if_none_match=True)
                else:
                    storage.write_bytes(uri, data, if_match=etag)
                return
            except ConflictError:
                time.sleep(random.uniform(0.05, 0.3))  # another worker wrote first: read again
        raise StorageError(f"{uri}: kept losing the race to other writers; it will be retried.")

    # ------------------------------------------------------------------ internals

    def _usable_answers(self, oid: str, key: str, entries: list) -> tuple[list[Answer], list[str]]:
        """A worker-response file's answers that fit this job, and why the others do not (remembered)."""
        memo = self._usable.get((oid, key))
        if memo is not None and memo[0] is entries:
            return memo[1], memo[2]
        good, problems = [], []
        for n, entry in enumerate(entries, 1):
            why = answer_problem(entry)
            if why is None:
                try:
                    good.append(self._answer(oid, key, entry))
                    continue
                except ValueError as e:
                    why = str(e)
            problems.append(f"answer {n} {why}; fix or remove that answer")
        self._usable[(oid, key)] = (entries, good, problems)
        return good, problems

    def _answer(self, oid: str, key: str, entry: dict) -> Answer:
        value = self.task.from_content(entry["answerContent"])
        submitted = answer_time(entry.get("submissionTime")) or EPOCH
        accepted = answer_time(entry.get("acceptanceTime")) or submitted
        return make_answer(self.task, oid, entry["workerId"], value, accepted, submitted,
                           float(entry.get("timeSpentInSeconds") or 0.0), key)

    def _report_problems(self) -> None:
        """Log each set-aside file once and tell the views; labeling goes on without it."""
        new = [uri for uri in list(self.problems) if uri not in self._logged]
        for uri in new:
            self._logged.add(uri)
            _log.warning("%s: skipped: %s (a fixed file is read when the job is opened again)", uri, self.problems[uri])
        if new:
            self._on_problems()
