"""Custom jobs with Ground Truth's Lambda contracts: pre-labeling and consolidation handlers."""
from __future__ import annotations

import json

import boto3
import orjson
import pandas as pd

from gtwidgets import LabelingJob, storage
from gtwidgets.lambdas import default_consolidation

from shared_fixtures import LAMBDA_EVENTS, needs_shared

CATS = ["Good Weld", "Burn Through", "Not sure"]


def aws_pre_handler(event, context):
    """Written for AWS, used unchanged: the sample code's string flag."""
    obj = event["dataObject"]
    if obj["source-ref"].endswith("broken.jpg"):
        raise ValueError("cannot read this object")
    return {"taskInput": {"taskObject": obj["source-ref"], "seam": obj.get("seam")},
            "humanAnnotationRequired": "false" if obj.get("seam") == "known-good" else "true"}


def aws_consolidation_handler(event, context):
    """An AWS-style consolidation Lambda: reads the payload from S3 with boto3."""
    bucket, key = event["payload"]["s3Uri"][5:].split("/", 1)
    payload = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    out = []
    for item in payload:
        labels = [json.loads(a["annotationData"]["content"])["crowd-image-classifier"]["label"]
                  for a in item["annotations"]]
        out.append({"datasetObjectId": item["datasetObjectId"],
                    "consolidatedAnnotation": {"content": {event["labelAttributeName"]: {
                        "weld-quality": max(set(labels), key=labels.count), "workers": len(labels)}}}})
    return out


def welds():
    return pd.DataFrame({"source-ref": [f"s3://welds/{n}.jpg" for n in ("a", "b", "broken", "c")],
                         "seam": ["s1", "known-good", "s3", "s4"]})


def test_pre_labeling_handler_shapes_the_queue(tmp_path):
    seen = []

    def plain(event):  # a one-argument function works too
        seen.append(event)
        return aws_pre_handler(event, None)

    job = LabelingJob("welds", input=welds(), categories=CATS, output=str(tmp_path / "out"),
                      worker_id="w", journal_dir=tmp_path / "j", prelabel=plain)
    assert job.queue == ["0", "2", "3"]  # object 1 needs no human
    assert job.task_inputs["0"] == {"taskObject": "s3://welds/a.jpg", "seam": "s1"}
    assert "ValueError: cannot read this object" in job.prelabel_errors["2"]
    event = seen[0]
    assert set(event) == {"version", "labelingJobArn", "dataObject"}
    assert event["labelingJobArn"].endswith(":labeling-job/welds")
    assert event["dataObject"] == {"source-ref": "s3://welds/a.jpg", "seam": "s1"}
    job.close()


def test_aws_style_handlers_run_unchanged_and_files_land_where_ground_truth_puts_them(s3, tmp_path):
    job = LabelingJob("welds", input=welds(), categories=CATS, output=f"{s3}/jobs", worker_id="w",
                      journal_dir=tmp_path / "j", prelabel=aws_pre_handler,
                      consolidation=aws_consolidation_handler)
    job.submit(0, "Burn Through")
    job.submit(3, "Good Weld")
    assert job.flush(timeout=30)
    requests = storage.list_files(f"{s3}/jobs/welds/annotations/consolidated-annotation/consolidation-request/iteration-1/")
    responses = storage.list_files(f"{s3}/jobs/welds/annotations/consolidated-annotation/consolidation-response/iteration-1/")
    assert requests and responses
    payload = orjson.loads(storage.read_bytes(requests[0]))
    assert {p["datasetObjectId"] for p in payload} == {"0", "3"}
    assert isinstance(payload[0]["annotations"][0]["annotationData"]["content"], str)
    assert payload[0]["dataObject"] == {"s3Uri": "s3://welds/a.jpg"}
    lines = [orjson.loads(x) for x in storage.read_bytes(job.output_manifest_uri).splitlines()]
    assert len(lines) == 4
    assert lines[0]["welds"] == {"weld-quality": "Burn Through", "workers": 1}
    meta = lines[0]["welds-metadata"]
    assert meta["type"] == "groundtruth/custom" and meta["job-name"] == "labeling-job/welds"
    assert meta["human-annotated"] == "yes"
    assert lines[1] == {"source-ref": "s3://welds/b.jpg", "seam": "known-good"}  # no human needed
    assert "welds" not in lines[2]
    job.close()


