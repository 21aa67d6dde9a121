"""Segmentation jobs from Python, end to end: the mask PNG written where Ground Truth writes it
(section 2.6), before the output manifest that names it, and read back with ``read_masks``."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import orjson
import pytest

from gtwidgets import LabelingJob, storage
from gtwidgets.modes import LabelMode
from gtwidgets.manifests import read_manifest
from gtwidgets.consolidate_masks import vote_masks
from gtwidgets.masks import color_map, encode_mask, read_masks

CATS = ["Solder bridge", "Scratch"]
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)
DATE = "2024-05-01T10:00:00.000000"


def card_meta(job, object_id):
    """The card meta the widget's label mode sends for an object (tool, tool_meta, label, answer)."""
    mode = LabelMode()
    mode.open(job)
    return mode.card_meta(str(object_id))


def painted(shift=0):
    labels = np.zeros((24, 32), np.uint8)
    labels[2:8, 3 + shift:12 + shift] = 1    # Scratch (classes are sorted: index 1)
    labels[10:18, 15:28] = 2                 # Solder bridge
    return labels


def mask_job(tmp_path, frame, output, **kw):
    kw.setdefault("worker_id", "w1")
    return LabelingJob("pcb-defects", input=frame, categories=CATS, output=output, task="semantic-segmentation",
                       label_attribute="pcb-defects-ref", journal_dir=tmp_path / "journal" / kw["worker_id"], **kw)


@pytest.mark.parametrize("where", ["local", "s3"])
def test_one_worker_s_mask_is_written_and_named_by_the_manifest(where, boards, tmp_path, request):
    output = str(tmp_path / "out") if where == "local" else request.getfixturevalue("s3") + "/jobs"
    job = mask_job(tmp_path, boards, output)
    job.submit(0, painted(), submitted=T0)   # a class-index array, as a model or the tool gives
    assert job.flush(timeout=30)
    lines = [orjson.loads(x) for x in storage.read_bytes(job.output_manifest_uri).splitlines()]
    uri = f"{output}/pcb-defects/annotations/consolidated-annotation/output/0_{DATE}.png"
    assert lines[0] == {
        "source-ref": boards.at[0, "source-ref"], "pcb-defects-ref": uri,
        "pcb-defects-ref-metadata": {"internal-color-map": {
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0},
            "1": {"class-name": "Scratch", "hex-color": "#ff7f0e", "confidence": 0},
            "2": {"class-name": "Solder bridge", "hex-color": "#1f77b4", "confidence": 0}},
            "type": "groundtruth/semantic-segmentation", "human-annotated": "yes", "creation-date": DATE,
            "job-name": "labeling-job/pcb-defects"}}
    assert lines[1] == {"source-ref": boards.at[1, "source-ref"]}
    assert storage.list_files(f"{output}/pcb-defects/annotations/consolidated-annotation/output/") == [uri]
    masks = read_masks(read_manifest(job.output_manifest_uri), "pcb-defects-ref")
    assert (masks[0] == painted()).all() and masks[1] is None
    assert job.label_pair(0)["pcb-defects-ref"] == uri   # JSON, the file already named
    job.close()


def test_png_bytes_in_the_job_s_colours_are_an_answer(boards, tmp_path):
    job = mask_job(tmp_path, boards, str(tmp_path / "out"))
    png = encode_mask(painted(), color_map(CATS))  # the job's colour map
    job.submit(1, png, submitted=T0)
    assert job.flush(timeout=30)
    masks = read_masks(job.to_manifest(), "pcb-defects-ref")
    assert (masks[1] == painted()).all()
    job.close()


def test_several_workers_are_voted_pixel_by_pixel(boards, tmp_path):
    output = str(tmp_path / "out")
    jobs = [mask_job(tmp_path, boards, output, worker_id=w, workers_per_object=3) for w in ("w1", "w2", "w3")]
    for n, job in enumerate(jobs):
        job.submit(0, painted(shift=5 if n == 2 else 0), submitted=T0)  # one worker's scratch is off
        assert job.flush(timeout=30)
    last = jobs[-1]
    last.refresh()
    assert last.flush(timeout=30)
    frame = read_manifest(last.output_manifest_uri)
    assert 0 < frame.at[0, "pcb-defects-ref-metadata.internal-color-map"]["1"]["confidence"] <= 1
    (mask,) = read_masks(frame.iloc[[0]], "pcb-defects-ref")
    expected = vote_masks([painted(), painted(), painted(shift=5)], radius=2).labels  # gtwidgets.consolidate_masks
    assert (mask == expected).all()
    assert (mask[10:18, 15:28] == 2).all() and not (mask[2:8, 17:21] == 1).any()  # the odd scratch is outvoted
    for job in jobs:
        job.close()


