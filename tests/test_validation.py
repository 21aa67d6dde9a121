"""Ground Truth's manifest rules: every malformed input gets `file:line: what; fix`, never a traceback."""
from __future__ import annotations

import orjson
import pandas as pd
import pytest

import gtwidgets
from gtwidgets import cli, storage, tasks
from gtwidgets.errors import ManifestError
from gtwidgets.manifests import Problem, validate_manifest

from shared_fixtures import OWN, manifest_params

GOOD = {"source-ref": "s3://b/1.jpg"}
HAND_MADE = OWN / "manifests" / "chained-hand-made__gtw__output.manifest"


def write_lines(path, *lines, end=b"\n") -> str:
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else orjson.dumps(x) for x in lines) + end)
    return str(path)


def errors_of(path) -> list[Problem]:
    return [p for p in validate_manifest(path) if p.severity == "error"]


@pytest.mark.parametrize("path", manifest_params())
def test_every_fixture_is_valid(path):
    assert errors_of(path) == []


@pytest.mark.parametrize("path", [p for p in manifest_params(shared=False) if p.values[0] != HAND_MADE])
def test_our_fixtures_follow_every_rule_ground_truth_writes_by(path):
    assert validate_manifest(path) == []


def test_problem_reads_as_file_line_what_fix():
    p = Problem("data/train.manifest", 17, 'line has both "source" and "source-ref"', "keep one")
    assert str(p) == 'data/train.manifest:17: line has both "source" and "source-ref"; keep one'


@pytest.mark.parametrize("bad, words", [
    ({"source": "a", "source-ref": "s3://b/a.jpg"}, "both"),
    ({"id": 3}, "neither"),
    ({"source-ref": 5}, "not a string"),
    ({"source-ref": "s3://b/a.jpg", "$x": 1}, "'$'"),
])
def test_each_error_names_file_line_and_fix(tmp_path, bad, words):
    path = write_lines(tmp_path / "m.manifest", GOOD, bad, GOOD)
    problems = errors_of(path)
    assert problems, bad
    assert any(words in str(p) for p in problems), [str(p) for p in problems]
    assert all(str(p).startswith(f"{path}:2: ") and "; " in str(p) for p in problems)
    with pytest.raises(ManifestError) as e:
        gtwidgets.read_manifest(path)
    assert f"{path}:2: " in str(e.value)


# Rules on label pairs: Ground Truth copies an earlier job's (or a hand-made) pair through unchanged,
# so it accepts a file that breaks them; they warn, and reading keeps the line as it is.
@pytest.mark.parametrize("bad, words", [
    ({"source-ref": "s3://b/a.jpg", "my_label": 1, "my_label-metadata": {"type": tasks.IMAGE_CLASSIFICATION,
                                                                         "class-name": "a"}}, "letters, digits"),
    ({"source-ref": "s3://b/a.jpg", "seg": "s3://b/m.png", "seg-metadata": {"type": tasks.SEMANTIC_SEGMENTATION}},
     "must end in '-ref'"),
    ({"source-ref": "s3://b/a.jpg", "c-ref": 1, "c-ref-metadata": {"type": tasks.IMAGE_CLASSIFICATION,
                                                                   "class-name": "a"}}, "-ref' only"),
    ({"source-ref": "s3://b/a.jpg", "c": "x", "c-metadata": {"type": tasks.IMAGE_CLASSIFICATION,
                                                              "class-name": "a"}}, "not a class index"),
    ({"source-ref": "s3://b/a.jpg", "c": 1, "c-metadata": {"type": tasks.IMAGE_CLASSIFICATION}}, "class-name"),
    ({"source-ref": "s3://b/a.jpg", "c": [0, 2], "c-metadata": {"type": tasks.IMAGE_CLASSIFICATION_MULTILABEL,
                                                                 "class-map": {"0": "a"}}}, "lacks the chosen"),
    ({"source-ref": "s3://b/a.jpg", "c": 1, "c-metadata": {"type": tasks.IMAGE_CLASSIFICATION, "class-name": "a",
                                                            "confidence": 1.5}}, "from 0 to 1"),
    ({"source-ref": "s3://b/a.jpg", "c": 1, "c-metadata": {"type": tasks.IMAGE_CLASSIFICATION, "class-name": "a",
                                                            "human-annotated": True}}, '"yes" or "no"'),
    ({"source-ref": "s3://b/a.jpg", "c": {"image_size": [{}], "annotations": [{"class_id": 0, "left": 1, "top": 1,
                                                                               "width": 2, "height": 2}]},
      "c-metadata": {"type": tasks.OBJECT_DETECTION, "objects": [], "class-map": {"0": "a"}}}, "1 boxes"),
    ({"source-ref": "s3://b/a.jpg", "c": 1, "c-metadata": "groundtruth/image-classification"}, "not an object"),
    ({"source-ref": "s3://b/a.jpg", "v-ref": "1", "v-ref-metadata": {"type": tasks.LABEL_VERIFICATION,
                                                                     "class-name": "bad"}}, "-ref' only"),
    ({"source-ref": "s3://b/a.jpg", "c": 1, "c-metadata": {"class-name": "a"}}, 'no "type"'),
])
@pytest.mark.parametrize("engine", ["auto", "python"])
def test_each_label_rule_warns_with_file_line_and_fix_and_the_line_reads(tmp_path, bad, words, engine):
    path = write_lines(tmp_path / "m.manifest", GOOD, bad, GOOD)
    problems = validate_manifest(path)
    assert errors_of(path) == [] and problems, bad
    assert any(words in str(p) for p in problems), [str(p) for p in problems]
    assert all(str(p).startswith(f"{path}:2: ") and "; " in str(p) and p.severity == "warning" for p in problems)
    df = gtwidgets.read_manifest(path, engine=engine)
    assert df.gt.objects() == [GOOD, bad, GOOD]


