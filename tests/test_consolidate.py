"""Consolidation: hand-made cases, simulated workers with known truth, and the published EM."""
from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from gtwidgets import cli, lambdas, responses
from gtwidgets.consolidate import consolidate, dawid_skene, infer_batches, majority_vote
from gtwidgets.errors import JobError, ManifestError
from shared_fixtures import FIXTURES

CATS = ["cat", "dog", "bird"]
T0 = pd.Timestamp("2024-03-01T10:00:00Z")


def table(objects: dict[str, list[str]], *, minutes_apart: float = 0) -> pd.DataFrame:
    """{object_id: [answer of w0, answer of w1, ...]} -> tidy answers (None = no answer)."""
    rows = []
    for n, (oid, given) in enumerate(objects.items()):
        for w, a in enumerate(given):
            if a is not None:
                rows.append({"object_id": oid, "worker_id": f"w{w}", "answer": a,
                             "submission_time": T0 + pd.Timedelta(minutes=n * minutes_apart, seconds=w)})
    return pd.DataFrame(rows)


def simulate(n: int, accuracies: list[float], k: int, *, seed: int, missing: float = 0.0):
    """Workers who answer the truth with their accuracy, else a uniformly wrong class."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    labels = np.empty((n, len(accuracies)), np.int64)
    for j, acc in enumerate(accuracies):
        wrong = (truth + rng.integers(1, k, n)) % k
        labels[:, j] = np.where(rng.random(n) < acc, truth, wrong)
    labels[rng.random(labels.shape) < missing] = -1
    labels[:, 0] = np.where(labels[:, 0] < 0, truth, labels[:, 0])   # every object keeps an answer
    return truth, labels


def reference_mds(labels: np.ndarray, k: int, max_epochs: int = 20) -> np.ndarray:
    """Ground Truth's published modified Dawid-Skene, written as plainly as its description reads.

    Loops over items and workers; the log-likelihood is taken from the un-normalised posteriors.
    """
    items = {i: {j: int(l) for j, l in enumerate(row) if l >= 0} for i, row in enumerate(labels)}
    workers = sorted({j for ans in items.values() for j in ans})

    def prior_matrix(a):
        m = np.full((k, k), (1 - a) / (k - 1))
        np.fill_diagonal(m, a)
        return m

    p = {i: np.ones(k) / k for i in items}
    c = {j: prior_matrix(0.7) for j in workers}
    crowd, prev = 0.7, None
    for _ in range(max_epochs):
        prior = sum(p.values())
        prior = prior / prior.sum()
        raw = {}
        for i, ans in items.items():
            q = prior.copy()
            for j, l in ans.items():
                q = q * c[j][:, l]
            raw[i] = q
        p = {i: q / q.sum() for i, q in raw.items()}
        counts = {j: np.zeros((k, k)) for j in workers}
        for i, ans in items.items():
            for j, l in ans.items():
                counts[j][:, l] += p[i]
        accs = {}
        for j in workers:
            n = counts[j].sum()
            accs[j] = np.trace(counts[j]) / n
            m = counts[j] + prior_matrix(accs[j]) * n + prior_matrix(crowd) * n / 2
            c[j] = m / m.sum(1, keepdims=True)
        ll = sum(np.log(q.sum()) for q in raw.values())
        if prev is not None and (ll - prev) / prev < 1e-8:
            break
        prev = ll
        crowd = sum(accs.values()) / len(accs)
    return np.array([p[i] for i in items])


# ---------------------------------------------------------------------------- the EM itself

def test_vectorised_em_matches_the_published_algorithm():
    truth, labels = simulate(300, [0.9, 0.6, 0.4, 0.75], 4, seed=1, missing=0.3)
    ours = dawid_skene(labels, 4)
    assert np.allclose(ours.posteriors, reference_mds(labels, 4), atol=1e-10)
    assert ours.epochs.tolist() == [2]    # the published stopping test ends after the second epoch


def test_each_batch_is_a_fresh_em():
    truth, labels = simulate(200, [0.8, 0.5, 0.7], 3, seed=2)
    batches = np.repeat([0, 1, 2, 3], 50)
    together = dawid_skene(labels, 3, batches=batches)
    for b in range(4):
        alone = reference_mds(labels[batches == b], 3)
        assert np.allclose(together.posteriors[batches == b], alone, atol=1e-10)
    assert not np.allclose(dawid_skene(labels, 3).posteriors, together.posteriors)


def test_em_recovers_truth_better_than_majority_when_some_workers_are_poor():
    truth, labels = simulate(3000, [0.9, 0.85, 0.35, 0.3, 0.3], 4, seed=3, missing=0.1)
    em = (dawid_skene(labels, 4).labels == truth).mean()
    mv = (majority_vote(labels, 4).labels == truth).mean()
    assert em > mv + 0.05, (em, mv)
    converged = dawid_skene(labels, 4, stop="converged", max_epochs=100)
    assert converged.epochs[0] > 2
    assert (converged.labels == truth).mean() >= em - 0.01


def test_em_sees_through_one_adversarial_worker():
    rng = np.random.default_rng(4)
    truth, labels = simulate(2000, [0.8, 0.8, 0.8], 3, seed=4)
    adversary = (truth + 1) % 3                       # always the same wrong class
    labels = np.column_stack([labels, adversary, adversary])
    del rng
    em = dawid_skene(labels, 3, stop="converged", max_epochs=50)
    mv = majority_vote(labels, 3)
    assert (em.labels == truth).mean() > 0.9
    assert (em.labels == truth).mean() > (mv.labels == truth).mean()
    # The adversaries' estimated confusion puts their mass off the diagonal.
    assert np.trace(em.worker_confusion[3]) / 3 < 0.2


def test_light_smoothing_learns_which_classes_a_worker_confuses():
    # Each worker's mistakes favour a few classes. The published smoothing keeps every worker's
    # errors symmetric; a light one lets the EM learn them, as classic Dawid-Skene does.
    rng = np.random.default_rng(6)
    n, k = 4000, 6
    truth = rng.integers(0, k, n)
    columns = []
    for acc in (0.8, 0.6, 0.5, 0.4, 0.3):
        rows = np.array([np.insert(rng.dirichlet(np.full(k - 1, 0.3)) * (1 - acc), t, acc) for t in range(k)])
        cum = np.cumsum(rows[truth], axis=1)
        columns.append(np.minimum((rng.random(n)[:, None] > cum).sum(1), k - 1))
    labels = np.column_stack(columns)
    published = (dawid_skene(labels, k).labels == truth).mean()
    light = (dawid_skene(labels, k, smoothing=1e-3, stop="converged", max_epochs=100).labels == truth).mean()
    assert light > published + 0.02, (light, published)


def test_confidence_is_capped_rounded_and_zero_for_one_worker():
    truth, labels = simulate(500, [0.95, 0.95, 0.95, 0.95, 0.95], 3, seed=5)
    labels[:10, 1:] = -1
    res = dawid_skene(labels, 3)
    assert res.confidence.max() == 0.95
    assert np.all(res.confidence[:10] == 0)
    assert np.array_equal(res.labels[:10], labels[:10, 0])     # a lone worker's answer stands
    assert np.allclose(res.confidence, np.round(res.confidence, 2))


def test_majority_vote_breaks_ties_by_category_order_not_answer_order():
    labels = np.array([[2, 1], [1, 2], [0, 2], [2, 2], [2, -1]])
    res = majority_vote(labels, 3)
    assert res.labels.tolist() == [1, 1, 0, 2, 2]
    assert res.confidence.tolist() == [0.5, 0.5, 0.5, 1.0, 0.0]


# ---------------------------------------------------------------------------- the table API

def test_hand_made_cases_single_label():
    answers = table({"0": ["dog", "dog", "dog"], "1": ["dog", "dog", "cat"], "2": ["bird", "cat", None],
                     "3": ["bird", None, None]})
    mv = consolidate(answers, CATS, method="majority", label_attribute="pets", batches="none")
    assert mv["label"].tolist() == ["dog", "dog", "cat", "bird"]
    assert mv["confidence"].tolist() == [1.0, 0.67, 0.5, 0.0]
    assert mv["n_workers"].tolist() == [3, 3, 2, 1]
    em = consolidate(answers, CATS, label_attribute="pets", batches="none")
    assert em["label"][:2].tolist() == ["dog", "dog"] and em["label"][3] == "bird"
    assert em["confidence"][0] == 0.95 and 0.5 < em["confidence"][1] <= 0.95 and em["confidence"][3] == 0
    pair = em["pair"][1]
    assert pair["pets"] == 1
    meta = pair["pets-metadata"]
    assert meta["class-name"] == "dog" and meta["confidence"] == em["confidence"][1]
    assert meta["job-name"] == "labeling-job/pets" and meta["type"] == "groundtruth/image-classification"
    assert meta["human-annotated"] == "yes"


def test_the_order_of_answers_changes_nothing():
    """The EM sums answers per object and per worker cell; shuffled rows must give the same result."""
    truth, labels = simulate(300, [0.9, 0.6, 0.4], 3, seed=5, missing=0.3)
    names = np.array(CATS[:3], dtype=object)
    obj, wrk = np.nonzero(labels >= 0)
    answers = pd.DataFrame({"object_id": obj.astype(str), "worker_id": [f"w{w}" for w in wrk],
                            "answer": names[labels[obj, wrk]]})
    shuffled = answers.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert not shuffled["object_id"].is_monotonic_increasing
    kw = dict(label_attribute="x", batches="none", stop="converged", smoothing=1e-4, max_epochs=50)
    a, b = consolidate(answers, CATS[:3], **kw), consolidate(shuffled, CATS[:3], **kw)
    assert a["label"].tolist() == b["label"].tolist() and a["confidence"].tolist() == b["confidence"].tolist()
    assert (a.set_index("object_id")["label"].reindex([str(i) for i in range(300)]).to_numpy()
            == names[truth]).mean() > 0.8


def test_output_is_in_line_number_order():
    answers = table({"10": ["cat"], "2": ["dog"], "1": ["bird"]})
    assert consolidate(answers, CATS, label_attribute="x")["object_id"].tolist() == ["1", "2", "10"]


def test_multi_label_lists_every_label_anyone_chose():
    answers = table({"0": [("cat", "dog"), ("cat",), ("cat", "bird")], "1": [("dog",), None, None]})
    res = consolidate(answers, CATS, label_attribute="tags", batches="none")
    assert res["label"][0][0] == "cat" and set(res["label"][0]) == {"cat", "dog", "bird"}
    conf = res["confidences"][0]
    assert conf["cat"] > conf["dog"] and max(conf.values()) <= 0.95
    pair = res["pair"][0]
    assert pair["tags"][0] == 0 and sorted(pair["tags"]) == [0, 1, 2]
    meta = pair["tags-metadata"]
    assert meta["class-map"] == {"0": "cat", "1": "dog", "2": "bird"}
    assert set(meta["confidence-map"]) == set(meta["class-map"])
    assert meta["type"] == "groundtruth/image-classification-multilabel"
    assert res["confidences"][1] == {"dog": 0} and res["pair"][1]["tags"] == [1]
    mv = consolidate(answers, CATS, method="majority", label_attribute="tags")
    assert mv["label"].tolist() == [["cat"], ["dog"]]


def test_runs_close_at_50_objects_or_a_minute_after_their_first():
    def completed(seconds, **extra):
        return pd.DataFrame({"object_id": [str(i) for i in range(len(seconds))], "worker_id": "w", "answer": "cat",
                             "submission_time": [T0 + pd.Timedelta(seconds=s) for s in seconds], **extra})

    backlog = infer_batches(completed([i * 0.5 for i in range(273)]))   # answers completing together
    assert backlog.value_counts(sort=False).tolist() == [50, 50, 50, 50, 50, 23]
    steady = infer_batches(completed([i * 20 for i in range(10)]))       # never a pause, a run each minute
    assert steady.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    quiet = infer_batches(completed([0, 5, 300, 301, 900]))
    assert quiet.tolist() == [0, 0, 1, 1, 2]
    iterations = infer_batches(completed([0, 1, 2, 3], iteration=[1, 1, 2, 2]))
    assert iterations.tolist() == [0, 0, 1, 1]
    untimed = completed([0, 1, 2]).assign(submission_time=[T0, T0, None])
    assert infer_batches(untimed).tolist() == [0, 0, 1]
    assert infer_batches(completed([i * 0.5 for i in range(9)]), max_run=4).tolist() == [0] * 4 + [1] * 4 + [2]


RUN_FIXTURES = ["image-classification__banana-ripeness", "image-classification__vehicle-demo-2023",
                "text-classification__tweets-2019"]


def _service_runs(path) -> pd.DataFrame:
    """Each labeled line's run, as the service's creation-date values show them (microseconds apart in a run)."""
    rows = []
    for n, raw in enumerate(path.read_bytes().splitlines()):
        for key, meta in orjson.loads(raw).items():
            if key.endswith("-metadata") and isinstance(meta, dict) and "class-name" in meta:
                rows.append((str(n), pd.Timestamp(meta["creation-date"], tz="UTC")))
    runs = pd.DataFrame(rows, columns=["object_id", "consolidated"]).sort_values("consolidated")
    runs["run"] = (runs["consolidated"].diff() > pd.Timedelta(seconds=1)).cumsum()
    return runs.set_index("object_id")


def _answers_timed_by(runs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Three of six workers per object, each object completed in the minute or so before its real run."""
    rng = np.random.default_rng(seed)
    starts = runs.groupby("run")["consolidated"].first()
    period = starts.diff().median() if len(starts) > 1 else pd.Timedelta(seconds=70)
    accuracy = rng.uniform(0.55, 0.95, 6)
    rows = []
    for oid, (when, run) in runs[["consolidated", "run"]].iterrows():
        since = max(starts.get(run - 1, when - period), when - period)
        done = since + (when - since) * rng.uniform(0.05, 0.95)
        truth = rng.integers(3)
        for last, worker in zip([False, False, True], rng.choice(6, 3, replace=False)):
            answer = truth if rng.random() < accuracy[worker] else (truth + rng.integers(1, 3)) % 3
            at = done if last else done - pd.Timedelta(seconds=float(rng.uniform(0, 30)))
            rows.append({"object_id": oid, "worker_id": f"w{worker}", "answer": CATS[answer], "submission_time": at})
    return pd.DataFrame(rows)


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="needs the real Ground Truth files in ../shared/fixtures")
def test_default_runs_reproduce_more_of_the_service_than_one_batch():
    """Real run times from the multi-worker fixtures' creation dates; the answers are simulated,
    since no shared fixture holds its job's worker responses. "The service's" label and
    confidence of an object is the EM over its real run; count how many each batching gets."""
    kept = {"default": 0, "one batch": 0, "pause rule": 0}
    for name in RUN_FIXTURES:
        suffix = ".extracted" if "tweets" in name else ""
        runs = _service_runs(FIXTURES / "manifests" / f"{name}__output{suffix}.manifest")
        assert runs["run"].nunique() > 1 and runs.groupby("run").size().max() <= 50
        for seed in range(5):
            answers = _answers_timed_by(runs, seed)
            service = consolidate(answers, CATS, label_attribute="x", batches=runs["run"])
            expected = dict(zip(service["object_id"], zip(service["label"], service["confidence"])))
            done = answers.groupby("object_id")["submission_time"].max().sort_values()
            pause = (done.diff() > pd.Timedelta(seconds=60)).cumsum()   # a new run only after a minute's pause
            for rule, batches in (("default", "auto"), ("one batch", "none"), ("pause rule", pause)):
                got = consolidate(answers, CATS, label_attribute="x", batches=batches)
                kept[rule] += sum(expected[o] == (label, confidence)
                                  for o, label, confidence in zip(got["object_id"], got["label"], got["confidence"]))
    assert kept["default"] >= kept["one batch"] and kept["default"] > kept["pause rule"], kept


