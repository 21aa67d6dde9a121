"""A custom task's Lambdas run against a job: pre-labeling before it, consolidation as it goes.

Ground Truth calls the pre-annotation Lambda once per line before any worker sees it, and
the consolidation Lambda with the answers of objects whose workers are done; its request and
response files go where Ground Truth puts them (``gtwidgets.output_layout``). The job journals
each label it gets (``{"op": "consolidated", ...}``), so a restart does not call the function
again for the same answers.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from . import lambdas, responses, tasks
from .errors import JobError
from .output_layout import ITERATION, consolidation_batch_name, join

__all__ = ["prelabel", "consolidation_records", "run_consolidation"]


def prelabel(handler: Callable, queue: Sequence[str], item: Callable[[str], dict],
             job_name: str) -> tuple[list[str], dict[str, Any], dict[str, str]]:
    """Run the pre-annotation Lambda over every object first, as Ground Truth does.

    Returns the objects still for a human (in queue order), each object's ``taskInput``, and
    the objects whose call failed (id -> why): those stay in the queue and get an error card.
    """
    arn = lambdas.job_arn(job_name)
    keep, task_inputs, errors = [], {}, {}
    for oid in queue:
        try:
            event = lambdas.pre_annotation_event(item(oid), arn)
            task_input, human = lambdas.parse_pre_annotation_response(lambdas.call_lambda(handler, event))
        except Exception as e:  # one bad object must not stop the job: it gets an error card
            errors[oid] = f"pre-labeling failed: {type(e).__name__}: {e}"
            keep.append(oid)
            continue
        task_inputs[oid] = task_input
        if human:
            keep.append(oid)
    return keep, task_inputs, errors


def consolidation_records(task, answers: pd.DataFrame, *, labeled: Mapping[str, tuple],
                          workers_per_object: int, item: Callable[[str], dict], job_dir: str,
                          is_object: Callable[[str], bool]) -> tuple[list[dict], list[str]]:
    """Send the objects whose answers are complete (and changed) to the task's consolidation Lambda.

    ``answers``: the job's ``all_answers()``; ``labeled``: object id -> (answers token, label,
    date) already journaled. Writes the request payload and the response where Ground Truth
    does and returns the records to journal and the ids the Lambda consolidated.
    """
    if answers.empty:
        return [], []
    tokens = answers.groupby("object_id").apply(
        lambda g: "|".join(f"{w}:{a}" for w, a in zip(g["worker_id"], g["answer"])), include_groups=False)
    counts = answers.groupby("object_id")["worker_id"].nunique()
    todo = [oid for oid, n in counts.items() if n >= workers_per_object
            and labeled.get(oid, ("",))[0] != tokens[oid]]
    if not todo:
        return [], []
    batch = answers[answers["object_id"].isin(todo)]
    batch = batch.assign(answer_content=[task.to_content(task.from_json(a)) for a in batch["answer"]])
    payload = lambdas.consolidation_payload(batch, {oid: item(oid) for oid in todo})
    when = datetime.now(timezone.utc)
    name = consolidation_batch_name(when)  # request and response share it
    request_uri = responses.write_consolidation_request(job_dir, ITERATION, payload, name=name)
    attr = task.config.label_attribute
    event = lambdas.consolidation_event(
        job_name=task.config.job_name, label_attribute=attr, payload_uri=request_uri,
        output_config=join(job_dir, "annotations"), label_categories=list(task.config.categories),
        max_workers=workers_per_object)
    try:
        response = lambdas.call_lambda(task.handler, event)
        parsed = lambdas.parse_consolidation_response(response, attr)
    except JobError:
        raise
    except Exception as e:
        raise JobError(f"the consolidation function raised {type(e).__name__}: {e}") from e
    responses.write_consolidation_response(job_dir, ITERATION, response, name=name)
    records = [{"op": "consolidated", "id": oid, "token": tokens.get(oid, ""), "label": content[attr],
                "date": tasks.format_creation_date(when)}
               for oid, content in parsed.items() if is_object(oid) and attr in content]
    return records, [oid for oid in parsed if is_object(oid)]


def run_consolidation(job: Any) -> list[str]:
    """``LabelingJob.run_consolidation``: ``consolidation_records`` for the job's answers, journaled
    (so a restart does not call the function again for the same answers) and taken into its state."""
    records, ids = consolidation_records(
        job.task, job.all_answers(), labeled=dict(job._state.lambda_labels), item=job.item,
        workers_per_object=job.workers_per_object, job_dir=job.job_dir, is_object=job._position.__contains__)
    with job._lock:
        if records:
            job.journal.append(*records)
        job._state.take_all(records, own=True)
        job._sync.manifest_dirty = True
    return ids
