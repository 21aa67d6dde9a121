"""Worker-response and consolidation request/response files, in Ground Truth's own layout.

Reading them into a tidy answers table (one row per worker answer) is what lets a user
re-consolidate a real Ground Truth job, and writing them lets Ground Truth tools read ours::

    <job>/annotations/worker-response/iteration-<N>/<datasetObjectId>/<YYYY-MM-DD_HH:MM:SS>.json
    <job>/annotations/consolidated-annotation/consolidation-request/iteration-<N>/<timestamp>.json
    <job>/annotations/consolidated-annotation/consolidation-response/iteration-<N>/<timestamp>.json
"""
from __future__ import annotations

import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import orjson
import pandas as pd

from . import storage
from .errors import ManifestError
from .output_layout import (  # noqa: F401  (REQUEST_DIR, RESPONSE_DIR: this module's names too)
    JOB_RE as _JOB_RE, REQUEST_DIR, REQUEST_RE as _REQUEST_RE, RESPONSE_DIR,
                            RESPONSE_RE as _RESPONSE_RE, STAMP_RE as _STAMP_RE, WORKER_RESPONSE_DIR,
                            consolidation_batch_name, consolidation_request_uri, consolidation_response_uri,
                            response_key, worker_response_dir)
from .tasks import answer_content, answer_from_content, classification_problem

__all__ = [
    "COLUMNS", "read_worker_responses", "read_consolidation_batches", "find_job_dirs",
    "answer_from_content", "answer_content", "worker_response_document", "worker_response_path",
    "write_worker_responses", "consolidation_request_path", "consolidation_response_path",
    "write_consolidation_request", "write_consolidation_response", "consolidation_batch_name",
    "scan_object_files", "answer_problem", "answer_time",
]

#: Columns of the tidy answers table, in order.
COLUMNS = ["object_id", "worker_id", "answer", "submission_time", "acceptance_time", "time_spent",
           "iteration", "batch", "answer_content", "file", "response_time"]

_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_READ_THREADS = 16


# ---------------------------------------------------------------------------- reading

def read_worker_responses(location: str, *, job: str | None = None, errors: str = "raise") -> pd.DataFrame:
    """Every worker answer under a job folder (or an S3 output path holding one job) as a tidy table.

    ``location`` is the job folder ``<output>/<job-name>`` or the output path above it (then
    ``job`` picks the job when there are several). Columns are :data:`COLUMNS`; ``answer`` is the
    class name (``label``) or a tuple of names (``labels``) from whichever single crowd element
    answered, or None for other kinds of answers (kept whole in ``answer_content``). ``batch`` is
    the consolidation-request file that held the object, when the job has such files.

    A file that is not JSON or not shaped like a worker response, or an answer with an empty
    worker id, is a problem naming the file; the other files are still read. ``errors="raise"``
    raises one :class:`ManifestError` listing every problem; ``errors="skip"`` warns, leaves the
    bad answers out and puts the messages in ``df.attrs["problems"]``.
    """
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors={errors!r}; use 'raise' or 'skip'.")
    job_dir = _job_dir(location, job)
    files = storage.list_files(job_dir, suffixes=(".json",))
    response_files, request_files = [], []
    for f in files:
        rel = _relative(f, job_dir)
        if (m := _RESPONSE_RE.search(rel)) and not rel[:m.start()].strip("/"):
            response_files.append((f, m))
        elif (m := _REQUEST_RE.search(rel)) and not rel[:m.start()].strip("/"):
            request_files.append(f)
    if not response_files:
        raise ManifestError(f"{job_dir}: no worker-response files under {WORKER_RESPONSE_DIR}/; "
                            "name the job folder <output>/<job-name> or pass job=...")

    blobs = _read_all([f for f, _ in response_files])
    rows: list[dict] = []
    problems: list[str] = []
    for (path, m), blob in zip(response_files, blobs):
        iteration, object_id, name = int(m.group(1)), m.group(2), m.group(3)
        file_rows, file_problems = _parse_response_file(path, blob, object_id, iteration, _stamp(name))
        problems.extend(file_problems)
        if not file_problems or errors == "skip":
            rows.extend(file_rows)

    batches = read_consolidation_batches(job_dir, files=request_files, problems=problems)
    if problems and errors == "raise":
        raise ManifestError(summary(problems), problems)
    frame = _frame(rows)
    if len(batches):
        frame["batch"] = frame["object_id"].map(batches).astype(object)
        frame.loc[frame["batch"].isna(), "batch"] = None
    if problems:
        warnings.warn(summary(problems), stacklevel=2)
    frame.attrs["problems"] = problems
    frame.attrs["job_dir"] = job_dir
    return frame


