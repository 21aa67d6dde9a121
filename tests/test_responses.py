"""Worker-response files: read Ground Truth's and ours, write ours in Ground Truth's layout."""
from __future__ import annotations

import orjson
import pandas as pd
import pytest

from gtwidgets import storage
from gtwidgets.errors import ManifestError
from gtwidgets.responses import (consolidation_batch_name, read_consolidation_batches, read_worker_responses,
                                 worker_response_document, worker_response_path, write_consolidation_request,
                                 write_consolidation_response, write_worker_responses)

# As in a real 2019 job (ground-truth-format.md 3.2): all workers of one object in one file.
GT_FILE = {"answers": [
    {"answerContent": {"crowd-image-classifier": {"label": "Falcon"}},
     "submissionTime": "2019-04-18T16:11:15Z", "workerId": "public.us-east-1.PHMFOWIIICWDF3ZS5HORERJV6Y"},
    {"answerContent": {"crowd-image-classifier": {"label": "Owl"}},
     "submissionTime": "2019-04-18T16:12:01Z", "workerId": "public.us-east-1.AAAA"}]}


def put(root, rel, doc):
    storage.write_bytes(storage.join(str(root), rel), doc if isinstance(doc, bytes) else orjson.dumps(doc))


def test_reads_a_ground_truth_job(tmp_path):
    put(tmp_path, "birds/annotations/worker-response/iteration-1/0/2019-04-18_16:12:05.json", GT_FILE)
    put(tmp_path, "birds/annotations/worker-response/iteration-2/1/2019-04-18_17:00:00.json", {"answers": [
        {"answerContent": {"my-picker": {"labels": ["Owl", "Duck"], "workerComment": "hm"}},
         "submissionTime": "2024-01-01T10:00:00.123Z", "acceptanceTime": "2024-01-01T09:59:00.000Z",
         "timeSpentInSeconds": 12.5, "workerId": "private.us-east-1.abc"}]})
    put(tmp_path, "birds/manifests/output/output.manifest.json", {"not": "a response"})
    df = read_worker_responses(str(tmp_path))
    assert df["object_id"].tolist() == ["0", "0", "1"]
    assert df["answer"].tolist() == ["Falcon", "Owl", ("Owl", "Duck")]
    assert df["worker_id"][0] == "public.us-east-1.PHMFOWIIICWDF3ZS5HORERJV6Y"
    assert df["submission_time"][0] == pd.Timestamp("2019-04-18T16:11:15Z")
    assert df["submission_time"][2] == pd.Timestamp("2024-01-01T10:00:00.123Z")
    assert df["acceptance_time"][2] == pd.Timestamp("2024-01-01T09:59:00Z") and df["time_spent"][2] == 12.5
    assert df["iteration"].tolist() == [1, 1, 2]
    assert df["response_time"][0] == pd.Timestamp("2019-04-18T16:12:05Z")
    assert df["file"][0].endswith("iteration-1/0/2019-04-18_16:12:05.json")
    assert df["answer_content"][2]["my-picker"]["workerComment"] == "hm"
    assert df["batch"].isna().all()


def test_non_classification_answers_are_kept_whole(tmp_path):
    box = {"annotatedResult": {"boundingBoxes": [{"label": "Red", "left": 1, "top": 2, "width": 3, "height": 4}]}}
    put(tmp_path, "annotations/worker-response/iteration-1/0/2024-01-01_00:00:00.json",
        {"answers": [{"answerContent": box, "workerId": "w"}]})
    df = read_worker_responses(str(tmp_path))
    assert df["answer"][0] is None and df["answer_content"][0] == box


def test_batches_come_from_consolidation_requests(tmp_path):
    job = tmp_path / "job"
    for oid in "012":
        put(job, f"annotations/worker-response/iteration-1/{oid}/2024-01-01_00:00:0{oid}.json", GT_FILE)
    write_consolidation_request(str(job), 1, [{"datasetObjectId": "0"}, {"datasetObjectId": "2"}],
                                pd.Timestamp("2024-01-01T00:01:00Z"))
    df = read_worker_responses(str(job))
    batches = df.groupby("object_id")["batch"].first().dropna().to_dict()
    assert list(batches) == ["0", "2"] and batches["0"] == batches["2"]
    assert batches["0"].startswith("iteration-1/2024-01-01_00:01:00.")
    assert df.loc[df["object_id"] == "1", "batch"].isna().all()


def test_bad_files_are_named_and_the_rest_is_kept(tmp_path):
    base = "job/annotations/worker-response/iteration-1"
    put(tmp_path, f"{base}/0/2024-01-01_00:00:00.json", GT_FILE)
    put(tmp_path, f"{base}/1/2024-01-01_00:00:00.json", b'{"answers": [')
    empty = {"answers": [dict(GT_FILE["answers"][0], workerId=""), GT_FILE["answers"][1]]}
    put(tmp_path, f"{base}/2/2024-01-01_00:00:00.json", empty)
    with pytest.raises(ManifestError) as err:
        read_worker_responses(str(tmp_path))
    problems = err.value.problems
    assert len(problems) == 2
    assert f"{base}/1/2024-01-01_00:00:00.json: not JSON" in problems[0]
    assert f"{base}/2/2024-01-01_00:00:00.json: answer 1 has an empty workerId" in problems[1]
    with pytest.warns(UserWarning, match="not JSON"):
        df = read_worker_responses(str(tmp_path), errors="skip")
    assert df["object_id"].tolist() == ["0", "0", "2"] and len(df.attrs["problems"]) == 2