def test_batches_from_column_times_or_given():
    answers = table({str(i): ["cat", "dog", "cat"] for i in range(6)}, minutes_apart=0.1)
    answers.loc[answers["object_id"].isin(["3", "4", "5"]), "submission_time"] += pd.Timedelta(hours=1)
    inferred = infer_batches(answers)
    assert inferred.loc[["0", "1", "2"]].nunique() == 1 and inferred["0"] != inferred["3"]
    res = consolidate(answers, CATS, label_attribute="x")
    assert res["batch"].nunique() == 2
    given = consolidate(answers, CATS, label_attribute="x", batches=pd.Series({str(i): i % 3 for i in range(6)}))
    assert given["batch"].tolist() == [0, 1, 2, 0, 1, 2]
    with_column = answers.assign(batch=answers["object_id"].map(lambda o: "iteration-1/a.json" if o < "2" else None))
    assert consolidate(with_column, CATS, label_attribute="x")["batch"][0] == "iteration-1/a.json"
    with pytest.raises(JobError, match="no batch for objects"):
        consolidate(answers, CATS, label_attribute="x", batches={"0": 1})


def test_bad_answers_name_their_file_and_nothing_else_is_lost():
    answers = table({"0": ["cat", "dog", "cat"], "1": ["dog", "horse", "dog"], "2": ["bird", "", "bird"]})
    answers["file"] = "out/job/annotations/worker-response/iteration-1/" + answers["object_id"] + "/x.json"
    answers.loc[answers["answer"] == "", ["answer", "worker_id"]] = ["bird", ""]
    with pytest.raises(ManifestError) as err:
        consolidate(answers, CATS, label_attribute="x")
    assert len(err.value.problems) == 2
    assert "iteration-1/1/x.json: object 1, worker w1: answer 'horse' is not one of the categories" in err.value.problems[0]
    assert "iteration-1/2/x.json: object 2: a worker id is empty" in err.value.problems[1]
    with pytest.warns(UserWarning, match="horse"):
        res = consolidate(answers, CATS, label_attribute="x", errors="skip")
    assert res["label"].tolist() == ["cat", "dog", "bird"] and res["n_workers"].tolist() == [3, 2, 2]
    assert len(res.attrs["problems"]) == 2


