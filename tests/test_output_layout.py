"""Ground Truth's output layout in one module: paths, file names, times, worker-response files."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson

from gtwidgets import output_layout as layout

WHEN = datetime(2024, 3, 8, 19, 30, 8, 880289, tzinfo=timezone.utc)


def test_paths_are_where_ground_truth_writes_them():
    job = "s3://bucket/out/pets"
    assert layout.worker_response_uri(job, 7, "k.json") == "s3://bucket/out/pets/annotations/worker-response/iteration-1/7/k.json"
    assert layout.output_manifest_uri(job) == "s3://bucket/out/pets/manifests/output/output.manifest"
    name = layout.consolidation_batch_name(WHEN)
    assert name.startswith("2024-03-08_19:30:08.880289_")
    assert layout.consolidation_request_uri(job, name=name) == (
        f"s3://bucket/out/pets/annotations/consolidated-annotation/consolidation-request/iteration-1/{name}.json")
    assert layout.consolidation_response_uri(job, 2, name="b").endswith("consolidation-response/iteration-2/b.json")
    assert layout.adjudication_dir(job).endswith("annotations/adjudication/iteration-1")


def test_response_keys_and_times():
    assert layout.response_key(WHEN) == "2024-03-08_19:30:08.json"
    assert layout.response_key(WHEN, "alice").startswith("2024-03-08_19:30:08_")
    answer_time = layout.iso_ms(WHEN)  # Ground Truth's answer times: milliseconds and a Z
    assert answer_time == "2024-03-08T19:30:08.880Z"
    assert layout.parse_time(layout.format_time(WHEN)) == WHEN
    assert layout.parse_time("2024-03-08T19:30:08Z") == WHEN.replace(microsecond=0)


def test_a_worker_response_file_round_trips_and_a_bad_one_is_named():
    body = layout.worker_response_body({"crowd-image-classifier": {"label": "dog"}}, worker_id="alice",
                                       accepted=WHEN, submitted=WHEN, time_spent=1.5)
    [entry] = layout.parse_answers(body)
    assert entry["workerId"] == "alice" and entry["submissionTime"] == "2024-03-08T19:30:08.880Z"
    assert "not JSON" in layout.parse_worker_response(b"{")["unreadable"]
    assert "not a worker response" in layout.parse_worker_response(orjson.dumps({"x": 1}))["unreadable"]
