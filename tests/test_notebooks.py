"""The shipped notebooks, run top to bottom in a fresh kernel, as a student would run them.

Nobody is at the keyboard, so after each widget the test inserts a cell that labels (or
decides) through the job's Python API, the path the widget's keys take, from the answer key
the sample data came with; cells appended at the end check what the notebook produced.
Neither kind of cell is in the notebooks students open. Each kernel gets a private local S3
and home; the S3 server outlives the kernels, so the module stops it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from gtwidgets.s3server import stop_local_s3

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SHIPPED = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_notebooks_ship_without_outputs_or_test_scaffolding():
    assert [p.name for p in SHIPPED] == ["auto_labeling.ipynb", "fashion_capstone.ipynb", "jsonl_manifests.ipynb",
                                         "segmentation.ipynb", "traffic_signs_capstone.ipynb", "welding.ipynb"]
    # no conftest, no cfg (hidden entries such as .ipynb_checkpoints are JupyterLab's own, after ./dev.sh lab)
    assert sorted(p.name for p in NOTEBOOKS.iterdir() if not p.name.startswith(".")) == [p.name for p in SHIPPED]
    for path in SHIPPED:
        nb = nbformat.reads(_as_committed(path), as_version=4)
        nbformat.validate(nb)
        for i, cell in enumerate(nb.cells):
            where = f"{path.name} cell {i}"
            assert not cell.get("outputs") and cell.get("execution_count") is None, (
                f"{where} was saved with outputs: clear them (Edit > Clear Outputs of All Cells) and save again.")
            assert not cell.metadata, f"{where} has metadata {dict(cell.metadata)}: tests keep out of the notebooks."
            for word in ("NBVAL", "AUTOPILOT", "pytest", "nbval"):
                assert word not in cell.source, f"{where} mentions {word}: how notebooks are tested is the tests' business."


def _as_committed(path: Path) -> str:
    """The notebook as the repository holds it: a student's own run (JupyterLab autosaves its
    outputs) must not fail their clone's tests; in a folder that is no git checkout, the file."""
    shown = subprocess.run(["git", "show", f"HEAD:notebooks/{path.name}"], cwd=path.parent,
                           capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """The kernels' environment: their own local S3 data folder and gtwidgets home."""
    s3_dir, home = tmp_path_factory.mktemp("nb-s3"), tmp_path_factory.mktemp("nb-home")
    yield {**os.environ, "GTWIDGETS_S3_DIR": str(s3_dir), "GTWIDGETS_HOME": str(home)}
    stop_local_s3(s3_dir)


def fashion_capstone() -> nbformat.NotebookNode:
    """The fashion capstone with the answer key's labels and the closing checks added."""
    nb = _notebook("fashion_capstone")
    _after(nb, "gt.LabelingWidget(job)", """
        TRUTH = {uri.rsplit("/", 1)[-1]: c for uri, c in zip(sample["source-ref"], sample["true-class"])}
        for object_id in job.queue:
            if job.answer(object_id) is None:
                job.submit(object_id, TRUTH[job.source(object_id)[1].rsplit("/", 1)[-1]])
    """)
    _after(nb, "gt.ReviewWidget(lead", """
        DOUBTFUL = table["object_id"].iloc[0]
        lead.adjudicate(DOUBTFUL, TRUTH[image(DOUBTFUL)], reviewer="instructor")
    """)
    _append(nb, """
        assert len(uploaded) == 20 and len(manifest) == 20 and len(trial) == 5

        # the widget's order does not give the answer away: no class comes five in a row
        shown = [TRUTH[job.source(o)[1].rsplit("/", 1)[-1]] for o in job.queue]
        assert sorted(job.queue, key=int) != job.queue
        assert not any(len(set(shown[i:i + 5])) == 1 for i in range(len(shown) - 4)), shown

        lines = [json.loads(line) for line in storage.read_text(job.output_manifest_uri).splitlines()]
        assert len(lines) == 20 and len(responses) == 20
        for line in lines:
            meta = line["fashion-metadata"]
            assert meta["class-name"] == TRUTH[line["source-ref"].rsplit("/", 1)[-1]]
            assert line["fashion"] == CATEGORIES.index(meta["class-name"])
            assert (meta["confidence"], meta["human-annotated"], meta["job-name"], meta["type"]) == (
                0, "yes", "labeling-job/fashion", "groundtruth/image-classification")
        assert differ.empty and list(counts) == [5, 5, 5, 5]

        assert len(answers) == 60 and answers["worker_id"].nunique() == 3
        assert len(consolidated) == 20 and consolidated["confidence"].between(0, 0.95).all()
        assert 0 < agreement.fleiss_kappa(answers, CATEGORIES) < 1
        assert len(table) > 0 and table["confidence"].is_monotonic_increasing
        assert decisions["object_id"].tolist() == [DOUBTFUL]
        decided = json.loads(storage.read_text(lead.output_manifest_uri).splitlines()[int(DOUBTFUL)])
        assert decided["fashion-team-metadata"]["class-name"] == TRUTH[image(DOUBTFUL)]
        assert decided["fashion-team-metadata"]["confidence"] == 1
    """)
    return nb


def test_fashion_capstone(kernel_env, tmp_path):
    done = _run(fashion_capstone(), kernel_env, tmp_path)
    assert "all saved: True\n20 of 20 labeled" in _text(done, 'print("all saved:", job.flush())')
    assert '"confidence": 0,' in _text(done, "first = storage.read_text(job.output_manifest_uri)")
    assert "every line labeled: True\n20 of 20 agree with the answer key" in _text(done, "ANSWER_KEY = {")
    assert "60 answers from 3 workers" in _text(done, "TEAM = {")
    table_html = _html(done, 'table.assign(image=table["object_id"].map(image))')
    assert ".jpg</td>" in table_html and "object_id" not in table_html  # objects named by file
    assert "confidence 1 (decided by instructor)\n1 decision(s)" in _text(done, "decisions = lead.adjudications")


SIGN_ATTRIBUTES = {
    "Stop": ["Octagon", "Red"], "Yield": ["Triangle", "Red"],
    "Speed Limit 30": ["Circle", "Red"], "Speed Limit 50": ["Circle", "Red"], "Speed Limit 80": ["Circle", "Red"],
    "No Entry": ["Circle", "Red"], "Pedestrian Crossing": ["Square", "Blue"],
    "Roundabout": ["Circle", "Blue"], "Priority Road": ["Diamond", "Yellow"], "No Parking": ["Circle", "Blue", "Red"],
}


def traffic_signs_capstone() -> nbformat.NotebookNode:
    """The traffic-sign capstone, one deliberate mistake, boxes from the true boxes, and the checks."""
    nb = _notebook("traffic_signs_capstone")
    # one deliberate mistake: the notebook's checks must name it, not say "as expected"
    _after(nb, "gt.LabelingWidget(job)", """
        TRUTH = dict(zip(signs["source-ref"], signs["true-class"]))
        MISTAKE = job.queue[0]
        for object_id in job.queue:
            right = TRUTH[job.source(object_id)[1]]
            wrong = next(c for c in TRAFFIC_SIGN_CATEGORIES if c != right)
            job.submit(object_id, wrong if object_id == MISTAKE else right)
    """)
    _after(nb, "gt.LabelingWidget(shapes)", f"""
        SIGN_ATTRIBUTES = {SIGN_ATTRIBUTES!r}
        for object_id in shapes.queue:
            shapes.submit(object_id, SIGN_ATTRIBUTES[TRUTH[shapes.source(object_id)[1]]])
    """)
    _append(nb, """
        assert all(checks.values())
        assert differ["image"].tolist() == [job.source(MISTAKE)[1].rsplit("/", 1)[-1]]
        assert differ["answer_key"].tolist() == [TRUTH[job.source(MISTAKE)[1]]]
        assert sorted(counts.to_numpy()) != [3] * 10 and counts.sum() == 30
        assert len(multi) == 10
        for uri, names in zip(trial["source-ref"], multi["class_name"]):
            assert sorted(names) == sorted(SIGN_ATTRIBUTES[TRUTH[uri]])
        assert first["sign-shape-colour-metadata"]["type"] == "groundtruth/image-classification-multilabel"
    """)
    _after(nb, "gt.LabelingWidget(boxes)", """
        SIGN_BOXES = dict(zip(signs["source-ref"], signs["true-boxes"]))
        for object_id in boxes.queue:
            boxes.submit(object_id, {"image_size": {"width": 224, "height": 224, "depth": 3},
                                     "boxes": SIGN_BOXES[boxes.source(object_id)[1]]})
    """)
    _append(nb, """
        # the student's boxes are the true ones, written as Ground Truth writes one worker's boxes
        (true_box,) = SIGN_BOXES[box_line["source-ref"]]
        assert box_line["sign-boxes"] == {"image_size": [{"width": 224, "height": 224, "depth": 3}], "annotations": [
            {"class_id": TRAFFIC_SIGN_CATEGORIES.index(true_box["label"]),
             **{k: true_box[k] for k in ("top", "left", "height", "width")}}]}
        assert box_line["sign-boxes-metadata"]["objects"] == [{"confidence": 0}]
        assert box_line["sign-boxes-metadata"]["type"] == "groundtruth/object-detection"
        assert (mine["f1"], mine["mean_iou"], len(yours)) == (1.0, 1.0, 6)

        # three workers on every line, consolidated into the output manifest
        assert len(team_answers) == 90 and set(team_answers["worker_id"]) == set(TEAM)
        assert len(consolidated) == 30 and (consolidated["n_workers"] == 3).all()
        assert len(team_lines) == 30
        for line, pair in zip(team_lines, consolidated["pair"]):
            undated = [{**p, "sign-boxes-team-metadata": {k: v for k, v in p["sign-boxes-team-metadata"].items()
                                                          if k != "creation-date"}}   # when it was written
                       for p in ({k: line[k] for k in pair}, pair)]
            assert undated[0] == undated[1]
            meta = line["sign-boxes-team-metadata"]
            assert len(meta["objects"]) == len(line["sign-boxes-team"]["annotations"])
            assert all(0 < o["confidence"] <= 1 for o in meta["objects"])
            assert meta["type"] == "groundtruth/object-detection"
        # consolidation keeps the boxes two of three drew: it drops every stray box and finds signs
        # the careless workers missed
        scores = box_scores.to_dict("index")
        assert scores["consolidated"]["precision"] == 1.0
        assert scores["consolidated"]["recall"] >= max(scores[w]["recall"] for w in ("annotator-2", "annotator-3"))
        assert scores["annotator-3"]["precision"] < 1 and scores["annotator-3"]["recall"] < 1  # the team is imperfect
        assert scores["consolidated"]["mean_iou"] > scores["annotator-3"]["mean_iou"]

        # COCO: every consolidated box, category ids from 1, bbox as in the manifest
        anns = [(n, a) for n, line in enumerate(team_lines) for a in line["sign-boxes-team"]["annotations"]]
        assert len(coco["annotations"]) == len(anns) and len(coco["images"]) == 30
        for c, (n, a) in zip(coco["annotations"], anns):
            assert c["image_id"] == n + 1 and c["category_id"] == a["class_id"] + 1
            assert c["bbox"] == [a["left"], a["top"], a["width"], a["height"]]
        assert coco["images"][0]["file_name"] == "001.jpg"
        assert [c["name"] for c in coco["categories"]] == TRAFFIC_SIGN_CATEGORIES
        assert json.loads(storage.read_text(f"{BUCKET}/output/sign-boxes-team/coco.json")) == coco
    """)
    return nb


def test_traffic_signs_capstone_reports_the_students_own_mistake(kernel_env, tmp_path):
    done = _run(traffic_signs_capstone(), kernel_env, tmp_path)
    checked = _text(done, "checks = {")
    assert "FAIL" not in checked and "Job status: Completed" in checked
    assert "not three of each: {" in _text(done, "off = counts[counts != 3]")
    assert "as expected" not in "".join(c.source for c in done.cells)
    differ = _text(done, "differ = check[")
    assert "29 of 30 agree with the answer key" in differ and ".jpg" in differ
    assert "all saved: True" in _text(done, 'print("all saved:", shapes.flush())')
    assert "all saved: True" in _text(done, 'print("all saved:", boxes.flush())')
    assert '"type": "groundtruth/object-detection"' in _text(done, 'print("all saved:", boxes.flush())')
    assert "your boxes on 6 photos: mean IoU 1.00, F1 at IoU 0.5 1.00" in _text(done, "def as_arrays(")
    assert "90 answers from 3 workers" in _text(done, "TEAM = {")
    assert "consolidated vs the best worker by F1" in _text(done, "best = box_scores")


def welding() -> nbformat.NotebookNode:
    """The welding job labeled from the answer key, and the checks."""
    nb = _notebook("welding")
    _after(nb, "gt.LabelingWidget(job)", """
        TRUTH = dict(zip(welds["source"], welds["true-class"]))
        for object_id in job.queue:
            job.submit(object_id, TRUTH[job.source(object_id)[1]])
    """)
    _append(nb, """
        assert set(job.task_inputs["0"]) == {"image", "sensor_data"}
        assert job.queue != sorted(job.queue, key=int)
        assert (result["label"] == result["answer_key"]).all() and (result["votes"] == 1).all()
        assert (result["welding-metadata.type"] == "groundtruth/custom").all()
        assert all(w["workers"] == ["student"] for w in output["welding"])
        for axis in (fig.layout.xaxis3, fig.layout.yaxis, fig.layout.yaxis2, fig.layout.yaxis3):
            assert axis.title.text.endswith(("(A)", "(mm)", "(V)", "(ms)")), axis.title.text
    """)
    return nb


def test_welding(kernel_env, tmp_path):
    done = _run(welding(), kernel_env, tmp_path)
    sources = "".join(c.source for c in done.cells)
    assert "def prelabel_handler(event, context)" in sources and "def consolidation_handler(event, context)" in sources
    assert "gtwidgets.welding" not in sources  # the Lambdas are the notebook's own
    saved = _text(done, 'print("all saved:", job.flush())')
    assert "all saved: True" in saved and "consolidation-request/iteration-1/<time>.json" in saved
    assert "consolidation-response/iteration-1/<time>.json" in saved


def segmentation() -> nbformat.NotebookNode:
    """The segmentation notebook: the true masks painted, the worst image decided, and the checks."""
    nb = _notebook("segmentation")
    _after(nb, "gt.LabelingWidget(paint)", """
        for object_id in paint.queue:
            paint.submit(object_id, TRUTH[paint.source(object_id)[1]])
    """)
    _after(nb, "gt.ReviewWidget(lead", """
        WORST = queue[0]
        lead.adjudicate(WORST, TRUTH[manifest.at[int(WORST), "source-ref"]], reviewer="student")
    """)
    _append(nb, """
        # the painted masks, written as Ground Truth writes one worker's mask
        assert first["fashion-masks-ref"].startswith(f"{BUCKET}/output/fashion-masks/annotations/"
                                                    "consolidated-annotation/output/0_")
        meta = first["fashion-masks-ref-metadata"]
        assert meta["type"] == "groundtruth/semantic-segmentation" and meta["job-name"] == "labeling-job/fashion-masks"
        assert {k: (e["class-name"], e["hex-color"], e["confidence"]) for k, e in meta["internal-color-map"].items()} == {
            k: (e["class-name"], e["hex-color"], 0) for k, e in COLOR_MAP.items()}
        assert all(np.array_equal(m, TRUTH[u]) for u, m in zip(output["source-ref"], yours))

        # three workers on every photo, voted into one mask each, read back from the manifest
        assert len(answers) == 60 and set(answers["worker_id"]) == set(TEAM)
        assert len(consolidated) == 20 and consolidated["confidence"].between(0, 1).all()
        for pair, mask in zip(consolidated["pair"], team_masks):
            assert np.array_equal(pair["fashion-masks-team-ref"].labels, mask)
        assert mask_scores.at["consolidated", "mean_iou"] > mask_scores.drop("consolidated")["mean_iou"].max()
        assert (per_image.drop(columns="consolidated").max(axis=1) < 1).all()   # no worker is perfect

        # the decision wins: the true mask, confidence 1
        assert decisions["object_id"].tolist() == [WORST]
        assert consolidated.set_index("object_id").at[WORST, "confidence"] == consolidated["confidence"].min()
        final = read_masks(gt.read_manifest(lead.output_manifest_uri), "fashion-masks-team-ref")
        assert np.array_equal(final[int(WORST)], TRUTH[manifest.at[int(WORST), "source-ref"]])
    """)
    return nb


def test_segmentation(kernel_env, tmp_path):
    done = _run(segmentation(), kernel_env, tmp_path)
    assert '"type": "groundtruth/semantic-segmentation"' in _text(done, 'print("all saved:", paint.flush())')
    read = _text(done, 'yours = read_masks(output, "fashion-masks-ref")')
    assert read.count("(160, 160) uint8") == 4 and read.count("mean IoU with the true mask 1.00") == 4
    assert "20 photos consolidated" in _text(done, "TEAM = [")
    assert "consolidated 0.9" in _text(done, 'best = mask_scores.drop("consolidated")')
    assert "1 decision(s)\nall saved: True\ndecided line, confidence: 1" in _text(done, "decisions = lead.adjudications")


def jsonl_manifests() -> nbformat.NotebookNode:
    return _notebook("jsonl_manifests")


def test_jsonl_manifests(kernel_env, tmp_path):
    done = _run(jsonl_manifests(), kernel_env, tmp_path)
    sources = "".join(c.source for c in done.cells)
    assert "without rewriting" not in sources and "cannot be appended to" in sources
    assert "same as the real line: True" in _text(done, "gt.classification_label(")
    assert "ManifestError:" in _text(done, "except gt.ManifestError")
    problems = _text(done, "for problem in gt.validate_manifest(BROKEN)")
    assert all(f"broken.manifest:{n}" in problems for n in (2, 3, 4, 5))
    line = _html(done, "show_line(outputs, 2)")
    json_side, row_side = line.split("DataFrame row")
    assert "2024-05-06T09:12:00.000000" in json_side and "2024-05-06T09:12:00.000000" in row_side


def auto_labeling() -> nbformat.NotebookNode:
    """The automated-labeling notebook: the student's ten labels and the audit from the key, and the checks."""
    nb = _notebook("auto_labeling")
    _after(nb, "gt.LabelingWidget(job)", """
        KEY = dict(zip(signs["source-ref"], signs["true-class"]))
        STUDENT = []
        for _ in range(10):
            object_id = job.next_unlabeled()
            job.submit(object_id, KEY[job.source(object_id)[1]])
            STUDENT.append(object_id)
    """)
    _after(nb, "gt.AuditMode(", """
        AUDITED = list(audit.queue)
        BEFORE = {o: job.auto_labeling.machine_info(o)["label"] for o in AUDITED}
        for object_id in AUDITED:
            job.submit(object_id, KEY[job.source(object_id)[1]])
    """)
    _append(nb, """
        # 2,000 photos, every line labeled, people gave fewer labels than all of them
        c = job.label_counters
        assert len(job) == len(lines) == 2000 and len(set(signs["source-ref"])) == 2000
        assert (c["TotalLabeled"], c["Unlabeled"], c["FailedNonRetryableError"]) == (2000, 0, 0)
        assert job.auto_labeling.stop == "all objects labeled" and job.auto_labeling.error is None
        assert counts["HumanLabeled"] == len(STUDENT) + given and c["HumanLabeled"] == counts["HumanLabeled"] + 10
        assert c["HumanLabeled"] < 2000 and c["HumanLabeled"] + c["MachineLabeled"] == 2000
        first_batch = job.auto_labeling.queue[:job.auto_labeling.engine.batch_size]   # random, as Ground Truth's
        assert set(STUDENT) <= set(first_batch)

        # the output manifest: Ground Truth's shape; human lines say what the key says, machine lines say "no"
        assert (len(by_people), len(by_machine)) == (c["HumanLabeled"], c["MachineLabeled"]) and by_machine
        assert [line["source-ref"] for line in lines] == manifest["source-ref"].tolist()
        for line in lines:
            m = line[meta]
            assert m["class-name"] == TRAFFIC_SIGN_CATEGORIES[line["traffic-signs-auto"]]
            assert m["type"] == "groundtruth/image-classification"
            assert m["job-name"] == "labeling-job/traffic-signs-auto"
            if m["human-annotated"] == "yes":
                assert m["class-name"] == KEY[line["source-ref"]] and m["confidence"] == 0
            else:
                assert m["human-annotated"] == "no" and 0 < m["confidence"] <= 1
        audited = {job.source(o)[1] for o in AUDITED}
        assert {line["source-ref"] for line in by_machine} == set(machine["source"]) - audited

        # the claim and the truth: the default rule keeps the interval's low end at 95%; the machine
        # labels, checked against the key, are not far below it (earlier rounds chose their own thresholds)
        assert claim["low"] >= 0.95 and claim["support"] >= 30
        assert claim["low"] <= claim["accuracy"] <= claim["high"]
        assert len(machine) == counts["MachineLabeled"] and right.mean() >= claim["low"] - 0.05
        assert human_right.all() and len(people) == counts["HumanLabeled"]

        # the audit: ten machine labels, answered from the key, counted as agreed where the machine was right
        assert len(AUDITED) == 10 and audited <= set(machine["source"])
        assert summary["audited"] == 10 and summary["audit_pending"] == 0
        assert summary["agreed"] == sum(BEFORE[o] == KEY[job.source(o)[1]] for o in AUDITED)
        assert set(checked["object_id"]) == set(AUDITED)
    """)
    return nb


def test_auto_labeling(kernel_env, tmp_path):
    done = _run(auto_labeling(), kernel_env, tmp_path, timeout=900)
    assert "2000 photos in s3://gtwidgets-auto-labeling/images/dataset.manifest" in _text(done, "IMAGES = ")
    report = _text(done, "given = simulated_human(job)")
    assert "the job stopped: all objects labeled" in report and "labeling everything by hand: 2,000" in report
    honest = _text(done, "claim = job.auto_labeling.accuracy")
    assert "the job claims" in honest and "the answer key's figure is" in honest
    assert "audited 10 machine labels" in _text(done, "summary = job.auto_labeling.summary()")
    out = _text(done, 'print("all saved:", job.flush())')
    assert "all saved: True" in out and "2,000 lines" in out
    assert '"human-annotated": "no"' in out and '"human-annotated": "yes"' in out


def test_the_notebooks_pass_under_nbval(tmp_path):
    """The same runs under nbval, the runner the course uses: every cell, the checks included."""
    builds = (fashion_capstone, traffic_signs_capstone, welding, jsonl_manifests, segmentation, auto_labeling)
    runs = tmp_path / "runs"
    runs.mkdir()
    for build in builds:
        nbformat.write(build(), runs / f"{build.__name__}.ipynb")
    env = {**os.environ, "GTWIDGETS_S3_DIR": str(tmp_path / "s3"), "GTWIDGETS_HOME": str(tmp_path / "home")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
             "--nbval-cell-timeout=600", "--rootdir", str(runs), str(runs)],
            cwd=runs, env=env, capture_output=True, text=True, timeout=2400)
    finally:
        stop_local_s3(tmp_path / "s3")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    cells = sum(c.cell_type == "code" for build in builds for c in build().cells)
    assert f"{cells} passed" in done.stdout, done.stdout[-2000:]


