"""The compact manifest view: a line's JSON beside its DataFrame row, safe for hostile data."""
from __future__ import annotations

import html

import orjson
import pytest
from IPython.lib.pretty import pretty

import gtwidgets as gt
from gtwidgets.lineview import ManifestLine, show_line
from gtwidgets.manifests import frame_from_bytes

from shared_fixtures import OWN_MANIFESTS, manifest_params

HOSTILE = "<script>alert('x')</script> & <img src=x onerror=alert(1)>"


@pytest.mark.parametrize("path", manifest_params())
def test_every_line_shows_the_object_the_file_holds(path):
    df = gt.read_manifest(path)
    lines = path.read_bytes().splitlines()
    for i in (0, len(df) - 1):
        view = show_line(df, i)
        assert view.object == orjson.loads(lines[i])
        assert orjson.loads(view.json) == orjson.loads(lines[i])  # pretty, but the same JSON
        assert orjson.loads(view.line) == orjson.loads(lines[i])
        assert "\n" not in view.line


def test_row_keeps_only_the_keys_the_line_has():
    df = frame_from_bytes(b'{"source-ref":"s3://b/1.jpg","note":"first"}\n{"source-ref":"s3://b/2.jpg","n":7}\n')
    first, second = show_line(df, 0), show_line(df, 1)
    assert list(first.row.index) == ["source-ref", "note"]
    assert list(second.row.index) == ["source-ref", "n"] and second.row["n"] == 7
    assert "note" not in repr(second) and "note" in repr(first)
    assert "line 2 (row 1) as JSON:" in repr(second)


def test_hostile_strings_are_escaped_in_html():
    line = {"source": HOSTILE, "label": 0,
            "label-metadata": {"class-name": HOSTILE, "job-name": "labeling-job/label", "confidence": 0,
                               "type": "groundtruth/text-classification", "human-annotated": "yes",
                               "creation-date": "2024-01-02T03:04:05.000006"},
            "<b>key</b>": "x"}
    df = frame_from_bytes(orjson.dumps(line) + b"\n")
    page = show_line(df, 0)._repr_html_()
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert page.count(html.escape(HOSTILE)) >= 2  # the JSON side and the row side
    assert html.escape("<b>key</b>") in page
    # the plain text keeps the data as it is
    assert HOSTILE in repr(show_line(df, 0))


def test_plain_text_in_ipython_is_the_repr():
    df = gt.read_manifest(OWN_MANIFESTS[0])
    view = show_line(df, 0)
    assert pretty(view) == repr(view)
    assert "as a DataFrame row:" in pretty(view)


def test_a_line_that_did_not_parse_shows_its_text_and_error():
    df = frame_from_bytes(b'{"source":"ok"}\n{"source": "unterminated\n', errors="collect")
    view = ManifestLine(df, 1)
    assert view.object is None and view.json == '{"source": "unterminated'
    assert view.error and ":2:" in view.error
    assert "could not be read" in repr(view) and "_error" not in repr(view)
    assert "line text (not JSON)" in view._repr_html_()
    assert show_line(df, 0).object == {"source": "ok"}


def test_a_row_that_is_not_there_says_which_are():
    df = frame_from_bytes(b'{"source":"a"}\n{"source":"b"}\n')
    with pytest.raises(KeyError, match="0 to 1"):
        show_line(df, 5)


def test_the_row_shows_creation_date_as_the_manifest_holds_it():
    line = {"source-ref": "s3://b/1.jpg", "pets": 1,
            "pets-metadata": {"class-name": "dog", "job-name": "labeling-job/pets", "confidence": 0,
                              "type": "groundtruth/image-classification", "human-annotated": "yes",
                              "creation-date": "2024-05-06T09:10:00.000000"}}
    view = show_line(frame_from_bytes(orjson.dumps(line) + b"\n"), 0)
    assert "2024-05-06T09:10:00.000000" in view._repr_html_().split("DataFrame row")[1]
    row_text = repr(view).split("as a DataFrame row:")[1]
    assert row_text.split("pets-metadata.creation-date")[1].split("\n")[0].strip() == "2024-05-06T09:10:00.000000"