def read_consolidation_batches(job_dir: str, *, files: Sequence[str] | None = None,
                               problems: list[str] | None = None) -> pd.Series:
    """``object_id -> batch`` from the job's consolidation-request files (empty if there are none).

    Each request file is one call of the consolidation Lambda, i.e. one batch of objects whose
    answers completed together; the batch is named ``iteration-<N>/<file name>``.
    """
    if files is None:
        try:
            files = [f for f in storage.list_files(storage.join(job_dir, REQUEST_DIR), suffixes=(".json",))]
        except storage.NotFoundError:
            files = []
    out: dict[str, str] = {}
    for path, blob in zip(files, _read_all(files)):
        m = _REQUEST_RE.search(_relative(path, job_dir))
        batch = f"iteration-{m.group(1)}/{m.group(2)}" if m else path.rsplit("/", 1)[-1]
        try:
            payload = orjson.loads(blob)
            ids = [str(item["datasetObjectId"]) for item in payload]
        except (orjson.JSONDecodeError, TypeError, KeyError) as e:
            msg = (f"{path}: not a consolidation request ({_why(e)}); it should be a JSON list of "
                   '{"datasetObjectId": ...}; fix or remove it to infer batches from answer times.')
            if problems is None:
                raise ManifestError(msg) from None
            problems.append(msg)
            continue
        for object_id in ids:
            out.setdefault(object_id, batch)
    return pd.Series(out, dtype=object)


def find_job_dirs(location: str) -> list[str]:
    """Job folders (those holding ``annotations/worker-response/``) under ``location``."""
    jobs = set()
    for f in storage.list_files(location, suffixes=(".json",)):
        m = _JOB_RE.match(_relative(f, location))
        if m:
            jobs.add(m.group(1))
    return sorted(storage.join(location, j) if j else str(location).rstrip("/") for j in jobs)


def answer_problem(entry: Any, *, categories: Sequence[str] | None = None,
                   multi_label: bool | None = None) -> str | None:
    """Why one entry of a worker-response file's ``answers`` cannot be used, or None if it can.

    Checked so that one damaged or mistyped answer is set aside (and named) instead of stopping
    everyone: the shape, the worker id, the times and, given ``categories``, the label(s).
    """
    if not isinstance(entry, Mapping) or not isinstance(entry.get("answerContent"), Mapping):
        return "has no answerContent object"
    worker = entry.get("workerId")
    if not isinstance(worker, str) or not worker.strip():
        return "has an empty workerId"
    for key in ("submissionTime", "acceptanceTime"):
        if entry.get(key) is not None and answer_time(entry[key]) is None:
            return f"has {key} {entry[key]!r}, not a time like 2024-01-01T10:00:00.000Z"
    spent = entry.get("timeSpentInSeconds")
    if spent is not None and (isinstance(spent, bool) or not isinstance(spent, (int, float))):
        return f"has timeSpentInSeconds {spent!r}, not a number"
    if categories is None:
        return None
    return classification_problem(entry["answerContent"], categories, multi_label)


def answer_time(value: Any) -> datetime | None:
    """An answer's ``submissionTime``/``acceptanceTime`` as an aware UTC datetime (None: not an ISO time)."""
    if not isinstance(value, str) or not _ISO_RE.match(value):
        return None
    try:  # 20x faster than pandas, which a big team job's open would spend seconds in
        when = datetime.fromisoformat(value)
        return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    except ValueError:
        pass  # e.g. 'Z' before Python 3.11, or nanoseconds: pandas reads them
    try:
        ts = pd.Timestamp(value)
    except (ValueError, OverflowError):
        return None
    if ts is pd.NaT:
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


# ---------------------------------------------------------------------------- writing

