"""The local journal: checksummed records, several writers on one file, a disk that fills up."""
from __future__ import annotations

import errno
import os
import subprocess
import uuid

import orjson
import pandas as pd
import pytest

from gtwidgets import LabelingJob
from gtwidgets.errors import StorageError
from gtwidgets.journal import Journal, JournalWarning

CATS = ["Bag", "Watch"]


def job_at(tmp_path, journal_dir, n=6):
    frame = pd.DataFrame({"source-ref": [f"s3://shop/{i}.jpg" for i in range(n)]})
    return LabelingJob("shop", input=frame, categories=CATS, output=str(tmp_path / "out"),
                       worker_id="alice", journal_dir=journal_dir)


def test_a_damaged_record_is_skipped_with_its_file_and_line(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    journal.append({"op": "skip", "id": "0"}, {"op": "skip", "id": "1"}, {"op": "skip", "id": "2"})
    journal.close()
    data = bytearray((tmp_path / "j.jsonl").read_bytes())
    second = data.index(b"\n") + 1
    data[second + data[second:].index(b'"1"') + 1] = ord("7")  # still JSON, another object
    (tmp_path / "j.jsonl").write_bytes(bytes(data))

    with pytest.warns(JournalWarning, match=r"j\.jsonl:2: damaged journal record"):
        ids = [r["id"] for r in Journal(tmp_path / "j.jsonl").records()]
    assert ids == ["0", "2"]


def test_records_written_before_checksums_still_read(tmp_path):
    (tmp_path / "old.jsonl").write_bytes(b'{"seq":1,"op":"skip","id":"4"}\n')
    journal = Journal(tmp_path / "old.jsonl")
    assert [r["id"] for r in journal.records()] == ["4"]
    assert journal.append({"op": "skip", "id": "5"}) == [2]
    journal.close()


def test_two_writers_on_one_file_never_share_a_number(tmp_path):
    a, b = Journal(tmp_path / "j.jsonl"), Journal(tmp_path / "j.jsonl")
    list(a.records()), list(b.records())
    seqs = a.append({"op": "skip", "id": "0"}) + b.append({"op": "skip", "id": "1"}) + a.append({"op": "skip", "id": "2"})
    assert seqs == [1, 2, 3]
    assert [r["id"] for r in a.tail()] == ["1"]  # what the other one wrote, once
    assert a.tail() == []
    a.close(), b.close()


@pytest.fixture
def small_disk(tmp_path):
    """A real 64 KiB file system (tmpfs), so a write fails with ENOSPC the way a full disk does."""
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()}); needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder):
    """Take every free byte of the file system, the way another program filling the disk would."""
    path = folder / f"filler-{uuid.uuid4().hex}"
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return path


def test_a_write_cut_short_by_a_full_disk_leaves_nothing_behind(small_disk):
    journal = Journal(small_disk / "j.jsonl")
    while os.path.getsize(journal.path) % 4096 < 4096 - 100:  # the next record crosses into a new page
        journal.append({"op": "skip", "id": "0"})
    before = journal.path.read_bytes()
    filler = fill(small_disk)
    with pytest.raises(StorageError, match=r"j\.jsonl: cannot write the labeling journal \(No space left on device\)"):
        journal.append({"op": "skip", "id": "1", "pad": "x" * 300})
    assert journal.path.read_bytes() == before  # the part that fitted was cut back
    filler.unlink()
    journal.append({"op": "skip", "id": "2"})
    journal.close()
    assert [r["id"] for r in Journal(small_disk / "j.jsonl").records()][-1:] == ["2"]
    assert "1" not in [r["id"] for r in Journal(small_disk / "j.jsonl").records()]


def test_a_full_disk_names_the_journal_and_the_failed_answer_does_not_come_back(tmp_path, small_disk):
    job = job_at(tmp_path, small_disk)
    filler = fill(small_disk)
    with pytest.raises(StorageError, match=r"cannot write the labeling journal \(No space left on device\); "
                                           r"free space in .*small.* or pass journal_dir="):
        job.submit(0, "Watch")
    assert job.answer("0") is None and job.progress()["labeled"] == 0

    filler.unlink()
    job.submit(1, "Bag")
    job.close(timeout=0)
    again = job_at(tmp_path, small_disk)
    assert again.answer("0") is None  # the answer whose submit raised stays away
    assert again.answer("1") == ["Bag"]
    again.close(timeout=0)


def test_every_record_carries_a_checksum(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    journal.append({"op": "skip", "id": "0"})
    journal.close()
    assert "crc" in orjson.loads((tmp_path / "j.jsonl").read_bytes())