def test_arguments_are_checked():
    answers = table({"0": ["cat"]})
    with pytest.raises(JobError, match="categories"):
        consolidate(answers, None, label_attribute="x")
    with pytest.raises(JobError, match="method"):
        consolidate(answers, CATS, method="vote", label_attribute="x")
    with pytest.raises(JobError, match="label attribute"):
        consolidate(answers, CATS, label_attribute="bad_name")
    with pytest.raises(JobError, match="lacks columns"):
        consolidate(answers.drop(columns="answer"), CATS, label_attribute="x")


def test_any_consolidation_lambda_can_consolidate(tmp_path):
    seen = {}

    def handler(event, context):      # an AWS-style handler, used unchanged
        seen["event"], seen["context"] = event, context
        out = []
        for item in lambdas.read_payload(event):
            names = [a["content"]["crowd-image-classifier"]["label"] for a in item["annotations"]]
            out.append({"datasetObjectId": item["datasetObjectId"], "consolidatedAnnotation": {"content": {
                event["labelAttributeName"]: {"votes": sorted(names)}}}})
        return out

    answers = table({"0": ["cat", "dog"], "1": ["bird"]})
    res = consolidate(answers, CATS, method=handler, label_attribute="x", job_name="MyJob", batches="none")
    assert res["label"].tolist() == [{"votes": ["cat", "dog"]}, {"votes": ["bird"]}]
    assert res["pair"][0]["x-metadata"]["type"] == "groundtruth/custom"
    assert res["pair"][0]["x-metadata"]["job-name"] == "labeling-job/myjob"
    assert seen["event"]["labelingJobArn"].endswith(":labeling-job/myjob")
    assert seen["event"]["labelCategories"] == CATS and seen["event"]["maxHumanWorkersPerDataObject"] == 2
    assert seen["context"].get_remaining_time_in_millis() > 0

    default = consolidate(answers, None, method=lambdas.default_consolidation, label_attribute="x")
    assert default["label"][1] == {"crowd-image-classifier": {"label": "bird"}}