def worker_response_document(answers: Iterable[Mapping], *, element: str | None = None) -> dict:
    """``{"answers": [...]}`` for one object, from tidy answer rows (dicts with the table's columns).

    A row's ``answer_content`` is used as is; otherwise one is built from ``answer`` with
    ``element`` (default ``crowd-image-classifier`` / ``-multi-select``).
    """
    out = []
    for a in answers:
        content = a.get("answer_content")
        if not isinstance(content, Mapping):
            content = answer_content(a["answer"], element=element)
        entry: dict[str, Any] = {"answerContent": content, "workerId": str(a["worker_id"])}
        if _present(a.get("submission_time")):
            entry["submissionTime"] = _iso_z(a["submission_time"])
        if _present(a.get("acceptance_time")):
            entry["acceptanceTime"] = _iso_z(a["acceptance_time"])
        if _present(a.get("time_spent")):
            entry["timeSpentInSeconds"] = float(a["time_spent"])
        out.append(entry)
    return {"answers": out}


def worker_response_path(job_dir: str, iteration: int, object_id: str | int, when: datetime | None = None) -> str:
    """``<job_dir>/annotations/worker-response/iteration-<N>/<id>/<YYYY-MM-DD_HH:MM:SS>.json``."""
    when = _utc(when)
    return storage.join(worker_response_dir(str(job_dir), iteration), str(object_id),
                        response_key(when if when.tzinfo else when.replace(tzinfo=timezone.utc)))


def write_worker_responses(answers: pd.DataFrame, job_dir: str, *, element: str | None = None) -> list[str]:
    """One worker-response file per object (and iteration), named by its last submission; returns the paths."""
    frame = answers.copy()
    if "iteration" not in frame:
        frame["iteration"] = 1
    frame["iteration"] = frame["iteration"].fillna(1).astype(int)
    written = []
    for (iteration, object_id), group in frame.groupby(["iteration", "object_id"], sort=False):
        times = pd.to_datetime(group.get("submission_time"), utc=True) if "submission_time" in group else None
        when = times.max().to_pydatetime() if times is not None and times.notna().any() else None
        path = worker_response_path(job_dir, iteration, object_id, when)
        doc = worker_response_document(group.to_dict("records"), element=element)
        storage.write_bytes(path, orjson.dumps(doc), content_type="application/json")
        written.append(path)
    return written


def consolidation_request_path(job_dir: str, iteration: int, when: datetime | None = None, *,
                               name: str | None = None) -> str:
    """Where a batch's request goes; ``name`` (from :func:`consolidation_batch_name`) pairs it with its response."""
    return consolidation_request_uri(str(job_dir), iteration, when, name=name)


def consolidation_response_path(job_dir: str, iteration: int, when: datetime | None = None, *,
                                name: str | None = None) -> str:
    return consolidation_response_uri(str(job_dir), iteration, when, name=name)


def write_consolidation_request(job_dir: str, iteration: int, payload: list[dict],
                                when: datetime | None = None, *, name: str | None = None) -> str:
    """Write a consolidation-request (Lambda payload) file; returns its path (the event's ``payload.s3Uri``).

    Without ``name`` every call gets a file of its own, however close in time.
    """
    path = consolidation_request_path(job_dir, iteration, when, name=name)
    storage.write_bytes(path, orjson.dumps(payload), content_type="application/json")
    return path


def write_consolidation_response(job_dir: str, iteration: int, response: list[dict],
                                 when: datetime | None = None, *, name: str | None = None) -> str:
    path = consolidation_response_path(job_dir, iteration, when, name=name)
    storage.write_bytes(path, orjson.dumps(response), content_type="application/json")
    return path


# ---------------------------------------------------------------------------- helpers

def _job_dir(location: str, job: str | None) -> str:
    location = str(location)
    if job:
        return storage.join(location, job)
    dirs = find_job_dirs(location)
    if not dirs:
        raise ManifestError(f"{location}: no job folder with {WORKER_RESPONSE_DIR}/ found; "
                            "pass the output path Ground Truth wrote to, or the job folder in it.")
    if len(dirs) > 1:
        names = ", ".join(d.rstrip("/").rsplit("/", 1)[-1] for d in dirs)
        raise ManifestError(f"{location}: holds several jobs ({names}); pick one with job=NAME (--job NAME).")
    return dirs[0]


def _relative(path: str, root: str) -> str:
    root = str(root).rstrip("/")
    rel = path[len(root):] if path.startswith(root) else path
    return rel.replace("\\", "/").lstrip("/")


