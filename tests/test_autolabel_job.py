"""LabelingJob(auto_label=...): Ground Truth's automated data labeling through the job's public verbs.

A simulated human (the answer key) labels what ``job.next_unlabeled()`` hands out and, like Ground
Truth's workers between batches, waits while a round trains. Most tests use known data
(``autolabel_data.known``: the model's confidence and prediction are features, so the threshold
and the machine labels are known); one runs the defaults on generated traffic-sign images.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from PIL import Image

from autolabel_data import CATS, KnownModel, RefusingModel, known
from gtwidgets import AutoLabel, LabelingJob, storage
from gtwidgets.autolabel import choose_threshold, wilson_interval
from gtwidgets.errors import JobError
from gtwidgets.tasks import CREATION_DATE_FORMAT

pytestmark = pytest.mark.timeout(900)  # a loaded machine; the module takes about 30 s of CPU
HERE = Path(__file__).parent
BATCH = 300  # 60 or so held out: enough above the threshold for its 30 (the engine's min_support)


def open_job(tmp_path, frame, *, name="pets", output=None, **auto) -> LabelingJob:
    return LabelingJob(name, input=frame, categories=CATS, output=output or str(tmp_path / "out"),
                       worker_id="ann", journal_dir=tmp_path / "home",
                       auto_label=AutoLabel(**auto))


def label(job, key, *, limit=None, answers=None) -> list[str]:
    """The simulated human: answer what the job hands out (from ``answers`` first, else the key), wait out rounds."""
    done = []
    while (limit is None or len(done) < limit) and (oid := job.next_unlabeled()) is not None:
        job.submit(oid, (answers or {}).get(oid, key[oid]))
        done.append(oid)
        assert job.auto_labeling.wait(600), "a round trained for ten minutes"
    return done


def lines(job) -> list[dict]:
    return [orjson.loads(line) for line in job.output_lines()]


def stored_lines(job) -> list[dict]:
    assert job.flush(60), job.sync_status()
    return [orjson.loads(line) for line in storage.read_bytes(job.output_manifest_uri).splitlines()]


def journal_rounds(tmp_path) -> list[dict]:
    (path,) = (tmp_path / "home").glob("journals/*/*.jsonl")
    return [r for r in map(orjson.loads, path.read_bytes().splitlines()) if r.get("op") == "machine_labels"]


def check_metadata(meta: dict, *, human: bool, gt_type: str = "groundtruth/image-classification") -> None:
    """A classification label's metadata as Ground Truth writes it (ground-truth-format.md 2.1, 6.3)."""
    assert list(meta) == ["class-name", "job-name", "confidence", "type", "human-annotated", "creation-date"]
    assert meta["type"] == gt_type and meta["job-name"] == "labeling-job/pets"
    assert meta["human-annotated"] == ("yes" if human else "no")
    pd.to_datetime(meta["creation-date"], format=CREATION_DATE_FORMAT)
    if human:
        assert meta["confidence"] == 0


# ---------------------------------------------------------------------------- refusals

def test_refuses_what_ground_truth_does_not_label_automatically(tmp_path):
    frame, x, _ = known()
    with pytest.raises(JobError, match="1,000 objects.*min_objects"):
        open_job(tmp_path, frame[:999], features=x[:999])
    with pytest.raises(JobError, match="single-label image or text classification.*drop auto_label"):
        LabelingJob("pets", input=frame, categories=CATS, output=str(tmp_path / "o"), journal_dir=tmp_path / "h",
                    multi_label=True, auto_label=True)
    with pytest.raises(JobError, match="bounding-box.*drop auto_label|object-detection.*drop auto_label"):
        LabelingJob("pets", input=frame, categories=CATS, output=str(tmp_path / "o"), journal_dir=tmp_path / "h",
                    task="bounding-box", auto_label=True)
    with pytest.raises(JobError, match="workers_per_object=1"):
        LabelingJob("pets", input=frame, categories=CATS, output=str(tmp_path / "o"), journal_dir=tmp_path / "h",
                    workers_per_object=3, auto_label=True)
    with pytest.raises(JobError, match="1,199 rows for 1,200 objects"):
        open_job(tmp_path, frame, features=x[:-1])
    with pytest.raises(JobError, match="max_human_labels=0"):
        AutoLabel(max_human_labels=0)
    with pytest.raises(JobError, match="pass True, or gtwidgets.AutoLabel"):
        LabelingJob("pets", input=frame, categories=CATS, output=str(tmp_path / "o"), journal_dir=tmp_path / "h",
                    auto_label={"target": 0.9})
    # a refused job left its journal closed: the same job opens
    open_job(tmp_path, frame, features=x, model=KnownModel()).close()


