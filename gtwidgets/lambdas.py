"""Ground Truth's Lambda contracts (pre-annotation and consolidation), as plain functions.

So a user's own Lambda handler can run here unchanged on our answers, and ours can run in AWS:
events and payloads are built exactly as the service sends them, responses are read with the
spelling drift real code shows (``isHumanAnnotationRequired``/``humanAnnotationRequired``,
``annotationData.s3Uri``/``s3uri``). See ground-truth-format.md section 4.
"""
from __future__ import annotations

import inspect
import time
import uuid
from typing import Any, Callable, Mapping, Sequence

import orjson
import pandas as pd

from . import storage
from .errors import JobError
from .tasks import answer_content

__all__ = [
    "LambdaContext", "job_arn", "consolidation_event", "consolidation_payload", "read_payload",
    "parse_consolidation_response", "pre_annotation_event", "parse_pre_annotation_response",
    "call_lambda", "default_consolidation",
]

VERSION = "2018-10-06"  # what AWS's own sample and captured events carry; the docs say 2018-10-16
_ACCOUNT = "111122223333"


class LambdaContext:
    """The few attributes of AWS Lambda's context object that handlers use."""

    def __init__(self, function_name: str = "gtwidgets-local", *, timeout_ms: int = 900_000):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{_ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def job_arn(job_name: str, *, region: str = "us-east-1", account: str = _ACCOUNT) -> str:
    """``arn:aws:sagemaker:<region>:<account>:labeling-job/<lower-case name>``."""
    return f"arn:aws:sagemaker:{region}:{account}:labeling-job/{job_name.lower()}"


def consolidation_event(*, job_name: str, label_attribute: str, payload_uri: str,
                        output_config: str | None = None, role_arn: str | None = None,
                        label_categories: Sequence[str] | None = None,
                        max_workers: int | None = None, version: str = VERSION) -> dict:
    """The event the service sends the annotation-consolidation Lambda."""
    event: dict[str, Any] = {
        "version": version,
        "labelingJobArn": job_arn(job_name),
        "labelAttributeName": label_attribute,
        "roleArn": role_arn or f"arn:aws:iam::{_ACCOUNT}:role/gtwidgets-local",
        "outputConfig": output_config or payload_uri.rsplit("/annotations/", 1)[0] + "/annotations",
        "payload": {"s3Uri": payload_uri},
    }
    if label_categories is not None:
        event["labelCategories"] = list(label_categories)
    if max_workers is not None:
        event["maxHumanWorkersPerDataObject"] = int(max_workers)
    return event


def consolidation_payload(answers: pd.DataFrame, data_objects: Mapping[str, Mapping] | None = None, *,
                          element: str | None = None) -> list[dict]:
    """The payload file's content: per object its ``dataObject`` and each worker's annotation.

    ``data_objects`` maps ``object_id`` to its input-manifest line (``source-ref`` becomes
    ``dataObject.s3Uri``, ``source`` becomes ``dataObject.content``). ``annotationData.content``
    is the answerContent as a JSON *string*, as the service sends it.
    """
    data_objects = data_objects or {}
    out = []
    has_content = "answer_content" in answers
    for object_id, group in answers.groupby("object_id", sort=False):
        line = data_objects.get(str(object_id), {})
        data_object = ({"s3Uri": line["source-ref"]} if "source-ref" in line
                       else {"content": line["source"]} if "source" in line else {})
        annotations = []
        for row in group.itertuples(index=False):
            content = row.answer_content if has_content and isinstance(row.answer_content, Mapping) else None
            if content is None:
                content = answer_content(row.answer, element=element)
            annotations.append({"workerId": str(row.worker_id),
                                "annotationData": {"content": orjson.dumps(content).decode()}})
        out.append({"datasetObjectId": str(object_id), "dataObject": data_object, "annotations": annotations})
    return out


def read_payload(event: Mapping) -> list[dict]:
    """The consolidation payload an event points at, with every ``annotationData.content`` parsed."""
    try:
        uri = event["payload"]["s3Uri"]
    except (KeyError, TypeError):
        raise JobError('consolidation event has no "payload": {"s3Uri": ...}; build it with consolidation_event().') from None
    try:
        items = orjson.loads(storage.read_bytes(uri))
    except orjson.JSONDecodeError as e:
        raise JobError(f"{uri}: payload is not JSON ({e}).") from None
    for item in items:
        for ann in item.get("annotations", []):
            data = ann.get("annotationData", {})
            raw = data.get("content")
            if raw is None and (data.get("s3Uri") or data.get("s3uri")):
                raw = storage.read_bytes(data.get("s3Uri") or data.get("s3uri"))
            try:
                ann["content"] = orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
            except orjson.JSONDecodeError:
                raise JobError(f"{uri}: object {item.get('datasetObjectId')!r}, worker "
                               f"{ann.get('workerId')!r}: annotationData.content is not JSON.") from None
    return items


def parse_consolidation_response(response: Any, label_attribute: str) -> dict[str, dict]:
    """``{datasetObjectId: content}`` from what a consolidation Lambda returned.

    ``content`` holds ``<attr>`` and, when the Lambda supplied it, ``<attr>-metadata``.
    Raises JobError naming the entry when the shape is wrong.
    """
    if isinstance(response, (str, bytes)):
        response = orjson.loads(response)
    if not isinstance(response, list):
        raise JobError(f"consolidation Lambda returned {type(response).__name__}; it must return a list of "
                       '{"datasetObjectId": ..., "consolidatedAnnotation": {"content": {...}}}.')
    out = {}
    for n, entry in enumerate(response):
        try:
            object_id = str(entry["datasetObjectId"])
            content = entry["consolidatedAnnotation"]["content"]
        except (KeyError, TypeError):
            raise JobError(f"consolidation response entry {n}: needs datasetObjectId and "
                           "consolidatedAnnotation.content; fix the Lambda's return value.") from None
        if not isinstance(content, Mapping) or label_attribute not in content:
            raise JobError(f"consolidation response for object {object_id!r}: content has no key "
                           f"{label_attribute!r} (the labelAttributeName); return {{{label_attribute!r}: ...}}.")
        keep = {label_attribute: content[label_attribute]}
        meta = label_attribute + "-metadata"
        if meta in content:
            keep[meta] = content[meta]
        out[object_id] = keep
    return out


def pre_annotation_event(data_object: Mapping, job_arn_or_name: str, *, version: str = VERSION) -> dict:
    """The event the service sends the pre-annotation Lambda: the whole input line as ``dataObject``."""
    arn = job_arn_or_name if job_arn_or_name.startswith("arn:") else job_arn(job_arn_or_name)
    return {"version": version, "labelingJobArn": arn, "dataObject": dict(data_object)}


def parse_pre_annotation_response(response: Any) -> tuple[Any, bool]:
    """``(taskInput, human_required)``; accepts ``isHumanAnnotationRequired`` (bool) and the
    older ``humanAnnotationRequired`` (``"true"``/``"false"``); absent means required."""
    if isinstance(response, (str, bytes)):
        response = orjson.loads(response)
    if not isinstance(response, Mapping) or "taskInput" not in response:
        raise JobError('pre-annotation Lambda must return {"taskInput": {...}}; add taskInput to its return value.')
    flag = response.get("isHumanAnnotationRequired", response.get("humanAnnotationRequired", True))
    if isinstance(flag, str):
        if flag.strip().lower() not in ("true", "false"):
            raise JobError(f'humanAnnotationRequired is {flag!r}; use true/false or "true"/"false".')
        flag = flag.strip().lower() == "true"
    return response["taskInput"], bool(flag)


def call_lambda(func: Callable, event: Mapping, *, function_name: str | None = None) -> Any:
    """Call ``func(event)``, or an AWS-style ``func(event, context)`` handler unchanged."""
    if _takes_context(func):
        name = function_name or getattr(func, "__name__", "gtwidgets-local")
        return func(event, LambdaContext(name))
    return func(event)


def default_consolidation(event: Mapping, context: Any = None) -> list[dict]:
    """Consolidation for custom jobs: one worker's answerContent as is; with several, the answer
    most workers gave identically (ties: the earliest in the payload)."""
    attr = event["labelAttributeName"]
    out = []
    for item in read_payload(event):
        contents = [ann["content"] for ann in item.get("annotations", [])]
        if not contents:
            continue
        keys = [orjson.dumps(c, option=orjson.OPT_SORT_KEYS) for c in contents]
        best = max(range(len(keys)), key=lambda i: (keys.count(keys[i]), -keys.index(keys[i])))
        out.append({"datasetObjectId": item["datasetObjectId"],
                    "consolidatedAnnotation": {"content": {attr: contents[best]}}})
    return out


def _takes_context(func: Callable) -> bool:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    return len(positional) >= 2 and positional[1].default is inspect.Parameter.empty or (
        len(positional) >= 2 and positional[1].name == "context")
