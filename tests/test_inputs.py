"""Input manifests from a folder or S3 prefix, like the console's automated data setup."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

import gtwidgets
from gtwidgets import cli, storage
from gtwidgets.errors import ConflictError, ManifestError

NAMES = ["a/1.jpg", "a/2.JPEG", "b/3.png", "b/c/4.jpg", "notes.txt", "5.gif", "6.jpg"]


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    for name in NAMES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"\xff\xd8")
    return root


def test_folder_lists_images_sorted_and_writes_console_named_manifest(folder):
    when = datetime(2020, 5, 30, 12, 13, 41, tzinfo=timezone.utc)
    df = gtwidgets.manifest_from_prefix(folder, now=when)
    refs = [r.removeprefix(str(folder) + "/") for r in df["source-ref"]]
    assert refs == ["6.jpg", "a/1.jpg", "a/2.JPEG", "b/3.png", "b/c/4.jpg"]
    written = df.attrs["gtwidgets"]["source"]
    assert written == str(folder / "dataset-20200530T121341.manifest")
    assert gtwidgets.read_manifest(written).gt.objects() == df.gt.objects()
    assert (folder / "dataset-20200530T121341.manifest").read_text().startswith('{"source-ref":"/')
    with pytest.raises(ConflictError, match="already exists"):
        gtwidgets.manifest_from_prefix(folder, now=when)


def test_extensions_are_configurable(folder):
    df = gtwidgets.manifest_from_prefix(folder, extensions=("gif", ".txt"), write=False)
    assert [r.rsplit("/", 1)[1] for r in df["source-ref"]] == ["5.gif", "notes.txt"]


def test_sample_by_count_and_fraction_is_seeded_and_ordered(folder):
    every = gtwidgets.manifest_from_prefix(folder, write=False)["source-ref"].tolist()
    two = gtwidgets.manifest_from_prefix(folder, sample=2, seed=7, write=False)["source-ref"].tolist()
    assert len(two) == 2 and two == sorted(two) and set(two) <= set(every)
    assert two == gtwidgets.manifest_from_prefix(folder, sample=2, seed=7, write=False)["source-ref"].tolist()
    draws = {tuple(gtwidgets.manifest_from_prefix(folder, sample=2, seed=s, write=False)["source-ref"])
             for s in range(10)}
    assert len(draws) > 1  # the seed matters
    assert len(gtwidgets.manifest_from_prefix(folder, sample=0.4, seed=1, write=False)) == 2
    assert len(gtwidgets.manifest_from_prefix(folder, sample=100, write=False)) == 5
    for bad in (0, 1.5, -1, "3"):
        with pytest.raises(ManifestError, match="sample="):
            gtwidgets.manifest_from_prefix(folder, sample=bad, write=False)


def test_no_images_says_what_to_check(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ManifestError, match=r"no files ending in \.jpg, \.jpeg, \.png"):
        gtwidgets.manifest_from_prefix(tmp_path)


def test_s3_prefix_with_separate_destination(s3):
    for name in NAMES:
        storage.write_bytes(f"{s3}/raw/{name}", b"\xff\xd8")
    df = gtwidgets.manifest_from_prefix(f"{s3}/raw/", dest=f"{s3}/manifests/", sample=3, seed=0)
    assert len(df) == 3 and all(r.startswith(f"{s3}/raw/") for r in df["source-ref"])
    written = df.attrs["gtwidgets"]["source"]
    assert re.fullmatch(rf"{s3}/manifests/dataset-\d{{8}}T\d{{6}}\.manifest", written)
    assert storage.read_bytes(written).decode().splitlines() == gtwidgets.to_manifest(df)


def test_cli_manifest_build(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["manifest", "build", str(folder), "--sample", "0.5", "--seed", "3",
                     "--ext", ".jpg", "--out", str(out)]) == 0
    message = capsys.readouterr().out
    [written] = list(out.glob("dataset-*.manifest"))
    assert message.strip() == f"wrote 2 lines to {written}"
    assert len(gtwidgets.read_manifest(written)) == 2
    assert cli.main(["manifest", "build", str(tmp_path / "missing")]) == 1
    assert "no such folder" in capsys.readouterr().err