def test_a_real_chained_file_with_a_hand_made_pair_reads_and_round_trips(tmp_path):
    # its earlier, hand-made segmentation pair lacks "-ref"; Ground Truth wrote the file all the same
    for engine in ("auto", "python"):
        df = gtwidgets.read_manifest(HAND_MADE, engine=engine)
        assert df.gt.label_attributes == {"defects": tasks.SEMANTIC_SEGMENTATION, "pcb-quality": tasks.IMAGE_CLASSIFICATION}
        gtwidgets.write_manifest(df, tmp_path / f"{engine}.manifest")
        assert (tmp_path / f"{engine}.manifest").read_bytes() == HAND_MADE.read_bytes()


def test_cli_warns_on_the_hand_made_pair_and_fails_only_when_strict(capsys):
    assert cli.main(["validate", str(HAND_MADE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"{HAND_MADE}:1: label attribute name 'defects' must end in '-ref' for "
                      "groundtruth/semantic-segmentation; Ground Truth copies such a pair through, but would refuse "
                      "the name for a new job's LabelAttributeName: rename the pair before labelling it again (warning)")
    assert any(line.startswith(f"{HAND_MADE}:2: ") for line in out)
    assert out[-1].startswith("OK: 1 file: 0 errors, ") and "warnings" in out[-1]
    assert cli.main(["validate", "--strict", str(HAND_MADE)]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAILED: 1 file: 0 errors, ")
    assert cli.main(["validate", "--strict", "--no-warnings", str(HAND_MADE)]) == 1  # hidden, still counted
    [summary] = capsys.readouterr().out.splitlines()
    assert summary.startswith("FAILED: 1 file: 0 errors, ")


def test_unknown_type_and_odd_date_are_warnings_only(tmp_path):
    line = {"source-ref": "s3://b/a.jpg", "x": {"k": 1},
            "x-metadata": {"type": "groundtruth/pdf-ner", "creation-date": "2020-05-25T12:53:54+0000"}}
    path = write_lines(tmp_path / "m.manifest", line)
    problems = validate_manifest(path)
    assert {p.severity for p in problems} == {"warning"} and len(problems) == 2
    assert gtwidgets.read_manifest(path).gt.objects() == [line]


# ---------------------------------------------------------------------------- malformed files

def test_empty_file(tmp_path):
    path = tmp_path / "empty.manifest"
    path.write_bytes(b"")
    [p] = validate_manifest(path)
    assert str(p).startswith(f"{path}: file is empty;")
    with pytest.raises(ManifestError, match="file is empty"):
        gtwidgets.read_manifest(path)
    assert len(gtwidgets.read_manifest(path, errors="collect")) == 0


def test_blank_line_is_named(tmp_path):
    path = write_lines(tmp_path / "m.manifest", GOOD, b"", GOOD)
    with pytest.raises(ManifestError, match=f"{path}:2: line is blank; delete it"):
        gtwidgets.read_manifest(path)
    df = gtwidgets.read_manifest(path, errors="collect")
    assert len(df) == 3 and df["_raw"][1] == "" and df["_error"][1].startswith(f"{path}:2:")


def test_crlf_line_ends_are_read(tmp_path):
    path = tmp_path / "crlf.manifest"
    path.write_bytes(b'{"source-ref":"s3://b/1.jpg"}\r\n{"source-ref":"s3://b/2.jpg"}\r\n')
    assert validate_manifest(path) == []
    for engine in ("auto", "python"):
        assert gtwidgets.read_manifest(path, engine=engine)["source-ref"].tolist() == ["s3://b/1.jpg", "s3://b/2.jpg"]
    assert b"\r" not in "\n".join(gtwidgets.to_manifest(gtwidgets.read_manifest(path))).encode()


def test_bom_is_a_warning_and_is_skipped(tmp_path):
    path = tmp_path / "bom.manifest"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(GOOD) + b"\n")
    [p] = validate_manifest(path)
    assert p.severity == "warning" and str(p).startswith(f"{path}:1: file starts with a UTF-8 byte-order mark")
    assert gtwidgets.read_manifest(path).gt.objects() == [GOOD]


def test_non_utf8_bytes(tmp_path):
    path = write_lines(tmp_path / "latin1.manifest", GOOD, '{"source":"caf\xe9"}'.encode("latin-1"))
    with pytest.raises(ManifestError, match=rf"{path}:2: line is not valid UTF-8 \(byte 0xe9 at byte 15\); save"):
        gtwidgets.read_manifest(path)
    df = gtwidgets.read_manifest(path, errors="collect")
    assert df["_raw"][1] == '{"source":"caf\\xe9"}'


def test_truncated_last_line(tmp_path):
    path = write_lines(tmp_path / "cut.manifest", GOOD, b'{"source-ref":"s3://b/2.j', end=b"")
    with pytest.raises(ManifestError, match=f"{path}:2: the file ends inside this line's JSON.*truncated"):
        gtwidgets.read_manifest(path)


def test_invalid_json_and_non_object_lines(tmp_path):
    path = write_lines(tmp_path / "m.manifest", GOOD, b"{'source-ref': 'x'}", b"[1, 2]", GOOD)
    problems = errors_of(path)
    assert [p.line for p in problems] == [2, 3]
    assert "not valid JSON" in problems[0].message and "not a JSON object" in problems[1].message


def test_fifty_megabyte_line_is_refused_clearly(tmp_path):
    big = {"source": "x" * 50_000_000}
    path = write_lines(tmp_path / "big.manifest", GOOD, big)
    with pytest.raises(ManifestError) as e:
        gtwidgets.read_manifest(path)
    text = str(e.value)
    assert f"{path}:2: line is 50,000,013 characters long, over Ground Truth's limit of 100,000" in text
    assert 'value of "source" is 50,000,000 characters' in text
    assert len(text) < 2000  # the line itself is never pasted into the message
    df = gtwidgets.read_manifest(path, validate=False)
    assert len(df["source"][1]) == 50_000_000


def test_attribute_limit_counts_characters_not_bytes(tmp_path):
    ok = {"source": "\u00e9" * 20_000}  # 40,000 bytes, 20,000 characters
    path = write_lines(tmp_path / "m.manifest", ok)
    assert errors_of(path) == []


def test_first_problems_listed_then_a_pointer(tmp_path):
    path = write_lines(tmp_path / "m.manifest", *([{"id": i} for i in range(25)]))
    with pytest.raises(ManifestError) as e:
        gtwidgets.read_manifest(path)
    assert str(e.value).count(f"{path}:") == 10 and "15 more" in str(e.value)
    assert len(e.value.problems) == 25


def test_collected_rows_are_kept_and_writing_them_needs_a_choice(tmp_path):
    path = write_lines(tmp_path / "m.manifest", GOOD, b"not json", {"source-ref": "s3://b/3.jpg", "source": "t"})
    df = gtwidgets.read_manifest(path, errors="collect")
    assert len(df) == 3 and df["_error"].notna().tolist() == [False, True, True]
    with pytest.raises(ManifestError, match="2 rows failed"):
        gtwidgets.to_manifest(df)
    assert gtwidgets.to_manifest(df, errors="skip") == ['{"source-ref":"s3://b/1.jpg"}']
    kept = gtwidgets.to_manifest(df, errors="keep")
    assert kept == ['{"source-ref":"s3://b/1.jpg"}', "not json", '{"source-ref":"s3://b/3.jpg","source":"t"}']


# ---------------------------------------------------------------------------- CLI and S3

def test_cli_validate_exit_codes(tmp_path, capsys):
    good = OWN / "manifests" / "image-classification__gtw__output.manifest"
    assert cli.main(["validate", str(good)]) == 0
    assert capsys.readouterr().out.strip().startswith("OK: 1 file: 0 errors")
    bad = write_lines(tmp_path / "bad.manifest", GOOD, {"id": 1}, b"{", end=b"")
    assert cli.main(["validate", str(good), bad]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{bad}:2: line has neither") and out[1].startswith(f"{bad}:3: the file ends inside")
    assert out[-1].startswith("FAILED: 2 files: 2 errors")
    assert cli.main(["validate", str(tmp_path / "nope.manifest")]) == 1
    assert "no such file" in capsys.readouterr().out


def test_validate_s3_object(s3, capsys):
    storage.write_bytes(f"{s3}/m.manifest", b'{"source-ref":"s3://b/1.jpg"}\n{"id":2}\n')
    [p] = validate_manifest(f"{s3}/m.manifest")
    assert str(p).startswith(f"{s3}/m.manifest:2: line has neither")
    assert cli.main(["validate", f"{s3}/m.manifest"]) == 1
