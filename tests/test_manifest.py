"""Manifests <-> DataFrames: every real fixture, both readers, lossless round trips, Ground Truth's writing rules."""
from __future__ import annotations

import json

import orjson
import pandas as pd
import pyarrow.json
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gtwidgets
from gtwidgets.manifests import _arrow_read, _arrow_scan, _column_write
from gtwidgets.manifests import api as m
from gtwidgets import storage, tasks
from gtwidgets.errors import ConflictError, ManifestError

from shared_fixtures import MANIFEST_FIXTURES, OWN, manifest_params, needs_shared, task_kind

# the label types a fixture's lines carry, in key order, by the task-type part of its name
EXPECTED_TYPES = {
    "input": [],
    "bounding-box": [tasks.OBJECT_DETECTION],
    "bounding-box-adjustment": [tasks.OBJECT_DETECTION, tasks.OBJECT_DETECTION],
    "custom": [tasks.CUSTOM],
    "image-classification": [tasks.IMAGE_CLASSIFICATION],
    "image-classification-multilabel": [tasks.IMAGE_CLASSIFICATION_MULTILABEL],
    "named-entity-recognition": [tasks.TEXT_SPAN],
    "semantic-segmentation": [tasks.SEMANTIC_SEGMENTATION],
    "semantic-segmentation-adjustment": [tasks.SEMANTIC_SEGMENTATION, tasks.SEMANTIC_SEGMENTATION],
    "label-verification": [None, tasks.LABEL_VERIFICATION],  # None: the verified pair, any type
    "text-classification-multilabel": [tasks.TEXT_CLASSIFICATION_MULTILABEL],
    "text-classification": [tasks.TEXT_CLASSIFICATION],
    "video-object-detection": [tasks.VIDEO_OBJECT_DETECTION],
    "chained": [tasks.IMAGE_CLASSIFICATION, tasks.OBJECT_DETECTION],
    "chained-hand-made": [tasks.SEMANTIC_SEGMENTATION, tasks.IMAGE_CLASSIFICATION],
}
OWN_MANIFESTS = OWN / "manifests"


def parsed_lines(data: bytes) -> list[dict]:
    return [orjson.loads(line) for line in data.splitlines()]


