"""The Lambda contracts, exercised with our events (ground-truth-format.md section 4) and AWS's own samples."""
from __future__ import annotations

import json

import orjson
import pandas as pd
import pytest

from shared_fixtures import lambda_event_params
from gtwidgets import storage
from gtwidgets.errors import JobError
from gtwidgets.lambdas import (call_lambda, consolidation_event, consolidation_payload, default_consolidation,
                               parse_consolidation_response, parse_pre_annotation_response, pre_annotation_event,
                               read_payload)


# (event file, payload file) in each folder: ours, and AWS's recipe samples
EVENT_FILES = {"own": ("annotation_consolidation_event.json", "annotation_consolidation_payload.json"),
               "shared": ("annotation_consolidation_test_event.json", "sample_annotation_consolidation_payload.json")}


def sample_event(events, bucket: str) -> tuple[dict, list]:
    """A folder's consolidation event and payload, the payload uploaded to ``bucket`` (moto or a folder)."""
    event_file, payload_file = EVENT_FILES["own" if (events / EVENT_FILES["own"][0]).exists() else "shared"]
    event = json.loads((events / event_file).read_text())
    uri = storage.join(bucket, payload_file)
    storage.write_bytes(uri, (events / payload_file).read_bytes())
    event["payload"]["s3Uri"] = uri
    return event, json.loads((events / payload_file).read_text())


@pytest.mark.parametrize("events", lambda_event_params())
@pytest.mark.parametrize("where", ["s3", "local"])
def test_sample_consolidation_event_runs_the_default_consolidation(events, where, request, tmp_path):
    bucket = request.getfixturevalue("s3") if where == "s3" else str(tmp_path)
    event, payload = sample_event(events, bucket)
    attr = event["labelAttributeName"]
    result = call_lambda(default_consolidation, event)
    assert [r["datasetObjectId"] for r in result] == [item["datasetObjectId"] for item in payload]
    for r, item in zip(result, payload):
        answers = [json.loads(a["annotationData"]["content"]) for a in item["annotations"]]
        most = max(answers, key=answers.count)  # the same answer twice, keys in another order, counts twice
        assert r["consolidatedAnnotation"]["content"] == {attr: most}
    parsed = parse_consolidation_response(result, attr)
    assert set(parsed) == {item["datasetObjectId"] for item in payload}


def test_our_consolidation_payload_has_a_majority_a_text_object_and_an_empty_answer(tmp_path):
    # what the generic check above relies on: it would pass on a payload of one-answer objects too
    event, payload = sample_event(lambda_event_params()[0].values[0], str(tmp_path))
    first = default_consolidation(event)[0]["consolidatedAnnotation"]["content"]["vehicle-boxes"]
    assert first["boundingBox"]["boundingBoxes"][0]["label"] == "Car"  # 2 of 3 workers, keys in two orders
    assert payload[2]["dataObject"] == {"content": "Diego Ramirez moved to Z\u00fcrich."}
    assert {"labelCategories", "roleArn", "outputConfig", "maxHumanWorkersPerDataObject"} <= set(event)


def test_a_built_in_consolidation_response_reads():
    events = lambda_event_params()[0].values[0]
    response = json.loads((events / "annotation_consolidation_response.json").read_text())
    parsed = parse_consolidation_response(response, "bg-labeling")
    assert parsed["5"] == response[0]["consolidatedAnnotation"]["content"]  # the pair, metadata and all
    assert parsed["6"] == {"bg-labeling": {"crowd-image-classifier-multi-select": {"labels": ["Desert"]}}}


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


@pytest.mark.parametrize("events", lambda_event_params())
def test_sample_pre_annotation_event_and_both_response_spellings(events):
    name = "pre_annotation_event.json" if (events / "pre_annotation_event.json").exists() else "pre_human_task_test_event.json"
    sample = json.loads((events / name).read_text())
    event = pre_annotation_event(sample["dataObject"], sample["labelingJobArn"])
    assert event["labelingJobArn"] == sample["labelingJobArn"] and event["dataObject"] == sample["dataObject"]

    def aws_style(event, context):     # AWS's sample pre-annotation Lambda, in spirit
        return {"taskInput": {"taskObject": event["dataObject"]["source-ref"], "by": context.function_name},
                "humanAnnotationRequired": "false"}

    task_input, required = parse_pre_annotation_response(call_lambda(aws_style, event))
    assert task_input == {"taskObject": sample["dataObject"]["source-ref"], "by": "aws_style"} and required is False
    assert parse_pre_annotation_response({"taskInput": {}, "isHumanAnnotationRequired": False}) == ({}, False)
    assert parse_pre_annotation_response(call_lambda(lambda e: {"taskInput": e["dataObject"]}, event))[1] is True
    with pytest.raises(JobError, match="taskInput"):
        parse_pre_annotation_response({"isHumanAnnotationRequired": True})
    with pytest.raises(JobError, match="maybe"):
        parse_pre_annotation_response({"taskInput": {}, "humanAnnotationRequired": "maybe"})


def test_text_pre_annotation_event_and_every_response_spelling():
    events = lambda_event_params()[0].values[0]
    sample = json.loads((events / "pre_annotation_event_text.json").read_text())
    event = pre_annotation_event(sample["dataObject"], sample["labelingJobArn"])
    assert event["dataObject"] == {"source": "The food was delicious", "customer-id": "c-17"}
    for case in json.loads((events / "pre_annotation_responses.json").read_text()):
        assert parse_pre_annotation_response(case["response"]) == (case["task_input"], case["human_required"]), case


def test_call_lambda_passes_a_context_only_to_handlers_that_take_one():
    calls = []

    class Handler:
        def __call__(self, event, context):
            calls.append((event, context.aws_request_id, context.get_remaining_time_in_millis()))
            return "ok"

    assert call_lambda(Handler(), {"a": 1}) == "ok" and calls[0][0] == {"a": 1} and calls[0][2] > 0
    assert call_lambda(lambda event: event["a"], {"a": 2}) == 2
    assert call_lambda(lambda event, context=None: context is not None, {}) is True