def test_the_card_carries_the_masks_tool_and_the_image_size(boards, tmp_path):
    job = mask_job(tmp_path, boards, str(tmp_path / "out"))
    meta = card_meta(job, 0)
    assert meta["tool"] == "masks" and meta["label"] is None and meta["answer"] is None
    assert meta["tool_meta"]["image_size"] == {"width": 32, "height": 24, "depth": 3}
    assert [c["name"] for c in meta["tool_meta"]["categories"]] == CATS
    job.submit(0, painted())
    assert card_meta(job, 0)["answer"] == ["Solder bridge", "Scratch"]
    job.close()


def prior_frame(boards, tmp_path):
    """Board 0 carries a prior job's mask (its own colours), board 1 none: verification's input."""
    prior_map = color_map(CATS, colors={"Scratch": "#9467bd"})
    png = tmp_path / "prior-0.png"
    png.write_bytes(encode_mask(painted(), prior_map))
    frame = boards.copy()
    frame["pcb-defects-ref"] = [str(png), None]
    frame["pcb-defects-ref-metadata"] = [{"internal-color-map": prior_map, "type": "groundtruth/semantic-segmentation",
                                          "human-annotated": "yes", "creation-date": DATE,
                                          "job-name": "labeling-job/pcb-defects"}, None]
    return frame, png


def verify_job(tmp_path, frame, output, worker, **kw):
    return LabelingJob("verify-pcb", input=frame, categories=["good", "bad"], output=output, worker_id=worker,
                       task="semantic-segmentation-verification", options={"prior_attribute": "pcb-defects-ref"},
                       journal_dir=tmp_path / "journal" / worker, **kw)


def test_a_verification_card_shows_the_prior_mask_over_the_image(boards, tmp_path):
    from gtwidgets import LabelingWidget
    from protocol_check import check_reply

    frame, png = prior_frame(boards, tmp_path)
    job = verify_job(tmp_path, frame, str(tmp_path / "out"), "w1")
    meta = card_meta(job, 0)
    assert meta["tool"] == "masks" and meta["buffers"] == [png.read_bytes()]  # the prior's file, as it is
    tool = meta["tool_meta"]
    assert tool["read_only"] and tool["categories"] == ["good", "bad"]
    assert tool["layers"] == [{"name": "pcb-defects-ref", "buffer": 0, "background": "#ffffff"}]
    assert tool["legend"] == [{"name": "Scratch", "color": "#9467bd"}, {"name": "Solder bridge", "color": "#1f77b4"}]
    assert tool["image_size"] == {"width": 32, "height": 24, "depth": 3}
    missing = card_meta(job, 1)
    assert "buffers" not in missing and "layers" not in missing["tool_meta"]
    assert "no pcb-defects-ref mask" in missing["tool_meta"]["problem"]

    w = LabelingWidget(job)   # the widget sends the mask after the image, its index shifted
    sent = []
    w.send = lambda msg, buffers=None: sent.append((msg, buffers))
    w._send_card(0, "0")
    [(card, buffers)] = sent
    check_reply(card)
    assert card["tool_meta"]["layers"][0]["buffer"] == 1 and bytes(buffers[1]) == png.read_bytes()
    w.close()
    png.unlink()   # an unreadable file: the card says which and what to do
    assert "cannot read the mask " + str(png) in card_meta(job, 0)["tool_meta"]["problem"]
    job.close()


def test_mask_verification_is_consolidated_like_classification(boards, tmp_path):
    frame, _ = prior_frame(boards, tmp_path)
    output = str(tmp_path / "out")
    jobs = [verify_job(tmp_path, frame, output, w, workers_per_object=3) for w in ("w1", "w2", "w3")]
    ratings = ["bad", {"label": "bad", "comment": "bridge missed"}, "good"]
    for job, rating in zip(jobs, ratings):
        job.submit(0, rating, submitted=T0)
        assert job.flush(timeout=30)
    last = jobs[-1]
    last.refresh()
    assert last.flush(timeout=30)
    line = orjson.loads(storage.read_bytes(last.output_manifest_uri).splitlines()[0])
    assert line["pcb-defects-ref"] == frame.at[0, "pcb-defects-ref"]   # the verified mask's pair stays
    assert line["pcb-defects-ref-metadata"] == frame.at[0, "pcb-defects-ref-metadata"]
    assert line["verify-pcb"] == "1"   # the category's index as text: not a -ref attribute
    meta = line["verify-pcb-metadata"]
    assert (meta["class-name"], meta["type"], meta["worker-feedback"]) == (
        "bad", "groundtruth/label-verification", [{"comment": "bridge missed"}])
    assert 0.5 < meta["confidence"] < 1 and meta["job-name"] == "labeling-job/verify-pcb"
    for job in jobs:
        job.close()