def strict(obj) -> str:
    """Canonical JSON that tells 1 from 1.0 (plain == would not)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


@pytest.mark.parametrize("path", manifest_params())
@pytest.mark.parametrize("engine", ["auto", "python"])
def test_every_fixture_reads_recognises_its_task_and_round_trips(path, engine):
    df = gtwidgets.read_manifest(path, engine=engine)
    want = parsed_lines(path.read_bytes())
    assert len(df) == len(want) and list(df.index) == list(range(len(want)))
    types, expected = list(df.gt.label_attributes.values()), EXPECTED_TYPES[task_kind(path)]
    assert len(types) == len(expected) and all(e in (None, t) for t, e in zip(types, expected)), types
    assert df.gt.source_key in ("source-ref", "source")
    got = [orjson.loads(line) for line in gtwidgets.to_manifest(df)]
    assert [strict(o) for o in got] == [strict(o) for o in want]
    assert df.gt.objects() == want


@pytest.mark.parametrize("path", manifest_params())
def test_fast_and_exact_readers_give_the_same_frame(path):
    fast, exact = gtwidgets.read_manifest(path), gtwidgets.read_manifest(path, engine="python")
    pd.testing.assert_frame_equal(fast, exact)
    assert gtwidgets.to_manifest(fast) == gtwidgets.to_manifest(exact)  # dicts compare equal in any key order


# Own fixtures the exact path must read, and why; every other fixture must take the fast path.
EXACT_PATH = {
    "bounding-box__gtw__output.manifest": "averaged boxes: integral floats such as 237.0",
    "bounding-box-adjustment__gtw__output.manifest": "averaged boxes: integral floats such as 237.0",
    "chained__gtw__output.manifest": "averaged boxes: integral floats such as 237.0",
    "label-verification__gtw-boxes__output.manifest": "averaged boxes: integral floats such as 237.0",
    "custom__gtw__output.manifest": "a JSON null in a label",
}


@pytest.mark.parametrize("path", manifest_params())
def test_fixtures_take_the_arrow_path(path):
    # if this fails, every read of such files silently became the slow path
    taken = _arrow_read.arrow_frame(path.read_bytes(), validate=True) is not None
    assert taken == (path.name not in EXACT_PATH), EXACT_PATH.get(path.name, "should take the fast path")


@needs_shared
def test_the_fixtures_show_every_task_type_a_fresh_clone_needs():
    # the own fixtures alone must cover every task type the shared real files cover
    own = {task_kind(p) for p in OWN_MANIFESTS.glob("*.manifest")}
    assert {task_kind(p) for p in MANIFEST_FIXTURES} <= own


def banana():
    return next(p for p in MANIFEST_FIXTURES if p.name.startswith("image-classification__banana"))


@pytest.fixture(params=[pytest.param("own", id="own"), pytest.param("shared", id="shared", marks=needs_shared)])
def classification(request):
    """``(path, label attribute)`` of a single-label image classification output: ours, and the real banana one."""
    if request.param == "shared":
        return banana(), "banana-1"
    return OWN_MANIFESTS / "image-classification__gtw__output.manifest", "vehicle-type"


def test_classification_columns_are_plain_and_typed(classification):
    path, attr = classification
    first = parsed_lines(path.read_bytes())[0]
    df = gtwidgets.read_manifest(path)
    meta = f"{attr}-metadata"
    assert df[attr].dtype == "Int64"
    assert df[f"{meta}.confidence"].dtype == "float64"
    assert df[f"{meta}.creation-date"].dtype == "datetime64[ns]"
    assert df[f"{meta}.creation-date"][0] == pd.Timestamp(first[meta]["creation-date"])
    assert df[f"{meta}.class-name"][0] == first[meta]["class-name"]
    assert df[f"{meta}.job-name"][0] == f"labeling-job/{attr}"
    labels = df.gt.labels(attr)
    assert list(labels.columns) == ["class_name", "class_index", "confidence", "human_annotated",
                                    "creation_date", "job_name"]
    assert labels["human_annotated"].tolist() == [m[meta]["human-annotated"] == "yes" for m in parsed_lines(path.read_bytes())]
    assert labels["class_index"][0] == first[attr]
    assert df.attrs["gtwidgets"]["source"] == str(path)


# (the others use 2019/2020 \u0027-style escapes or a hand-written space; they round-trip as JSON)
NOT_BYTE_IDENTICAL = {"image-classification__banana-ripeness__output.manifest",
                      "input__cat-labels__input.manifest",
                      "text-classification__tweets-2019__output.extracted.manifest",
                      "input__gtw-hand-written__input.manifest"}


@pytest.mark.parametrize("path", [p for p in manifest_params() if p.values[0] is None
                                  or p.values[0].name not in NOT_BYTE_IDENTICAL])
def test_files_written_by_compact_ground_truth_come_back_byte_for_byte(path, tmp_path):
    out = gtwidgets.write_manifest(gtwidgets.read_manifest(path), tmp_path / "out.manifest")
    assert (tmp_path / "out.manifest").read_bytes() == path.read_bytes()
    assert out == str(tmp_path / "out.manifest")


@pytest.mark.parametrize("path", [pytest.param(OWN_MANIFESTS / "input__gtw-images__input.manifest", id="own"),
                                  pytest.param("banana", id="shared", marks=needs_shared)])
def test_zero_width_space_is_written_raw(path, tmp_path):
    path = banana() if path == "banana" else path
    gtwidgets.write_manifest(gtwidgets.read_manifest(path), tmp_path / "out.manifest")
    assert "\u200b".encode() in (tmp_path / "out.manifest").read_bytes()


def test_chained_job_keeps_every_label_attribute_in_order(classification, tmp_path):
    path, attr = classification
    lines = parsed_lines(path.read_bytes())[:5]
    for i, obj in enumerate(lines):
        obj.update(tasks.classification_label("ripeness-check", ["bad", "good"], ["bad", "good"][i % 2],
                                              creation_date="2024-01-02T03:04:05.000006",
                                              task_type=tasks.LABEL_VERIFICATION))
    path = tmp_path / "chain.manifest"
    path.write_bytes(b"\n".join(orjson.dumps(o) for o in lines) + b"\n")
    df = gtwidgets.read_manifest(path)
    assert df.gt.label_attributes == {attr: tasks.IMAGE_CLASSIFICATION,
                                      "ripeness-check": tasks.LABEL_VERIFICATION}
    assert df.gt.objects() == lines


def test_explicit_null_missing_keys_and_ints_survive(tmp_path):
    lines = [
        {"source-ref": "s3://b/1.jpg", "score": 3, "note": None, "extra": {"a": 1}},
        {"source-ref": "s3://b/2.jpg", "score": 3.0},
        {"source-ref": "s3://b/3.jpg", "extra": {"b": [1, 2.5]}, "count": 7},
    ]
    path = tmp_path / "mixed.manifest"
    path.write_bytes(b"\n".join(orjson.dumps(o) for o in lines) + b"\n")
    for engine in ("auto", "python"):
        df = gtwidgets.read_manifest(path, engine=engine)
        assert df["count"].dtype == "Int64" and pd.isna(df["count"][0])
        assert df["note"][0] is None and df["note"][1] is not None and pd.isna(df["note"][1])
        out = gtwidgets.to_manifest(df)
        assert [strict(orjson.loads(x)) for x in out] == [strict(o) for o in lines]
        assert '"score":3,' in out[0] and '"score":3.0' in out[1]


def test_null_among_strings_stays_null():
    # pandas 3 infers "str" for an object array of strings and None, which would drop the null
    lines = [{"source-ref": "a"}, {"source-ref": "b", "note": None}, {"source-ref": "c", "note": "x"}]
    for engine in ("auto", "python"):
        df = m.frame_from_bytes(manifest_bytes(lines), engine=engine)
        assert df["note"][1] is None and pd.isna(df["note"][0])
        assert m.to_manifest(df) == [orjson.dumps(o).decode() for o in lines]
    assert m.frame_from_objects(lines).gt.objects() == lines


def test_int_and_float_in_one_unknown_column_take_the_exact_path():
    lines = [{"source": "a", "n": 1}, {"source": "b", "n": 2.5}]
    data = b"\n".join(orjson.dumps(o) for o in lines) + b"\n"
    assert _arrow_read.arrow_frame(data, validate=True) is None  # Arrow would have said 1.0
    df = m.frame_from_bytes(data)
    assert [strict(o) for o in df.gt.objects()] == [strict(o) for o in lines]


def test_class_map_with_varying_keys_gets_no_invented_keys(tmp_path):
    lines = [tasks.multilabel_label("tags", ["a", "b", "c"], answers, creation_date="2024-09-27T21:31:32.051349")
             for answers in (["a"], ["c", "b"], [])]
    lines = [{"source-ref": f"s3://b/{i}.jpg", **pair} for i, pair in enumerate(lines)]
    data = b"\n".join(orjson.dumps(o) for o in lines) + b"\n"
    assert _arrow_read.arrow_frame(data, validate=True) is not None
    df = m.frame_from_bytes(data)
    assert df["tags-metadata.class-map"][0] == {"0": "a"}
    assert df["tags-metadata.class-map"][2] == {}
    assert df.gt.objects() == lines
    assert df.gt.label_attributes == {"tags": tasks.IMAGE_CLASSIFICATION_MULTILABEL}


def test_each_line_keeps_its_own_class_map_order_on_the_fast_path():
    # Ground Truth writes class-map keys in each line's own order; Arrow has one order for the file
    lines = [{"source-ref": "s3://b/0.jpg", **tasks.multilabel_label("tags", ["a", "b", "c"], ["c", "a"])},
             {"source-ref": "s3://b/1.jpg"},
             {"source-ref": "s3://b/2.jpg", **tasks.multilabel_label("tags", ["a", "b", "c"], ["a", "c", "b"])}]
    data = b"\n".join(orjson.dumps(o) for o in lines) + b"\n"
    assert _arrow_read.arrow_frame(data, validate=True) is not None
    df = m.frame_from_bytes(data)
    assert m.to_manifest(df) == [orjson.dumps(o).decode() for o in lines]
    pd.testing.assert_frame_equal(df, m.frame_from_bytes(data, engine="python"))


def test_non_canonical_creation_date_stays_a_string(tmp_path):
    line = {"source-ref": "s3://b/h.jpg", "helmet": 0, "helmet-metadata": {
        "class-name": "helmet", "confidence": 0.5, "type": tasks.IMAGE_CLASSIFICATION,
        "job-name": "labeling-job/helmet", "human-annotated": "yes", "creation-date": "2020-05-25T12:53:54+0000"}}
    df = m.frame_from_bytes(orjson.dumps(line) + b"\n")
    assert df["helmet-metadata.creation-date"].dtype != "datetime64[ns]"
    assert df.gt.objects() == [line]


def test_writer_follows_ground_truth_conventions(classification, tmp_path):
    path, attr = classification
    original = parsed_lines(path.read_bytes())[0]
    df = gtwidgets.read_manifest(path).head(3).copy()
    meta = f"{attr}-metadata"
    df[f"{meta}.confidence"] = [0.876, 0.0, 1 / 3]
    df[f"{meta}.job-name"] = f"labeling-job/{attr.title()}"
    df[attr] = df[attr].astype("float64")
    df["note"] = ['</script> "q" \u2028 \U0001F34C', pd.NA, "x/y"]
    lines = gtwidgets.to_manifest(df)
    first = orjson.loads(lines[0])
    assert first[meta]["confidence"] == 0.88
    assert '"confidence":0,' in lines[1] or '"confidence":0}' in lines[1]
    assert f'"{attr}":{original[attr]},' in lines[0]
    assert f'"labeling-job/{attr}"' in lines[0]
    assert "</script>" in lines[0] and "\u2028" in lines[0] and "\\/" not in lines[2]
    assert "note" not in orjson.loads(lines[1])
    assert ": " not in lines[0].replace(first["note"], "") and ", " not in lines[0].replace(first["note"], "")
    assert f'"creation-date":"{original[meta]["creation-date"]}"' in lines[0]
    path = tmp_path / "out.manifest"
    gtwidgets.write_manifest(df, path)
    data = path.read_bytes()
    assert data.endswith(b"}\n") and not data.endswith(b"\n\n") and data.count(b"\n") == 3
    assert "\U0001F34C".encode() in data  # raw UTF-8, not \\u escapes


def test_frame_from_objects_and_object_from_row_are_the_job_api(classification):
    path, attr = classification
    objs = parsed_lines(path.read_bytes())[:3]
    df = m.frame_from_objects(objs)
    pd.testing.assert_frame_equal(df, m.frame_from_bytes(b"\n".join(orjson.dumps(o) for o in objs)))
    assert m.object_from_row(df, 2) == objs[2]
    appended = m.frame_from_objects(objs + [tasks.classification_label(attr, ["ripe", "unripe banana"], "ripe")
                                            | {"source-ref": "s3://x/y.jpg"}])
    assert m.object_from_row(appended, 3)[attr] == 0


def test_accessor_keeps_pandas_gt_comparison():
    df = pd.DataFrame({"a": [1, 2]})
    assert df.gt(1)["a"].tolist() == [False, True]


def test_accessor_to_manifest_writes_and_returns_lines(tmp_path):
    path = OWN_MANIFESTS / "image-classification__gtw__output.manifest"
    df = gtwidgets.read_manifest(path)
    assert df.gt.to_manifest() == path.read_text(encoding="utf-8").splitlines()
    assert df.gt.to_manifest(tmp_path / "a.manifest") == str(tmp_path / "a.manifest")


def test_s3_round_trip(s3):
    data = (OWN_MANIFESTS / "image-classification__gtw__output.manifest").read_bytes()
    from gtwidgets import storage

    storage.write_bytes(f"{s3}/in/output.manifest", data)
    df = gtwidgets.read_manifest(f"{s3}/in/output.manifest")
    assert df.gt.source == f"{s3}/in/output.manifest"
    gtwidgets.write_manifest(df, f"{s3}/out/output.manifest")
    assert storage.read_bytes(f"{s3}/out/output.manifest") == data


def test_empty_frame_writes_nothing(tmp_path):
    df = m.frame_from_objects([])
    assert gtwidgets.to_manifest(df) == []
    gtwidgets.write_manifest(df, tmp_path / "e.manifest")
    assert (tmp_path / "e.manifest").read_bytes() == b""


# ---------------------------------------------------------------------------- property-based

HOSTILE = st.sampled_from(['"', "\\", "</script>", "\u2028", "\u2029", "\U0001F600", "\u05e9\u05dc\u05d5\u05dd",
                           "\u200b", "\u202e", "\x00", "\n", "\r\n", "'", "&", "<", "null", "{}", "\ufeff"])
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=8)), max_size=5).map("".join)
KEY = TEXT.filter(lambda k: k and not k.startswith("$") and "-metadata" not in k and k not in ("source", "source-ref"))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1),
                   st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)
CATEGORIES = ["cat", "dog", "\u05d7\u05ea\u05d5\u05dc", "</script>"]


@st.composite
def manifest_lines(draw):
    n = draw(st.integers(1, 6))
    source_key = draw(st.sampled_from(["source-ref", "source"]))
    extra_keys = draw(st.lists(KEY, max_size=3, unique=True))
    attrs = draw(st.lists(st.sampled_from(["job-a", "JobB", "c-3"]), max_size=2, unique=True))
    lines = []
    for _ in range(n):
        obj = {source_key: draw(TEXT)}
        for k in extra_keys:
            if draw(st.booleans()):
                obj[k] = draw(JSON)
        for a in attrs:
            if draw(st.booleans()):
                multi = draw(st.booleans())
                conf = tasks.round_confidence(draw(st.floats(0, 1)))
                when = draw(st.sampled_from(["2019-01-29T13:29:11.798957", "2024-02-29T00:00:00.000000",
                                             "2020-05-25T12:53:54+0000"]))
                if multi:
                    picks = draw(st.lists(st.sampled_from(CATEGORIES), max_size=3, unique=True))
                    obj.update(tasks.multilabel_label(a, CATEGORIES, picks, creation_date=when,
                                                      confidences={p: conf for p in picks}))
                else:
                    obj.update(tasks.classification_label(a, CATEGORIES, draw(st.sampled_from(CATEGORIES)),
                                                          confidence=conf, creation_date=when))
        lines.append(obj)
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifest_lines())
def test_property_round_trip_both_readers(lines):
    data = b"\n".join(orjson.dumps(o) for o in lines) + b"\n"
    fast = m.frame_from_bytes(data, validate=False)
    exact = m.frame_from_bytes(data, validate=False, engine="python")
    pd.testing.assert_frame_equal(fast, exact)
    want = [strict(o) for o in lines]
    assert [strict(orjson.loads(x)) for x in m.to_manifest(fast)] == want
    assert [strict(o) for o in m.frame_from_objects(lines).gt.objects()] == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({"source-ref": TEXT}, optional={"k": JSON}), min_size=1, max_size=5))
def test_property_json_module_agrees(lines):
    data = "\n".join(json.dumps(o, ensure_ascii=False) for o in lines).encode() + b"\n"
    df = m.frame_from_bytes(data, validate=False)
    assert [strict(o) for o in df.gt.objects()] == [strict(o) for o in lines]


FLAT_VALUE = st.one_of(TEXT, st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
                       st.booleans())


@settings(max_examples=150, deadline=None)
@given(st.lists(FLAT_VALUE, min_size=1, max_size=4), st.integers(1, 4), st.data())
def test_property_column_writer_matches_orjson_byte_for_byte(kinds, n, data):
    # complete, flat rows go through the Arrow column writer; its bytes must equal orjson's
    lines = []
    for i in range(n):
        obj = {"source": data.draw(TEXT)}
        for k, example in enumerate(kinds):
            obj[f"k{k}"] = data.draw({str: TEXT, int: st.integers(-2**63, 2**63 - 1), bool: st.booleans(),
                                      float: st.floats(allow_nan=False, allow_infinity=False)}[type(example)])
        obj.update(tasks.classification_label("job", CATEGORIES, CATEGORIES[i % 4], confidence=i / 7,
                                              creation_date=f"2024-02-29T00:00:0{i}.00000{i}"))
        lines.append(obj)
    df = m.frame_from_objects(lines)
    assert m.to_manifest(df) == [orjson.dumps(o).decode() for o in lines]


def test_column_writer_takes_plain_classification_frames(classification):
    path, attr = classification
    df = gtwidgets.read_manifest(path)
    parts = _column_write.template_parts(df, m._plan(df), {attr})
    assert parts is not None  # the fast writer is really used for the common case


# ---------------------------------------------------------------------------- the fast read in ranges

def manifest_bytes(objs: list[dict]) -> bytes:
    return b"\n".join(orjson.dumps(o) for o in objs) + b"\n"


def classification_lines(n: int) -> list[dict]:
    return [{"source-ref": f"s3://b/{i}.jpg",
             **tasks.classification_label("birds", CATEGORIES, CATEGORIES[i % 4], confidence=0.5 + i % 5 / 10,
                                          creation_date=f"2024-02-29T00:00:{i % 60:02d}.{i:06d}")}
            for i in range(n)]


@pytest.mark.parametrize("ranges", [1, 2, 3, 7])
def test_ranges_streamed_in_parallel_give_the_exact_frame(ranges, tmp_path):
    data = manifest_bytes(classification_lines(40))
    table, facts = _arrow_scan.read_table(data, ranges=ranges)
    assert facts.lines == table.num_rows == 40
    assert facts.streamed == (ranges if hasattr(pyarrow.json, "open_json") else 0)  # pyarrow < 20: whole file
    path = tmp_path / "a.manifest"
    path.write_bytes(data)
    exact = m.frame_from_bytes(data, engine="python")
    assert exact["birds-metadata.creation-date"].dtype == "datetime64[ns]"
    for source in (data, _arrow_scan.LocalFile(path)):
        pd.testing.assert_frame_equal(_arrow_read.arrow_frame(source, validate=True, ranges=ranges), exact)


@pytest.mark.parametrize("note", [0, 19_000, 20_001, 45_000])
@pytest.mark.parametrize("where", [0, 17, 29])
def test_text_facts_are_counted_across_ranges(note, where):
    objs = classification_lines(30)
    objs[where]["note"] = "x" * note
    data = manifest_bytes(objs)[:-1]  # the last line has no newline
    table, facts = _arrow_scan.read_table(data, ranges=4, line_limit=20_000)
    assert facts.lines == table.num_rows == 30
    assert facts.long_lines == (len(orjson.dumps(objs[where])) > 20_000)
    assert facts.first == data[:4] and facts.valid_utf8


def _mutate(line: int, change):
    def build() -> bytes:
        objs = classification_lines(40)
        for o in objs:
            o["n"] = 1
        raw = [orjson.dumps(o) for o in objs]
        raw[line] = change(objs[line], raw[line])
        return b"\n".join(raw) + b"\n"
    return build


def _with(**extra):
    return lambda obj, raw: orjson.dumps({**obj, **extra})


def _meta(**extra):
    return lambda obj, raw: orjson.dumps({**obj, "birds-metadata": {**obj["birds-metadata"], **extra}})


# (how line 36 of 40 differs, whether Arrow's frame is kept); each is read in 3 ranges, so the
# difference is in a later range than the one the first schema comes from
LATE_DIFFERENCES = {
    "a key only this line has": (_mutate(35, _with(note="late")), True),
    "an integer confidence among floats": (_mutate(35, _meta(confidence=0)), True),
    "a date without the canonical T": (_mutate(35, _meta(**{"creation-date": "2024-02-29 00:00:35.000035"})), True),
    "a float among integers": (_mutate(35, _with(n=2.5)), False),
    "a whole float among integers": (_mutate(35, _with(n=2.0)), False),
    "an explicit null": (_mutate(35, _with(note=None)), False),
    "a blank line": (_mutate(35, lambda obj, raw: b"\n" + raw), False),
    "two objects on one line": (_mutate(35, lambda obj, raw: raw + raw), False),
    "invalid UTF-8": (_mutate(35, lambda obj, raw: raw.replace(b"s3://b/", b"s3://\xff/")), False),
}


@pytest.mark.parametrize("case", LATE_DIFFERENCES, ids=str)
def test_a_difference_in_a_later_range_is_never_guessed(case):
    build, kept = LATE_DIFFERENCES[case]
    data = build()
    fast = _arrow_read.arrow_frame(data, validate=True, ranges=3)
    assert (fast is not None) == kept
    try:
        exact = m.frame_from_bytes(data, engine="python")
    except ManifestError as e:  # then the default reader must say the same, with the line
        assert not kept and ":36: " in str(e)
        with pytest.raises(ManifestError, match=":36: "):
            m.frame_from_bytes(data)
        return
    assert m.to_manifest(exact) == [orjson.dumps(o).decode() for o in parsed_lines(data)]
    if kept:
        pd.testing.assert_frame_equal(fast, exact)


def test_non_canonical_date_in_a_big_column_keeps_strings():
    data = LATE_DIFFERENCES["a date without the canonical T"][0]()
    df = _arrow_read.arrow_frame(data, validate=True, ranges=3)
    assert df["birds-metadata.creation-date"].dtype != "datetime64[ns]"
    assert df["birds-metadata.creation-date"][35] == "2024-02-29 00:00:35.000035"


# ---------------------------------------------------------------------------- the column writer, streamed

def test_column_writer_escapes_quotes_and_lowers_job_names():
    objs = classification_lines(6)
    for i, o in enumerate(objs):
        o["birds-metadata"]["job-name"] = "labeling-job/Birds-Clone"
        o["note"] = ["plain", 'say "hi"', "back\\slash", "\u00fcn\u00efcode", "</script>", "x/y"][i]
    df = m.frame_from_objects(objs)
    assert _column_write.template_parts(df, m._plan(df), {"birds"}) is not None
    lower = {"job-name": "labeling-job/birds-clone"}
    assert m.to_manifest(df) == [orjson.dumps({**o, "birds-metadata": {**o["birds-metadata"], **lower}}).decode()
                                 for o in objs]


def test_failed_rows_are_refused_before_anything_is_created(tmp_path):
    df = m.frame_from_bytes(manifest_bytes(classification_lines(3)) + b"{oops\n", errors="collect")
    with pytest.raises(ManifestError, match="1 rows failed to read"):
        m.write_manifest(df, tmp_path / "out" / "a.manifest")
    assert not (tmp_path / "out").exists()


def test_a_value_that_cannot_be_written_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(m, "_CHUNK", 2)  # so it fails after the first chunks went to disk
    df = m.frame_from_objects(classification_lines(6))
    df["extra"] = pd.Series([1, 2, 3, 4, {"a set"}, 6], dtype=object)
    with pytest.raises(TypeError, match="set"):
        m.write_manifest(df, tmp_path / "a.manifest")
    assert list(tmp_path.iterdir()) == []


def test_if_none_match_keeps_the_first_file(tmp_path):
    df = m.frame_from_objects(classification_lines(3))
    path = tmp_path / "a.manifest"
    m.write_manifest(df, path, if_none_match=True)
    with pytest.raises(ConflictError):
        m.write_manifest(df.iloc[:1], path, if_none_match=True)
    assert path.read_bytes() == manifest_bytes(classification_lines(3))
    assert [p.name for p in tmp_path.iterdir()] == ["a.manifest"]


def test_if_none_match_on_s3(s3):
    df = m.frame_from_objects(classification_lines(3))
    m.write_manifest(df, f"{s3}/a.manifest", if_none_match=True)
    with pytest.raises(ConflictError):
        m.write_manifest(df.iloc[:1], f"{s3}/a.manifest", if_none_match=True)
    assert storage.read_bytes(f"{s3}/a.manifest") == manifest_bytes(classification_lines(3))