# ---------------------------------------------------------------------------- the loop on known data

def test_threshold_is_chosen_on_held_out_human_labels_and_machine_labels_what_clears_it(tmp_path):
    frame, x, key = known()
    job = open_job(tmp_path, frame, features=x, model=KnownModel(), batch_size=BATCH, rule="estimate")
    assert job.label_counters == {"TotalLabeled": 0, "HumanLabeled": 0, "MachineLabeled": 0,
                                  "FailedNonRetryableError": 0, "Unlabeled": 1200}
    first = label(job, key, limit=BATCH)
    assert first == job.auto_labeling.queue[:BATCH]            # the seeded random first batch, in order
    assert sorted(first, key=int) != first                     # not the manifest's order
    (record,) = journal_rounds(tmp_path)                       # one journal record for the round

    conf, predicted = x[:, 0], x[:, 1].astype(int)
    truth = np.array([CATS.index(key[str(i)]) for i in range(len(x))])
    held = np.array([int(o) for o in first if job.auto_labeling.engine.is_validation(o)])
    want = choose_threshold(conf[held], predicted[held] == truth[held], target=0.95, rule="estimate")
    assert want.labels_anything and 30 <= want.support < len(held)
    assert record["threshold"]["value"] == want.value and record["threshold"]["support"] == want.support
    kept = held[conf[held] >= want.value]
    assert (predicted[kept] == truth[kept]).mean() >= 0.95   # the rule, by hand
    assert job.auto_labeling.accuracy == {"round": 1, "accuracy": want.accuracy, "low": want.interval[0],
                                          "high": want.interval[1], "support": want.support,
                                          "correct": want.correct, "validation": len(held), "target": 0.95}
    assert job.auto_labeling.accuracy["low"] == pytest.approx(wilson_interval(want.correct, want.support)[0])

    # Every unlabeled object at or above the threshold is machine-labeled with the model's class and confidence.
    unlabeled = np.setdiff1d(np.arange(len(x)), [int(o) for o in first])
    expect = {str(i) for i in unlabeled if conf[i] >= want.value}
    table = job.auto_labeling.machine_labels
    assert set(table["object_id"]) == expect
    assert list(table["label"]) == [CATS[predicted[int(o)]] for o in table["object_id"]]
    assert np.allclose(table["confidence"], conf[table["object_id"].astype(int)], atol=1e-6)
    assert record["ids"] == sorted(record["ids"], key=lambda o: -conf[int(o)])
    assert job.label_counters == {"TotalLabeled": BATCH + len(expect), "HumanLabeled": BATCH,
                                  "MachineLabeled": len(expect), "FailedNonRetryableError": 0,
                                  "Unlabeled": 1200 - BATCH - len(expect)}

    # The output: human lines as before, machine lines in the same shape with "human-annotated": "no".
    out = lines(job)
    assert len(out) == 1200
    for i, line in enumerate(out):
        oid = str(i)
        if oid in first:
            check_metadata(line["pets-metadata"], human=True)
            assert line["pets-metadata"]["class-name"] == key[oid] == CATS[line["pets"]]
        elif oid in expect:
            check_metadata(line["pets-metadata"], human=False)
            assert line["pets-metadata"]["class-name"] == CATS[predicted[i]] == CATS[line["pets"]]
            assert line["pets-metadata"]["confidence"] == pytest.approx(round(conf[i], 2))
        else:
            assert line == {"source-ref": f"s3://pets/{i}.jpg"}
    # The true accuracy of the machine labels, against what the job claims (its interval, no more).
    true = np.mean([key[o] == lbl for o, lbl in zip(table["object_id"], table["label"])])
    assert true >= job.auto_labeling.accuracy["low"] - 0.05

    # People get the least confident of the rest next (with random objects to hold out, keeping
    # the validation share), and never a machine-labeled object.
    nxt = job.auto_labeling.queue[BATCH:]
    assert len(nxt) == BATCH and not set(nxt) & expect
    engine = job.auto_labeling.engine
    hardest = [o for o in nxt if not engine.is_validation(o)]
    rest = {o for o in set(map(str, unlabeled)) - expect - set(nxt) if not engine.is_validation(o)}
    assert hardest and max(conf[int(o)] for o in hardest) <= min(conf[int(o)] for o in rest)
    assert job.next_unlabeled() == nxt[0]
    job.close()