class Spy:
    """Counts, without changing them, the mask PNGs written and the masks encoded and voted."""

    def __init__(self, monkeypatch):
        from gtwidgets import masks as masks_module
        from gtwidgets.tasktypes import segmentation

        self.writes, self.encoded, self.votes = [], [], 0
        write, encode, vote = storage.write_bytes, masks_module.encode_mask, segmentation.vote_masks

        def counting_write(uri, data, **kw):
            if str(uri).endswith(".png"):
                self.writes.append(str(uri))
            return write(uri, data, **kw)

        def counting_encode(labels, cmap):
            self.encoded.append(np.array(labels))
            return encode(labels, cmap)

        def counting_vote(given, **kw):
            self.votes += 1
            return vote(given, **kw)
        monkeypatch.setattr(storage, "write_bytes", counting_write)
        monkeypatch.setattr(masks_module, "encode_mask", counting_encode)
        monkeypatch.setattr(segmentation, "vote_masks", counting_vote)

    def take(self):
        out = (self.writes, self.encoded, self.votes)
        self.writes, self.encoded, self.votes = [], [], 0
        return out


def _mask_files(output):
    return storage.list_files(f"{output}/pcb-defects/annotations/consolidated-annotation/output/")


def test_a_manifest_write_writes_only_the_masks_whose_answers_changed(boards, tmp_path, monkeypatch):
    output = str(tmp_path / "out")
    job = mask_job(tmp_path, boards, output)
    spy = Spy(monkeypatch)
    first, second = painted(), painted(shift=6)
    job.submit(0, first, submitted=T0)
    assert job.flush(timeout=30)
    writes, _, _ = spy.take()
    uri0 = f"{output}/pcb-defects/annotations/consolidated-annotation/output/0_{DATE}.png"
    assert writes == [uri0]

    assert job.flush(timeout=30)                  # the manifest again, nothing changed
    assert spy.take() == ([], [], 0)
    job.submit(1, second, submitted=T0)           # another object: only its PNG is made and written
    assert job.flush(timeout=30)
    writes, encoded, _ = spy.take()
    assert writes == [uri0.replace("/0_", "/1_")]
    assert not any(np.array_equal(e, first) for e in encoded)

    later = datetime(2024, 5, 1, 11, 0, 0, tzinfo=timezone.utc)
    job.submit(0, second, submitted=later)        # a changed answer: a new PNG, named by its time
    assert job.flush(timeout=30)
    writes, _, _ = spy.take()
    assert writes == [uri0.replace("10:00:00", "11:00:00")]
    (mask,) = read_masks(read_manifest(job.output_manifest_uri).iloc[[0]], "pcb-defects-ref")
    assert np.array_equal(mask, second)
    job.close()

    reopened = mask_job(tmp_path, boards, output)  # a new session finds the PNGs already written
    assert reopened.flush(timeout=30)
    assert spy.take()[0] == []
    reopened.close()


def test_a_consolidated_mask_is_voted_and_written_once_while_its_answers_stay(boards, tmp_path, monkeypatch):
    output = str(tmp_path / "out")
    jobs = [mask_job(tmp_path, boards, output, worker_id=w, workers_per_object=3) for w in ("w1", "w2", "w3")]
    times = [datetime(2024, 5, 1, 10, 0, n, tzinfo=timezone.utc) for n in range(3)]
    spy = Spy(monkeypatch)
    for n, job in enumerate(jobs):
        job.submit(0, painted(shift=5 if n == 2 else 0), submitted=times[n])
        assert job.flush(timeout=30)              # a shared manifest: each reads the others first
    last = jobs[-1]
    writes, _, votes = spy.take()
    uri = f"{output}/pcb-defects/annotations/consolidated-annotation/output/0_2024-05-01T10:00:02.000000.png"
    assert writes == [uri] and votes == 1         # dated by the latest answer, not by the write
    for _ in range(2):
        last.refresh()
        assert last.flush(timeout=30)
    assert spy.take() == ([], [], 0)
    assert _mask_files(output) == [uri]           # no new file a write

    jobs[0].submit(0, painted(shift=5), submitted=datetime(2024, 5, 1, 10, 5, tzinfo=timezone.utc))
    assert jobs[0].flush(timeout=30)              # a worker changed their mind: now two of three say shift 5
    spy.take()
    last.refresh()
    assert last.flush(timeout=30)
    writes, _, votes = spy.take()
    assert writes == [uri.replace("10:00:02", "10:05:00")] and votes == 1
    (mask,) = read_masks(read_manifest(last.output_manifest_uri).iloc[[0]], "pcb-defects-ref")
    now = vote_masks([painted(shift=5), painted(), painted(shift=5)], radius=2).labels
    before = vote_masks([painted(), painted(), painted(shift=5)], radius=2).labels
    assert np.array_equal(mask, now) and not np.array_equal(now, before)
    for job in jobs:
        job.close()