# ---------------------------------------------------------------------------- command line

def write_gt_job(root, job="birds-job"):
    """A job as Ground Truth writes it: one file per object holding every worker's answer."""
    given = {"0": ["Owl", "Owl", "Duck"], "1": ["Duck", "Duck", "Duck"], "2": ["Swan", "Owl", "Swan"]}
    for oid, names in given.items():
        doc = {"answers": [{"answerContent": {"crowd-image-classifier": {"label": n}},
                            "submissionTime": f"2019-04-18T16:1{w}:15Z",
                            "workerId": f"public.us-east-1.W{w}"} for w, n in enumerate(names)]}
        path = responses.worker_response_path(f"{root}/{job}", 1, oid, pd.Timestamp("2019-04-18T16:20:00Z"))
        from gtwidgets import storage
        storage.write_bytes(path, orjson.dumps(doc))
    return given


def test_cli_consolidates_a_ground_truth_job(tmp_path, capsys):
    write_gt_job(tmp_path)
    code = cli.main(["consolidate", str(tmp_path), "--categories", "Duck,Owl,Swan", "--method", "majority"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    lines = [orjson.loads(l) for l in out]
    assert [l["datasetObjectId"] for l in lines] == ["0", "1", "2"]
    assert [l["birds-job-metadata"]["class-name"] for l in lines] == ["Owl", "Duck", "Swan"]
    assert [l["birds-job"] for l in lines] == [1, 0, 2]

    manifest = tmp_path / "input.manifest"
    manifest.write_text("".join(orjson.dumps({"source-ref": f"s3://b/{i}.jpg"}).decode() + "\n" for i in range(4)))
    out_file = tmp_path / "output.manifest"
    code = cli.main(["consolidate", str(tmp_path / "birds-job"), "--categories", "Duck,Owl,Swan",
                     "--input-manifest", str(manifest), "--out", str(out_file), "--label-attribute", "bird"])
    lines = [orjson.loads(l) for l in out_file.read_bytes().splitlines()]
    assert code == 0 and len(lines) == 4 and lines[3] == {"source-ref": "s3://b/3.jpg"}
    assert lines[0]["source-ref"] == "s3://b/0.jpg" and lines[0]["bird-metadata"]["confidence"] <= 0.95


def test_cli_reports_bad_files_and_keeps_the_rest(s3, capsys):
    write_gt_job(s3)
    from gtwidgets import storage
    storage.write_bytes(f"{s3}/birds-job/annotations/worker-response/iteration-1/7/2019-04-18_16:30:00.json", b"{oops")
    code = cli.main(["consolidate", s3, "--job", "birds-job", "--categories", "Duck,Owl,Swan"])
    captured = capsys.readouterr()
    assert code == 1
    assert len(captured.out.splitlines()) == 3
    assert "iteration-1/7/2019-04-18_16:30:00.json: not JSON" in captured.err


def test_cli_reads_a_label_category_file_or_infers_names(tmp_path, capsys):
    write_gt_job(tmp_path)
    cats = tmp_path / "categories.json"
    cats.write_text(json_doc := '{"document-version":"2018-11-28","labels":[{"label":"Swan"},{"label":"Owl"},{"label":"Duck"}]}')
    assert cli.main(["consolidate", str(tmp_path), "--categories", str(cats)]) == 0
    lines = [orjson.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [l["birds-job"] for l in lines] == [1, 2, 0] and json_doc
    assert cli.main(["consolidate", str(tmp_path), "--method", "majority"]) == 0
    captured = capsys.readouterr()
    assert "sorted order" in captured.err
    assert [orjson.loads(l)["birds-job"] for l in captured.out.splitlines()] == [1, 0, 2]


def test_cli_skips_and_names_answers_that_cannot_be_used(tmp_path, capsys):
    write_gt_job(tmp_path)
    from gtwidgets import storage
    ok = {"answerContent": {"crowd-image-classifier": {"label": "Owl"}}, "workerId": "public.us-east-1.W9",
          "submissionTime": "2019-04-18T16:19:00Z"}
    bad = {"3": {"answers": [dict(ok, submissionTime="yesterday"), dict(ok, workerId="public.us-east-1.W8")]},
           "4": {"answers": [1, "x"]},
           "5": {"answers": [{"workerId": "public.us-east-1.W1"}, ok]},
           "6": {"answers": [dict(ok, answerContent={"crowd-image-classifier": {"label": "Ow"}}), ok]}}
    folder = tmp_path / "birds-job" / "annotations" / "worker-response" / "iteration-1"
    for oid, doc in bad.items():
        storage.write_bytes(str(folder / oid / "2019-04-18_16:30:00.json"), orjson.dumps(doc))
    code = cli.main(["consolidate", str(tmp_path), "--categories", "Duck,Owl,Swan"])
    captured = capsys.readouterr()
    lines = [orjson.loads(line) for line in captured.out.splitlines()]
    assert code == 1
    assert [line["datasetObjectId"] for line in lines] == ["0", "1", "2", "3", "5", "6"]
    assert all(line["birds-job-metadata"]["confidence"] == 0 for line in lines[3:])  # one usable answer each
    err = captured.err
    assert "iteration-1/3/2019-04-18_16:30:00.json: answer 1 has submissionTime 'yesterday'" in err
    assert "iteration-1/4/2019-04-18_16:30:00.json: answer 1 has no answerContent" in err
    assert "iteration-1/5/2019-04-18_16:30:00.json: answer 1 has no answerContent" in err
    assert "iteration-1/6/2019-04-18_16:30:00.json: object 6, worker public.us-east-1.W9: answer 'Ow'" in err


@pytest.mark.parametrize("method", ["dawid-skene", "majority"])
def test_cli_categories_no_answer_matches_end_in_one_line_that_says_what_to_do(tmp_path, capsys, method):
    write_gt_job(tmp_path)
    code = cli.main(["consolidate", str(tmp_path), "--categories", "X,Y", "--method", method])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"gtwidgets: {tmp_path}: no answer is one of --categories X,Y (answers use: Duck, Owl, Swan)")
    assert "pass the job's categories" in err


def test_cli_any_unexpected_error_is_one_line_with_the_way_to_the_traceback(tmp_path, capsys, monkeypatch):
    from gtwidgets import consolidate

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together\nwith shapes (3,) (4,)")

    write_gt_job(tmp_path)
    monkeypatch.setattr(consolidate, "consolidate", broken)
    monkeypatch.delenv("GTWIDGETS_DEBUG", raising=False)
    assert cli.main(["consolidate", str(tmp_path), "--categories", "Duck,Owl,Swan"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "gtwidgets: consolidate failed unexpectedly (ValueError: operands could not be broadcast together); "
        "check its inputs, or re-run with GTWIDGETS_DEBUG=1 (or gtwidgets --traceback) to see the traceback "
        "and report it."]
    with pytest.raises(ValueError):
        cli.main(["--traceback", "consolidate", str(tmp_path), "--categories", "Duck,Owl,Swan"])
    monkeypatch.setenv("GTWIDGETS_DEBUG", "1")
    with pytest.raises(ValueError):
        cli.main(["consolidate", str(tmp_path), "--categories", "Duck,Owl,Swan"])


def test_cli_usage_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["consolidate", "somewhere", "--method", "median"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith("gtwidgets: argument --method: invalid choice") and "see `gtwidgets consolidate --help`" in err