@pytest.mark.parametrize("stop", ["max_human_labels", "max_percentage"])
def test_stopping_conditions(tmp_path, stop):
    frame, x, key = known()
    conf = x[:, 0]
    if stop == "max_human_labels":
        job = open_job(tmp_path, frame, features=x, model=KnownModel(), batch_size=BATCH, rule="estimate",
                       max_human_labels=450)
        label(job, key)
        assert job.auto_labeling.stop == "MaxHumanLabeledObjectCount reached"
        assert job.label_counters["HumanLabeled"] == 450   # a first batch of 300, then 150 of the next
        assert job.label_counters["MachineLabeled"] > 0 and job.label_counters["Unlabeled"] > 0
    else:
        job = open_job(tmp_path, frame, features=x, model=KnownModel(), batch_size=BATCH, rule="estimate",
                       max_percentage=50)
        label(job, key)
        assert job.auto_labeling.stop == "MaxPercentageOfInputDatasetLabeled reached"
        counters = job.label_counters
        assert counters["TotalLabeled"] == 600 and counters["HumanLabeled"] == BATCH   # 50% of 1,200
        # the machine kept the most confident of those above the threshold
        threshold = job.auto_labeling.rounds["threshold"].iloc[0]
        machine = set(job.auto_labeling.machine_labels["object_id"])
        above = {str(i) for i in range(len(x)) if conf[i] >= threshold} - set(job.labels["object_id"])
        assert machine < above
        assert min(conf[int(o)] for o in machine) >= max(conf[int(o)] for o in above - machine)
    assert job.next_unlabeled() is None and job.progress()["done"]
    assert job.progress()["auto_label"]["stop"] == job.auto_labeling.stop
    job.close()


def test_a_person_overrides_a_machine_label_and_audits_feed_the_next_round(tmp_path):
    frame, x, key = known()
    job = open_job(tmp_path, frame, features=x, model=KnownModel(), batch_size=BATCH, rule="estimate")
    label(job, key, limit=BATCH)
    table = job.auto_labeling.machine_labels.set_index("object_id")
    oid = table.index[0]
    other = next(c for c in CATS if c != table.at[oid, "label"])
    before = job.label_counters
    job.submit(oid, other)
    meta = job.label_pair(oid)["pets-metadata"]
    assert (meta["class-name"], meta["human-annotated"], meta["confidence"]) == (other, "yes", 0)
    assert job.label_counters["HumanLabeled"] == before["HumanLabeled"] + 1
    assert job.label_counters["MachineLabeled"] == before["MachineLabeled"] - 1
    assert job.auto_labeling.machine_labels.set_index("object_id").at[oid, "human_label"] == other
    assert job.undo() == oid                                   # undone: the machine's label stands again
    assert job.label_pair(oid)["pets-metadata"]["human-annotated"] == "no"
    assert job.label_counters == before

    audit = job.auto_labeling.audit(5, seed=1)
    assert len(audit) == 5 and set(audit) <= set(table.index)
    disagree = next(c for c in CATS if c != table.at[audit[0], "label"])
    checked = label(job, key, limit=5, answers={audit[0]: disagree})
    assert checked == audit                                    # audits come first
    summary = job.progress()["auto_label"]
    assert summary["audited"] == 5 and summary["agreed"] == sum(key[o] == table.at[o, "label"] for o in audit[1:])
    assert summary["audit_pending"] == 0 and summary["machine"] == before["MachineLabeled"] - 5
    assert job.auto_labeling.train()
    assert job.auto_labeling.wait(60)
    assert job.auto_labeling.rounds["human_labeled"].iloc[-1] == BATCH + 5   # the audits are human labels now
    job.close()