def test_default_consolidation_for_custom_jobs(tmp_path):
    job = LabelingJob("welds", input=welds(), categories=CATS, output=str(tmp_path / "out"),
                      worker_id="w", journal_dir=tmp_path / "j", consolidation=default_consolidation)
    job.submit(1, "Not sure")
    assert job.flush(timeout=30)
    line = orjson.loads(storage.read_bytes(job.output_manifest_uri).splitlines()[1])
    assert line["welds"] == {"crowd-image-classifier": {"label": "Not sure"}}
    assert line["welds-metadata"]["type"] == "groundtruth/custom"
    job.close()


@needs_shared
def test_the_shared_sample_events_work(s3):
    """AWS's recipe events: the payload uploaded where the event points, consolidated by ours."""
    event = json.loads((LAMBDA_EVENTS / "annotation_consolidation_test_event.json").read_text())
    bucket = s3[5:]
    event["payload"]["s3Uri"] = f"s3://{bucket}/sample_annotation_consolidation_payload.json"
    storage.write_bytes(event["payload"]["s3Uri"],
                        (LAMBDA_EVENTS / "sample_annotation_consolidation_payload.json").read_bytes())
    out = default_consolidation(event, None)
    assert [o["datasetObjectId"] for o in out] == ["0", "2"]
    content = out[0]["consolidatedAnnotation"]["content"]["test-label-attribute"]
    assert content["annotatedResult"]["boundingBoxes"][0]["label"] == "Red"


def test_a_restart_does_not_consolidate_the_same_answers_again(tmp_path):
    calls = []

    def counting(event):
        calls.append(event["payload"]["s3Uri"])
        return default_consolidation(event)

    def open_job():
        return LabelingJob("welds", input=welds(), categories=CATS, output=str(tmp_path / "out"),
                           worker_id="w", journal_dir=tmp_path / "j", consolidation=counting)
    job = open_job()
    job.submit(0, "Burn Through")
    job.submit(2, "Good Weld")
    assert job.flush(timeout=30) and len(calls) == 1
    job.close()
    again = open_job()  # a kernel restart: same output, same journal
    assert again.flush(timeout=30)
    assert len(calls) == 1  # nothing new to consolidate
    lines = [orjson.loads(x) for x in storage.read_bytes(again.output_manifest_uri).splitlines()]
    assert [line.get("welds", {}).get("crowd-image-classifier", {}).get("label") for line in lines] == [
        "Burn Through", None, "Good Weld", None]
    again.submit(0, "Not sure")  # a changed answer is consolidated again
    assert again.flush(timeout=30) and len(calls) == 2
    line = orjson.loads(storage.read_bytes(again.output_manifest_uri).splitlines()[0])
    assert line["welds"]["crowd-image-classifier"]["label"] == "Not sure"
    again.close()


def test_batches_consolidated_within_one_second_each_keep_their_files(tmp_path):
    """Five welds labeled and consolidated one after another, all within a second or two: five
    request and five response files, each response named as the request of its own batch."""
    job = LabelingJob("welds", input=pd.DataFrame({"source-ref": [f"s3://welds/{i}.jpg" for i in range(5)]}),
                      categories=CATS, output=str(tmp_path / "out"), worker_id="w", journal_dir=tmp_path / "j",
                      consolidation=default_consolidation)
    for i in range(5):
        job.submit(i, "Good Weld")
        assert job.flush(timeout=30)   # the uploader consolidates this weld alone: one batch
    folder = f"{job.job_dir}/annotations/consolidated-annotation"
    requests = storage.list_files(f"{folder}/consolidation-request/iteration-1/")
    responses = storage.list_files(f"{folder}/consolidation-response/iteration-1/")
    assert len(requests) == len(responses) == 5
    for request, response in zip(requests, responses):
        assert request.rsplit("/", 1)[1] == response.rsplit("/", 1)[1]
        asked = [p["datasetObjectId"] for p in orjson.loads(storage.read_bytes(request))]
        answered = [r["datasetObjectId"] for r in orjson.loads(storage.read_bytes(response))]
        assert asked == answered and len(asked) == 1
    job.close()
