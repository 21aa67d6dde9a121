"""Ground Truth's output layout: every path, file name, time stamp and worker-response shape.

One place for what Ground Truth writes under ``<output>/<job-name>/`` (see
ground-truth-format.md), and for the few files this project keeps beside them::

    annotations/worker-response/iteration-<N>/<datasetObjectId>/<YYYY-MM-DD_HH:MM:SS>.json
    annotations/consolidated-annotation/consolidation-request/iteration-<N>/<batch>.json
    annotations/consolidated-annotation/consolidation-response/iteration-<N>/<batch>.json
    manifests/output/output.manifest
    annotations/adjudication/iteration-<N>/<id>/n<seq>_<time>_<reviewer>.json   (ours: decisions)
    annotations/{worker-response,adjudication}-index/iteration-<N>/...            (ours: the index)
    gtwidgets/input.json                                                           (ours: input identity)

Pure: no I/O, nothing of ours imported (``join`` spells local paths and ``s3://`` keys the way
``gtwidgets.storage`` does).
"""
from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "ITERATION", "WORKER_RESPONSE_DIR", "REQUEST_DIR", "RESPONSE_DIR", "join",
    "worker_response_dir", "worker_response_uri", "worker_response_index_dir", "response_key",
    "adjudication_dir", "adjudication_index_dir", "consolidation_batch_name",
    "consolidation_request_uri", "consolidation_response_uri", "output_manifest_uri", "input_record_uri",
    "format_time", "parse_time", "iso_ms", "worker_response_body", "parse_answers", "parse_worker_response",
]

#: The only iteration this project writes (Ground Truth numbers re-runs of a job's loop).
ITERATION = 1

WORKER_RESPONSE_DIR = "annotations/worker-response"
REQUEST_DIR = "annotations/consolidated-annotation/consolidation-request"
RESPONSE_DIR = "annotations/consolidated-annotation/consolidation-response"
ADJUDICATION_DIR = "annotations/adjudication"
OUTPUT_MANIFEST = "manifests/output/output.manifest"

RESPONSE_RE = re.compile(r"(?:^|/)annotations/worker-response/iteration-(\d+)/([^/]+)/([^/]+\.json)$")
REQUEST_RE = re.compile(
    r"(?:^|/)annotations/consolidated-annotation/consolidation-request/iteration-(\d+)/([^/]+\.json)$")
JOB_RE = re.compile(r"^(.*?)/?annotations/worker-response/iteration-\d+/")
# Seen as 2021-11-18_02:19:51 and 2023-04-17_15_48_07 in real jobs.
STAMP_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[_T](\d{2})[:_](\d{2})[:_](\d{2})")

#: Times in this project's journal (UTC, microseconds, no zone).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
_STAMP_FORMAT = "%Y-%m-%d_%H:%M:%S"


def join(prefix: str, *parts: str) -> str:
    """Join path parts under a local folder or an ``s3://`` prefix (``/`` for S3)."""
    if str(prefix).startswith("s3://"):
        out = str(prefix)
        for p in parts:
            out = out.rstrip("/") + "/" + p.lstrip("/")
        return out
    return str(Path(prefix).joinpath(*parts))


# ---------------------------------------------------------------------------- paths

def worker_response_dir(job_dir: str, iteration: int = ITERATION) -> str:
    return join(job_dir, WORKER_RESPONSE_DIR, f"iteration-{int(iteration)}")


def worker_response_uri(job_dir: str, object_id: str | int, key: str, iteration: int = ITERATION) -> str:
    """``<job>/annotations/worker-response/iteration-<N>/<id>/<key>``."""
    return join(worker_response_dir(job_dir, iteration), str(object_id), key)


def worker_response_index_dir(job_dir: str, iteration: int = ITERATION) -> str:
    return join(job_dir, "annotations", "worker-response-index", f"iteration-{int(iteration)}")


def response_key(submitted: datetime, worker: str | None = None) -> str:
    """Ground Truth's ``<YYYY-MM-DD_HH:MM:SS>.json``; with several workers, one file each
    (``..._<worker hash>.json``) so that no writer ever overwrites another."""
    stamp = submitted.astimezone(timezone.utc).strftime(_STAMP_FORMAT)
    if worker is None:
        return stamp + ".json"
    return f"{stamp}_{hashlib.sha1(worker.encode()).hexdigest()[:8]}.json"