def test_a_text_job_labels_with_tf_idf_by_default(tmp_path):
    rng = np.random.default_rng(0)
    words = {"cat": "purr whiskers meow litter", "dog": "bark leash fetch kennel", "bird": "wing feather nest chirp"}
    truth = rng.integers(0, 3, 1000)
    texts = [" ".join(rng.choice((words[CATS[t]] + " the a my happy small big old").split(), 6)) for t in truth]
    frame = pd.DataFrame({"source": texts})
    key = {str(i): CATS[t] for i, t in enumerate(truth)}
    job = open_job(tmp_path, frame, batch_size=300, rule="estimate")
    label(job, key, limit=300)
    machine = [line for line in lines(job) if line.get("pets-metadata", {}).get("human-annotated") == "no"]
    assert machine
    for line in machine:
        check_metadata(line["pets-metadata"], human=False, gt_type="groundtruth/text-classification")
    table = job.auto_labeling.machine_labels
    assert np.mean([key[o] == lbl for o, lbl in zip(table["object_id"], table["label"])]) >= 0.9
    job.close()


# ---------------------------------------------------------------------------- the defaults on images

@pytest.fixture(scope="module")
def signs(tmp_path_factory):
    """1,000 traffic-sign photos and their answer key: 250 generated scenes, each seen four times (shifted,
    lit and noised differently), as 88 px PNGs. Drawing 1,000 scenes would take this module past its budget."""
    from gtwidgets.datasets.traffic_signs import TRAFFIC_SIGN_CATEGORIES, draw_traffic_sign

    root = tmp_path_factory.mktemp("signs")
    rng = np.random.default_rng(5)
    classes = [TRAFFIC_SIGN_CATEGORIES[k] for k in rng.integers(0, 10, 250)]
    scenes = [np.asarray(draw_traffic_sign(c, np.random.default_rng([5, i]), (96, 96)), np.float32)
              for i, c in enumerate(classes)]
    for i in range(1000):
        r = np.random.default_rng([6, i])
        dx, dy = r.integers(0, 9, 2)
        pixels = scenes[i % 250][dy:dy + 88, dx:dx + 88] * r.uniform(0.8, 1.2) + r.normal(0, 6, (88, 88, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(root / f"{i:04d}.png")
    frame = pd.DataFrame({"source-ref": [str(root / f"{i:04d}.png") for i in range(1000)]})
    return frame, {str(i): classes[i % 250] for i in range(1000)}, TRAFFIC_SIGN_CATEGORIES


def test_traffic_signs_with_the_defaults_end_to_end(tmp_path, signs):
    frame, key, categories = signs
    job = LabelingJob("pets", input=frame, categories=categories, output=str(tmp_path / "out"), worker_id="ann",
                      journal_dir=tmp_path / "home", auto_label=True)
    human = label(job, key)
    auto = job.auto_labeling
    assert auto.stop == "all objects labeled" and job.next_unlabeled() is None and auto.error is None
    counters = job.label_counters
    assert counters["HumanLabeled"] == len(human) and counters["Unlabeled"] == 0
    assert counters["HumanLabeled"] + counters["MachineLabeled"] == 1000
    assert list((tmp_path / "home").glob("journals/*/features/*.npz"))   # features cached beside the journal

    out = stored_lines(job)
    kinds = {"yes": 0, "no": 0}
    for i, line in enumerate(out):
        meta = line["pets-metadata"]
        check_metadata(meta, human=meta["human-annotated"] == "yes")
        assert meta["class-name"] == categories[line["pets"]]
        kinds[meta["human-annotated"]] += 1
        if meta["human-annotated"] == "yes":
            assert meta["class-name"] == key[str(i)]
    assert kinds == {"yes": counters["HumanLabeled"], "no": counters["MachineLabeled"]}

    # Honest numbers: the machine labels' true accuracy, and the claim the job makes about it.
    table = auto.machine_labels
    if counters["MachineLabeled"]:
        true = np.mean([key[o] == lbl for o, lbl in zip(table["object_id"], table["label"])])
        claim = auto.accuracy
        assert claim["low"] >= 0.95                      # the default rule: the interval's low end clears 95%
        assert true >= 0.9, (true, claim)
    rounds = auto.rounds
    assert list(rounds["round"]) == list(range(1, len(rounds) + 1))
    assert rounds["machine_labeled"].sum() == counters["MachineLabeled"]
    job.close()


# ---------------------------------------------------------------------------- S3

def test_machine_and_human_lines_reach_the_output_manifest_on_s3(tmp_path, s3):
    frame, x, key = known()
    job = open_job(tmp_path, frame, output=f"{s3}/jobs", features=x, model=KnownModel(), batch_size=BATCH,
                   rule="estimate")
    human = set(label(job, key, limit=BATCH))
    out = stored_lines(job)
    assert job.output_manifest_uri.startswith("s3://")
    machine = set(job.auto_labeling.machine_labels["object_id"])
    assert {str(i) for i, line in enumerate(out) if line.get("pets-metadata", {}).get("human-annotated") == "no"} \
        == machine
    assert {str(i) for i, line in enumerate(out) if line.get("pets-metadata", {}).get("human-annotated") == "yes"} \
        == human
    job.close()


# ---------------------------------------------------------------------------- a killed kernel

CHILD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from autolabel_data import CATS, HangingModel, known
    from gtwidgets import AutoLabel, LabelingJob
    tmp = Path(sys.argv[1])
    frame, x, key = known()
    job = LabelingJob("pets", input=frame, categories=CATS, output=str(tmp / "out"), worker_id="ann",
                      journal_dir=tmp / "home", manifest_interval=0,
                      auto_label=AutoLabel(features=x, model=HangingModel(arm=str(tmp / "arm")), batch_size=300,
                                           rule="estimate"))
    for _ in range(300):
        oid = job.next_unlabeled()
        job.submit(oid, key[oid])
        job.auto_labeling.wait()
    table = job.auto_labeling.machine_labels
    (tmp / "machine.json").write_text(json.dumps(dict(zip(table["object_id"], table["label"]))))
    (tmp / "arm").touch()
    assert job.auto_labeling.train()               # this round trains for ten minutes
    after = None
    while True:                                    # labeling goes on while it trains
        oid = job.next_unlabeled(after)
        job.submit(oid, key[oid])
        print(oid, flush=True)
        after = oid
""")


def test_a_kernel_killed_mid_round_loses_no_human_label_and_keeps_its_machine_labels(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    printed = []
    try:
        while len(printed) < 40 or not (tmp_path / "arm.training").exists():
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"the child ended before it was killed: {child.stderr.read()[-2000:]}")
            printed.append(line.strip())
        child.send_signal(signal.SIGKILL)   # mid-round, right after a human label
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    machine_before = orjson.loads((tmp_path / "machine.json").read_bytes())
    assert machine_before

    frame, x, key = known()
    again = open_job(tmp_path, frame, features=x, model=RefusingModel(), batch_size=BATCH, rule="estimate")
    answered = set(again.labels["object_id"])
    assert set(printed) <= answered and len(answered) >= BATCH + len(printed)
    assert all(again.answer(o) == [key[o]] for o in answered)
    table = again.auto_labeling.machine_labels
    assert dict(zip(table["object_id"], table["label"])) == machine_before
    assert len(journal_rounds(tmp_path)) == 1 and not again.auto_labeling.training
    assert not set(printed) & set(machine_before)             # people were never handed a machine-labeled object
    lines_after = lines(again)
    assert sum(line.get("pets-metadata", {}).get("human-annotated") == "no" for line in lines_after) \
        == len(machine_before)
    again.close()


# ---------------------------------------------------------------------------- the widget's kernel side

def until(check, timeout=60.0):
    """Traits reach the browser batched (a key never waits for them): wait until ``check()`` holds."""
    import time
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            pytest.fail("the widget's traits never got there")
        time.sleep(0.05)


def test_the_widget_shows_the_humans_queue_the_models_labels_and_an_audit(tmp_path):
    from protocol_check import check_reply

    from gtwidgets import AuditMode, LabelingWidget

    frame, x, key = known()
    job = open_job(tmp_path, frame, features=x, model=KnownModel(), batch_size=BATCH, rule="estimate")
    widget = LabelingWidget(job)
    sent = []
    widget.send = lambda content, buffers=None: sent.append(content)
    assert widget.total == BATCH and widget.queue == job.auto_labeling.queue
    for oid in widget.queue:   # the browser's submits, as the keys send them
        widget.handle({"type": "batch", "position": 0, "messages": [
            {"type": "submit", "id": oid, "answer": key[oid], "spent": 1.0}]})
    assert job.auto_labeling.wait(600)
    until(lambda: widget.total == 2 * BATCH and widget.progress.get("auto_label", {}).get("rounds") == 1)
    summary = widget.progress["auto_label"]
    assert summary["human"] == BATCH and summary["machine"] == job.label_counters["MachineLabeled"] > 0
    assert summary["accuracy"] == job.auto_labeling.accuracy and not summary["training"]
    widget.handle({"type": "next_unlabeled", "after": widget.queue[BATCH - 1], "seq": 1})
    until(lambda: any(m["type"] == "goto" for m in sent))
    assert [m for m in sent if m["type"] == "goto"][-1]["pos"] == BATCH   # the round's choice comes next

    audit = LabelingWidget(job, mode=AuditMode(3, seed=0))
    audit.send = lambda content, buffers=None: sent.append(content)
    assert audit.total == 3 and audit.mode_options == {"audit": True}
    audit.handle({"type": "cards", "positions": [0, 1, 2]})
    until(lambda: sum(m["type"] == "card" for m in sent) == 3)
    cards = [m for m in sent if m["type"] == "card"]
    for card in cards:
        check_reply(card)
        machine = job.auto_labeling.machine_info(card["id"])
        assert card["machine"] == machine and machine["audit"]
    first = cards[0]
    disagree = next(c for c in CATS if c != first["machine"]["label"])
    audit.handle({"type": "submit", "id": first["id"], "answer": disagree, "spent": 1.0})
    until(lambda: audit.progress.get("audit", {}).get("checked") == 1)
    assert audit.progress["audit"] == {"checked": 1, "agreed": 0, "total": 3}
    assert job.label_pair(first["id"])["pets-metadata"]["human-annotated"] == "yes"
    plain = LabelingJob("plain", input=frame, categories=CATS, output=str(tmp_path / "o2"), worker_id="ann",
                        journal_dir=tmp_path / "home")
    with pytest.raises(JobError, match="auto_label=True"):
        plain.audit(3)
    plain.close()
    job.close()