def test_every_kernel_names_a_consolidated_mask_alike_and_reads_a_mask_decision(boards, tmp_path):
    """Each worker's kernel writes the shared output manifest: its own answer is journaled to the
    microsecond, the others' are read at the files' milliseconds; the PNG's name must not differ."""
    output = str(tmp_path / "out")
    one, two = (mask_job(tmp_path, boards, output, worker_id=w, workers_per_object=2) for w in ("w1", "w2"))
    one.submit(0, painted(), submitted=datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc))
    two.submit(0, painted(shift=2), submitted=datetime(2024, 5, 1, 10, 0, 1, 654321, tzinfo=timezone.utc))
    for job in (one, two, one):
        job.refresh()
        assert job.flush(timeout=30)
    assert _mask_files(output) == [
        f"{output}/pcb-defects/annotations/consolidated-annotation/output/0_2024-05-01T10:00:01.654000.png"]
    assert one.label_pair(0) == two.label_pair(0)

    one.adjudicate(0, painted(shift=1), reviewer="lead")   # one kernel decides; the other's manifest keeps it
    assert one.flush(timeout=30)
    two.refresh()
    assert two.flush(timeout=30)
    (mask,) = read_masks(read_manifest(two.output_manifest_uri).iloc[[0]], "pcb-defects-ref")
    assert np.array_equal(mask, painted(shift=1))
    for job in (one, two):
        job.close()


def test_a_decision_s_mask_is_read_and_written_once(boards, tmp_path, monkeypatch):
    from gtwidgets.tasktypes.segmentation import SemanticSegmentation

    output = str(tmp_path / "out")
    job = mask_job(tmp_path, boards, output, manifest_interval=0)
    job.submit(0, painted(), submitted=T0)
    job.adjudicate(0, painted(shift=3), reviewer="lead")
    assert job.flush(timeout=30)
    decoded, read = [], SemanticSegmentation.from_json
    monkeypatch.setattr(SemanticSegmentation, "from_json", lambda self, data: decoded.append(1) or read(self, data))
    spy = Spy(monkeypatch)
    for _ in range(2):
        assert job.flush(timeout=30)
    assert decoded == [] and spy.take() == ([], [], 0)
    job.adjudicate(0, painted(shift=4), reviewer="lead")    # a new decision: read and written once more
    assert job.flush(timeout=30) and job.flush(timeout=30)
    assert len(decoded) == 1 and len(spy.take()[0]) == 1
    (mask,) = read_masks(read_manifest(job.output_manifest_uri).iloc[[0]], "pcb-defects-ref")
    assert np.array_equal(mask, painted(shift=4))
    job.close()


def test_a_painted_answer_is_decoded_once_and_encoded_once_from_submit_to_the_bucket(boards, tmp_path, monkeypatch):
    """The tool's PNG is read once; the journal, the answer's token, the worker-response file and
    the output PNG share one encoding in the job's colours (a 12 MP mask costs seconds a codec pass)."""
    from gtwidgets import masks as masks_module

    output = str(tmp_path / "out")
    job = mask_job(tmp_path, boards, output)
    tool_png = encode_mask(painted(), color_map(CATS))
    calls = {"encode": 0, "decode": 0}
    encode, decode = masks_module.encode_mask, masks_module.decode_mask

    def counting(name, real):
        def call(*a, **kw):
            calls[name] += 1
            return real(*a, **kw)
        return call
    monkeypatch.setattr(masks_module, "encode_mask", counting("encode", encode))
    monkeypatch.setattr(masks_module, "decode_mask", counting("decode", decode))
    job.submit(0, tool_png, submitted=T0)
    assert job.flush(timeout=30)
    assert calls == {"encode": 1, "decode": 1}
    monkeypatch.undo()
    png = f"{output}/pcb-defects/annotations/consolidated-annotation/output/0_{DATE}.png"
    assert np.array_equal(masks_module.read_mask(png, color_map(CATS)), painted())
    job.close()
    reopened = mask_job(tmp_path, boards, output)   # from the journal alone: the same pixels
    assert np.array_equal(reopened.answer_value("0").labels, painted())
    reopened.close()