def test_several_jobs_need_a_name(tmp_path):
    for job in ("a", "b"):
        put(tmp_path, f"{job}/annotations/worker-response/iteration-1/0/2024-01-01_00:00:00.json", GT_FILE)
    with pytest.raises(ManifestError, match=r"several jobs \(a, b\).*--job"):
        read_worker_responses(str(tmp_path))
    assert len(read_worker_responses(str(tmp_path), job="b")) == 2
    with pytest.raises(ManifestError, match="no job folder"):
        read_worker_responses(str(tmp_path / "a" / "annotations" / "worker-response" / "iteration-1" / "0"))


def test_write_then_read_round_trip_on_s3(s3):
    answers = pd.DataFrame({
        "object_id": ["0", "0", "1"], "worker_id": ["w1", "w2", "w1"], "answer": ["cat", "dog", ("cat", "dog")],
        "submission_time": pd.to_datetime(["2024-05-01T10:00:00.250Z", "2024-05-01T10:00:03Z", "2024-05-01T11:00:00Z"],
                                          format="ISO8601"),
        "time_spent": [3.5, None, 1.0], "iteration": [1, 1, 1]})
    paths = write_worker_responses(answers, f"{s3}/out/job")
    assert paths[0] == f"{s3}/out/job/annotations/worker-response/iteration-1/0/2024-05-01_10:00:03.json"
    doc = orjson.loads(storage.read_bytes(paths[0]))
    assert doc["answers"][0] == {"answerContent": {"crowd-image-classifier": {"label": "cat"}}, "workerId": "w1",
                                 "submissionTime": "2024-05-01T10:00:00.250Z", "timeSpentInSeconds": 3.5}
    back = read_worker_responses(f"{s3}/out")
    assert back["answer"].tolist() == ["cat", "dog", ("cat", "dog")]
    assert back["submission_time"].tolist() == answers["submission_time"].tolist()
    assert orjson.loads(storage.read_bytes(paths[1]))["answers"][0]["answerContent"] == {
        "crowd-image-classifier-multi-select": {"labels": ["cat", "dog"]}}


def test_document_and_path_helpers():
    doc = worker_response_document([{"worker_id": "w", "answer": "x", "submission_time": "2024-01-01T00:00:00Z"}],
                                   element="crowd-classifier")
    assert doc == {"answers": [{"answerContent": {"crowd-classifier": {"label": "x"}}, "workerId": "w",
                                "submissionTime": "2024-01-01T00:00:00Z"}]}
    when = pd.Timestamp("2024-01-02T03:04:05.9", tz="Europe/Berlin")
    assert worker_response_path("s3://b/o/job", 2, 17, when) == \
        "s3://b/o/job/annotations/worker-response/iteration-2/17/2024-01-02_02:04:05.json"


def test_batches_in_one_second_get_files_of_their_own(tmp_path):
    """Named to the second, five batches 0.4 s apart left three request files (issue 9, item 5)."""
    job = str(tmp_path / "job")
    when = pd.Timestamp("2024-01-01T00:01:00.400Z")
    requests = [write_consolidation_request(job, 1, [{"datasetObjectId": str(i)}], when) for i in range(5)]
    assert len(set(requests)) == 5 and all("/2024-01-01_00:01:00." in r for r in requests)
    assert read_consolidation_batches(job).nunique() == 5
    name = consolidation_batch_name(when)   # a request and its response share the batch's name
    request = write_consolidation_request(job, 1, [{"datasetObjectId": "9"}], name=name)
    response = write_consolidation_response(job, 1, [], name=name)
    assert request.rsplit("/", 1)[1] == response.rsplit("/", 1)[1] == name + ".json"


def test_answers_with_a_time_that_is_not_a_time_are_named_and_left_out(tmp_path):
    base = "job/annotations/worker-response/iteration-1"
    late = dict(GT_FILE["answers"][1], submissionTime="yesterday")
    put(tmp_path, f"{base}/0/2024-01-01_00:00:00.json", {"answers": [GT_FILE["answers"][0], late]})
    put(tmp_path, f"{base}/1/2024-01-01_00:00:00.json", {"answers": [1, "x"]})
    with pytest.warns(UserWarning, match="yesterday"):
        df = read_worker_responses(str(tmp_path), errors="skip")
    assert df["worker_id"].tolist() == [GT_FILE["answers"][0]["workerId"]]
    problems = df.attrs["problems"]
    assert f"{base}/0/2024-01-01_00:00:00.json: answer 2 has submissionTime 'yesterday', not a time" in problems[0]
    assert f"{base}/1/2024-01-01_00:00:00.json: answer 1 has no answerContent object" in problems[1]