def adjudication_dir(job_dir: str, iteration: int = ITERATION) -> str:
    return join(job_dir, ADJUDICATION_DIR, f"iteration-{int(iteration)}")


def adjudication_index_dir(job_dir: str, iteration: int = ITERATION) -> str:
    return join(job_dir, "annotations", "adjudication-index", f"iteration-{int(iteration)}")


def consolidation_batch_name(when: datetime | None = None) -> str:
    """``<YYYY-MM-DD_HH:MM:SS>.<microseconds>_<random>``: Ground Truth's stamp made unique per batch.

    Names to the second let two batches in one second overwrite each other's request and
    response files; the microseconds keep the files in time order, the suffix keeps them apart.
    """
    return _utc(when).strftime(_STAMP_FORMAT + ".%f") + "_" + uuid.uuid4().hex[:8]


def consolidation_request_uri(job_dir: str, iteration: int = ITERATION, when: datetime | None = None, *,
                              name: str | None = None) -> str:
    """Where a batch's request goes; ``name`` (from :func:`consolidation_batch_name`) pairs it with its response."""
    return join(str(job_dir), REQUEST_DIR, f"iteration-{int(iteration)}", (name or consolidation_batch_name(when)) + ".json")


def consolidation_response_uri(job_dir: str, iteration: int = ITERATION, when: datetime | None = None, *,
                               name: str | None = None) -> str:
    return join(str(job_dir), RESPONSE_DIR, f"iteration-{int(iteration)}", (name or consolidation_batch_name(when)) + ".json")


def output_manifest_uri(job_dir: str) -> str:
    return join(job_dir, OUTPUT_MANIFEST)


def input_record_uri(job_dir: str) -> str:
    """Where a job records each input line's source, so an edited input is refused."""
    return join(job_dir, "gtwidgets", "input.json")


def response_stamp(name: str) -> tuple[str, str, str, str] | None:
    """(date, hour, minute, second) of a worker-response file name, in either spelling seen."""
    m = STAMP_RE.search(name)
    return m.groups() if m else None


# ---------------------------------------------------------------------------- times

def format_time(when: datetime) -> str:
    """A journal time: UTC, microseconds, no zone."""
    return when.astimezone(timezone.utc).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`; also reads times without microseconds, ``Z`` or ISO offsets."""
    text = text.rstrip("Z")
    for fmt in (TIME_FORMAT, "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def iso_ms(when: datetime) -> str:
    """Ground Truth's answer times: ``2024-01-01T10:00:00.123Z``."""
    return when.astimezone(timezone.utc).strftime(TIME_FORMAT)[:-3] + "Z"


# ---------------------------------------------------------------------------- worker-response files

def worker_response_body(content: dict, *, worker_id: str, accepted: datetime, submitted: datetime,
                         time_spent: float) -> bytes:
    """One worker's answer as Ground Truth's worker-response file (``{"answers": [...]}``)."""
    return orjson.dumps({"answers": [{
        "answerContent": content,
        "workerId": worker_id,
        "acceptanceTime": iso_ms(accepted),
        "submissionTime": iso_ms(submitted),
        "timeSpentInSeconds": time_spent,
    }]})


def parse_answers(body: bytes) -> list[dict]:
    """The ``answers`` of a worker-response file; ValueError (JSONDecodeError too) when it is not one."""
    doc = orjson.loads(body)
    answers = doc.get("answers") if isinstance(doc, dict) else None
    if not isinstance(answers, list):
        raise ValueError("not a worker-response document")
    return answers


def parse_worker_response(body: bytes) -> list[dict] | dict:
    """The answers of a worker-response file, or ``{"unreadable": why}``: kept in the index
    too, so that every job opening it reports the file instead of silently missing it."""
    try:
        return parse_answers(body)
    except orjson.JSONDecodeError as e:
        return {"unreadable": f"not JSON ({e}); restore the file or delete it"}
    except ValueError:
        return {"unreadable": 'not a worker response (expected {"answers": [...]}); fix or delete the file'}


def _utc(when: Any) -> datetime:
    if when is None:
        return datetime.now(timezone.utc)
    if not isinstance(when, datetime):  # a pandas Timestamp or numpy time
        import pandas as pd

        when = pd.Timestamp(when).to_pydatetime()
    return when.astimezone(timezone.utc) if when.tzinfo else when
