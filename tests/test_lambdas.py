"""The Lambda contracts, exercised with AWS's own sample events."""
from __future__ import annotations

import json

import orjson
import pandas as pd
import pytest

from shared_fixtures import LAMBDA_EVENTS
from gtwidgets import storage
from gtwidgets.errors import JobError
from gtwidgets.lambdas import (call_lambda, consolidation_event, consolidation_payload, default_consolidation,
                               parse_consolidation_response, parse_pre_annotation_response, pre_annotation_event,
                               read_payload)


def sample_event(bucket: str) -> dict:
    """The sample consolidation event, its payload uploaded to ``bucket`` (moto or a folder)."""
    event = json.loads((LAMBDA_EVENTS / "annotation_consolidation_test_event.json").read_text())
    uri = storage.join(bucket, "sample_annotation_consolidation_payload.json")
    storage.write_bytes(uri, (LAMBDA_EVENTS / "sample_annotation_consolidation_payload.json").read_bytes())
    event["payload"]["s3Uri"] = uri
    return event


@pytest.mark.parametrize("where", ["s3", "local"])
def test_sample_consolidation_event_runs_the_default_consolidation(where, request, tmp_path):
    bucket = request.getfixturevalue("s3") if where == "s3" else str(tmp_path)
    event = sample_event(bucket)
    result = call_lambda(default_consolidation, event)
    payload = json.loads((LAMBDA_EVENTS / "sample_annotation_consolidation_payload.json").read_text())
    assert [r["datasetObjectId"] for r in result] == ["0", "2"]
    for r, item in zip(result, payload):
        content = r["consolidatedAnnotation"]["content"]
        assert content == {"test-label-attribute": json.loads(item["annotations"][0]["annotationData"]["content"])}
    parsed = parse_consolidation_response(result, "test-label-attribute")
    assert parsed["2"]["test-label-attribute"]["annotatedResult"]["boundingBoxes"][0]["label"] == "Green"


def test_default_consolidation_takes_the_most_common_identical_answer(tmp_path):
    answers = pd.DataFrame({"object_id": ["0"] * 3 + ["1"] * 2, "worker_id": ["a", "b", "c", "a", "b"],
                            "answer_content": [{"f": {"x": 1, "y": 2}}, {"f": {"y": 2, "x": 1}}, {"f": {"x": 9}},
                                               {"f": {"x": 3}}, {"f": {"x": 4}}]})
    uri = str(tmp_path / "payload.json")
    storage.write_bytes(uri, orjson.dumps(consolidation_payload(answers)))
    event = consolidation_event(job_name="Job", label_attribute="out", payload_uri=uri)
    result = {r["datasetObjectId"]: r["consolidatedAnnotation"]["content"]["out"] for r in default_consolidation(event)}
    assert result == {"0": {"f": {"x": 1, "y": 2}}, "1": {"f": {"x": 3}}}


def test_payload_matches_the_service_shape():
    answers = pd.DataFrame({"object_id": ["0", "0", "1"], "worker_id": ["a", "b", "a"],
                            "answer": ["cat", "dog", ("cat",)]})
    payload = consolidation_payload(answers, {"0": {"source-ref": "s3://b/0.jpg"}, "1": {"source": "some text"}})
    assert payload[0]["dataObject"] == {"s3Uri": "s3://b/0.jpg"}
    assert payload[1]["dataObject"] == {"content": "some text"}
    content = payload[0]["annotations"][1]["annotationData"]["content"]
    assert isinstance(content, str) and json.loads(content) == {"crowd-image-classifier": {"label": "dog"}}
    assert json.loads(payload[1]["annotations"][0]["annotationData"]["content"]) == {
        "crowd-image-classifier-multi-select": {"labels": ["cat"]}}


def test_payload_annotation_may_point_at_s3(s3):
    storage.write_bytes(f"{s3}/ann.json", b'{"f": {"label": "x"}}')
    storage.write_bytes(f"{s3}/p.json", orjson.dumps([{"datasetObjectId": "0", "annotations": [
        {"workerId": "w", "annotationData": {"s3uri": f"{s3}/ann.json"}}]}]))
    items = read_payload({"payload": {"s3Uri": f"{s3}/p.json"}})
    assert items[0]["annotations"][0]["content"] == {"f": {"label": "x"}}


def test_event_fields():
    event = consolidation_event(job_name="MyJob", label_attribute="lbl", max_workers=3, label_categories=["a"],
                                payload_uri="s3://o/MyJob/annotations/consolidated-annotation/consolidation-request/iteration-1/x.json")
    assert event["labelingJobArn"].endswith(":labeling-job/myjob")
    assert event["outputConfig"] == "s3://o/MyJob/annotations"
    assert {"version", "roleArn", "labelAttributeName", "maxHumanWorkersPerDataObject", "labelCategories"} <= set(event)


def test_consolidation_response_with_and_without_metadata():
    pair = {"x": 1, "x-metadata": {"class-name": "b"}}
    parsed = parse_consolidation_response(json.dumps([
        {"datasetObjectId": 5, "consolidatedAnnotation": {"content": pair}},
        {"datasetObjectId": "6", "consolidatedAnnotation": {"content": {"x": {"any": "thing"}}}}]), "x")
    assert parsed == {"5": pair, "6": {"x": {"any": "thing"}}}
    with pytest.raises(JobError, match="no key 'x'"):
        parse_consolidation_response([{"datasetObjectId": "1", "consolidatedAnnotation": {"content": {"y": 1}}}], "x")
    with pytest.raises(JobError, match="entry 0"):
        parse_consolidation_response([{"datasetObjectId": "1"}], "x")
    with pytest.raises(JobError, match="must return a list"):
        parse_consolidation_response({"oops": 1}, "x")


def test_sample_pre_annotation_event_and_both_response_spellings():
    sample = json.loads((LAMBDA_EVENTS / "pre_human_task_test_event.json").read_text())
    event = pre_annotation_event(sample["dataObject"], sample["labelingJobArn"])
    assert event["labelingJobArn"] == sample["labelingJobArn"] and event["dataObject"] == sample["dataObject"]

    def aws_style(event, context):     # AWS's sample pre-annotation Lambda, in spirit
        return {"taskInput": {"taskObject": event["dataObject"]["source-ref"], "by": context.function_name},
                "humanAnnotationRequired": "false"}

    task_input, required = parse_pre_annotation_response(call_lambda(aws_style, event))
    assert task_input == {"taskObject": "s3://test-bucket/test-image.jpg", "by": "aws_style"} and required is False
    assert parse_pre_annotation_response({"taskInput": {}, "isHumanAnnotationRequired": False}) == ({}, False)
    assert parse_pre_annotation_response(call_lambda(lambda e: {"taskInput": e["dataObject"]}, event))[1] is True
    with pytest.raises(JobError, match="taskInput"):
        parse_pre_annotation_response({"isHumanAnnotationRequired": True})
    with pytest.raises(JobError, match="maybe"):
        parse_pre_annotation_response({"taskInput": {}, "humanAnnotationRequired": "maybe"})


def test_call_lambda_passes_a_context_only_to_handlers_that_take_one():
    calls = []

    class Handler:
        def __call__(self, event, context):
            calls.append((event, context.aws_request_id, context.get_remaining_time_in_millis()))
            return "ok"

    assert call_lambda(Handler(), {"a": 1}) == "ok" and calls[0][0] == {"a": 1} and calls[0][2] > 0
    assert call_lambda(lambda event: event["a"], {"a": 2}) == 2
    assert call_lambda(lambda event, context=None: context is not None, {}) is True