def scan_object_files(prefix: str, *, cache: dict[str, Any], parse,
                      problems: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """``object id -> {file name -> parse(bytes)}`` for the ``.json`` files in ``prefix/<id>/``.

    For jobs that look at the store again and again: ``cache`` (file -> parsed) keeps what was
    read, so each file is read once. A file gone since the listing, or unreadable for now, is
    tried again next time; one ``parse`` refuses (ValueError) is left out for good, with the
    reason in ``problems`` (file -> why) so that it can be reported instead of vanishing.
    """
    try:
        uris = storage.list_files(prefix.rstrip("/") + "/", suffixes=(".json",))
    except storage.NotFoundError:
        return {}
    new = [u for u in uris if u not in cache]
    for uri, blob in zip(new, _read_all(new)):
        if isinstance(blob, Exception):
            continue
        try:
            cache[uri] = parse(blob)
        except ValueError as e:
            cache[uri] = None
            if problems is not None:
                problems[uri] = str(e)
    found: dict[str, dict[str, Any]] = {}
    for uri in uris:
        if cache.get(uri) is not None:
            parts = uri.split("/") if storage.is_s3(uri) else Path(uri).parts
            found.setdefault(parts[-2], {})[parts[-1]] = cache[uri]
    return found


def _read_all(paths: Sequence[str]) -> list[bytes | Exception]:
    def read(p):
        try:
            return storage.read_bytes(p)
        except storage.StorageError as e:
            return e
    if len(paths) > 8 and any(storage.is_s3(p) for p in paths):
        with ThreadPoolExecutor(_READ_THREADS) as pool:
            return list(pool.map(read, paths))
    return [read(p) for p in paths]


def _parse_response_file(path: str, blob: bytes | Exception, object_id: str, iteration: int,
                         stamp: pd.Timestamp | None) -> tuple[list[dict], list[str]]:
    if isinstance(blob, Exception):
        return [], [str(blob)]
    try:
        doc = orjson.loads(blob)
    except orjson.JSONDecodeError as e:
        return [], [f"{path}: not JSON ({e}); the file is damaged: restore it or delete it and relabel the object."]
    answers = doc.get("answers") if isinstance(doc, dict) else None
    if not isinstance(answers, list):
        return [], [f'{path}: not a worker response; expected {{"answers": [...]}}; fix or remove the file.']
    rows, problems = [], []
    for n, a in enumerate(answers, 1):
        why = answer_problem(a)
        if why is not None:
            problems.append(f"{path}: answer {n} {why}; fix or remove that answer.")
            continue
        rows.append({
            "object_id": object_id, "worker_id": a["workerId"],
            "answer": answer_from_content(a["answerContent"]),
            "submission_time": a.get("submissionTime"), "acceptance_time": a.get("acceptanceTime"),
            "time_spent": a.get("timeSpentInSeconds"), "iteration": iteration, "batch": None,
            "answer_content": a["answerContent"], "file": path, "response_time": stamp,
        })
    return rows, problems


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("object_id", "worker_id", "answer", "batch", "answer_content", "file"):
        frame[col] = frame[col].astype(object)
    for col in ("submission_time", "acceptance_time"):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601", errors="coerce")
    frame["response_time"] = pd.to_datetime(frame["response_time"], utc=True)
    frame["time_spent"] = pd.to_numeric(frame["time_spent"], errors="coerce")
    frame["iteration"] = frame["iteration"].astype("int64")
    return frame


def _stamp(name: str) -> pd.Timestamp | None:
    m = _STAMP_RE.search(name)
    return pd.Timestamp(f"{m.group(1)}T{m.group(2)}:{m.group(3)}:{m.group(4)}", tz="UTC") if m else None


def summary(problems: list[str]) -> str:
    more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more if len(problems) > 1 else problems[0]


def _why(e: Exception) -> str:
    return "not JSON" if isinstance(e, orjson.JSONDecodeError) else f"no {e}" if isinstance(e, KeyError) else "wrong shape"


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value) and value is not pd.NaT


def _utc(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(timezone.utc)
    when = pd.Timestamp(when).to_pydatetime()
    return when.astimezone(timezone.utc) if when.tzinfo else when


def _iso_z(value: Any) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``, as current worker responses carry."""
    if isinstance(value, str):
        return value
    ts = pd.Timestamp(value)
    ts = ts.tz_convert("UTC") if ts.tzinfo else ts
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