# ------------------------------------------------------------------ helpers

def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _code(source: str) -> nbformat.NotebookNode:
    lines = source.strip("\n").splitlines()
    indent = min(len(s) - len(s.lstrip()) for s in lines if s.strip())
    return nbformat.v4.new_code_cell("\n".join(s[indent:] for s in lines), metadata={"tags": ["test"]})


def _index(nb: nbformat.NotebookNode, snippet: str) -> int:
    """The first code cell whose source contains ``snippet`` (so edits to the notebook move it too)."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and snippet in c.source]
    assert found, f"no code cell contains {snippet!r}: the notebook changed; update this test."
    return found[0]


def _after(nb: nbformat.NotebookNode, snippet: str, source: str) -> None:
    nb.cells.insert(_index(nb, snippet) + 1, _code(source))


def _append(nb: nbformat.NotebookNode, source: str) -> None:
    nb.cells.append(_code(source))


def _run(nb: nbformat.NotebookNode, env: dict, cwd: Path, *, timeout: int = 240) -> nbformat.NotebookNode:
    """Every cell in one fresh kernel; a cell that raises fails the test with its traceback and
    what the cells before it printed (so a failure on CI can be read without re-running it)."""
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(cwd)}}).execute(env=env)
    except CellExecutionError as e:
        ran = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
        printed = "\n".join(f"--- {c.source.splitlines()[0][:80]!r}\n{_printed(c)[-1500:]}" for c in ran[-6:])
        raise AssertionError(f"{e}\n\nwhat the last cells printed:\n{printed}") from None
    return nb


def _text(nb: nbformat.NotebookNode, snippet: str) -> str:
    """What the cell printed and its plain-text result."""
    return _printed(nb.cells[_index(nb, snippet)])


def _printed(cell: nbformat.NotebookNode) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif "data" in o:
            out.append(o.data.get("text/plain", ""))
    return "".join(out)


def _html(nb: nbformat.NotebookNode, snippet: str) -> str:
    return "".join(o.data.get("text/html", "") for o in nb.cells[_index(nb, snippet)].outputs if "data" in o)
