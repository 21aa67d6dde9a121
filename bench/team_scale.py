"""Benchmark: a team job of N objects (3 workers per object) on the local S3, with and without the answer index.

Two workers' answers are stored (Ground Truth's per-object files, plus the index segments and
checkpoints their jobs would have written); a third worker then

- re-opens the job (a kernel restart: a new ``LabelingJob``),
- refreshes (reads the others' new answers and decisions),
- labels 100 objects and flushes (answer files, index segments, the output manifest by If-Match),

at each size, once with the index (``answer_index=True``, the default) and once as before it
(``answer_index=False``: list and read every file), with the S3 requests counted by a botocore
event hook. Also the first open of a job that has only Ground Truth's files (no index yet: one
full scan, which writes a checkpoint) and the open after it, and the time of one listing page
of the local store (``gtwidgets.s3server``, localbucket), which walks its whole bucket.

Seeding writes the answer files straight into the local store's data folder (localbucket keeps
each key as a file there) and the index through ``AnswerIndex`` on that folder, one segment per
64 answers as the uploader does. The baseline at 100,000 objects lists 200 pages of a
200,000-key bucket, about 4 s a page here: it is skipped unless ``--baseline-max`` allows it.

    python bench/team_scale.py                       # 2,000, 20,000 and 100,000 objects
    python bench/team_scale.py --sizes 2000          # quick
    python bench/team_scale.py --baseline-max 100000 --first-open-max 100000   # everything (slow)
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402
import pandas as pd  # noqa: E402

CATS = ["cat", "dog", "bird"]
WORKERS = ("ann", "bob")
BUCKET, GT_BUCKET = "bench", "gtonly"
TARGETS = {"re-open": 5.0, "refresh": 2.0, "100 labels + flush": 10.0}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,20000,100000", help="objects per job, comma-separated")
    ap.add_argument("--labels", type=int, default=100, help="labels the third worker gives (default 100)")
    ap.add_argument("--baseline-max", type=int, default=20_000,
                    help="largest size the files-only baseline runs at (default 20,000)")
    ap.add_argument("--first-open-max", type=int, default=20_000,
                    help="largest size of the Ground-Truth-files-only first open (default 20,000)")
    ap.add_argument("--keep", action="store_true", help="keep the data folders")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    results = {n: run_size(n, args) for n in sizes}
    report(results, sizes)


def run_size(n: int, args) -> dict:
    from gtwidgets import storage
    from gtwidgets.s3server import serve

    out: dict[str, tuple[float, dict] | None] = {}
    root = Path(tempfile.mkdtemp(prefix=f"team-scale-{n}-"))
    try:
        t = time.perf_counter()
        seed(root / BUCKET / "jobs" / "pets", n, index=True)
        if n <= args.first_open_max:
            seed(root / GT_BUCKET / "jobs" / "pets", n, index=False)
        print(f"[{n:,}] seeded in {time.perf_counter() - t:.0f} s", flush=True)
        with serve(root) as server:
            os.environ.update(server.environ)  # requests are signed with the data folder's own key
            counter = Counter(storage.s3_client())
            out["list page"] = counter.time(lambda: storage.s3_client().list_objects_v2(
                Bucket=BUCKET, Prefix="jobs/pets/annotations/worker-response-index/", MaxKeys=1000))
            frame = pd.DataFrame({"source-ref": [f"s3://pets/{i}.jpg" for i in range(n)]})
            home = root.with_name(root.name + "-journals")
            out.update(session(frame, f"s3://{BUCKET}/jobs", "cyd", home, counter, args.labels, True, n))
            if n <= args.baseline_max:
                base = session(frame, f"s3://{BUCKET}/jobs", "dan", home, counter, args.labels, False, n)
                out.update({f"{k} [files only]": v for k, v in base.items()})
            if n <= args.first_open_max:
                out["first open, files only"] = counter.time(
                    lambda: open_job(frame, f"s3://{GT_BUCKET}/jobs", "eve", home, True).close())
                out["the open after it"] = counter.time(
                    lambda: open_job(frame, f"s3://{GT_BUCKET}/jobs", "fay", home, True).close())
            counter.close()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(root.with_name(root.name + "-journals"), ignore_errors=True)
    return out


def session(frame, output, worker, home, counter, labels, index, n) -> dict:
    """Re-open, refresh, label and flush, as the third worker."""
    res = {}
    holder = {}
    res["re-open"] = counter.time(lambda: holder.setdefault("job", open_job(frame, output, worker, home, index)))
    job = holder["job"]
    assert len(job.all_answers()) >= 2 * n, "the job does not see the two workers' answers"
    res["refresh"] = counter.time(job.refresh)

    def label():
        oid = None
        for _ in range(labels):
            oid = job.next_unlabeled(oid)
            job.submit(oid, CATS[int(oid) % 3])
        assert job.flush(600), job.sync_status()
    res["100 labels + flush"] = counter.time(label)
    job.close()
    print(f"  {worker} ({'index' if index else 'files only'}): " +
          ", ".join(f"{k} {v[0]:.2f} s" for k, v in res.items()), flush=True)
    return res


def open_job(frame, output, worker, home, index):
    from gtwidgets import LabelingJob

    return LabelingJob("pets", input=frame, categories=CATS, output=output, worker_id=worker,
                       workers_per_object=3, journal_dir=home / worker, answer_index=index)


def seed(job_dir: Path, n: int, *, index: bool) -> None:
    """The two workers' answer files, written as files of the local store; their index through AnswerIndex."""
    from gtwidgets.answer_index import AnswerIndex
    from gtwidgets.decisions import DecisionStore
    from gtwidgets.output_layout import parse_worker_response, worker_response_dir, worker_response_index_dir

    files = Path(worker_response_dir(str(job_dir)))
    indexes = {w: AnswerIndex(str(files), worker_response_index_dir(str(job_dir)), writer=w,
                              parse=parse_worker_response) for w in WORKERS} if index else {}
    for ix in indexes.values():
        ix.scan()
    if index:  # the decisions' index, as the workers' jobs left it at their first open (no decisions yet)
        DecisionStore(str(job_dir), writer=WORKERS[0]).scan()
    for i in range(n):
        folder = files / str(i)
        folder.mkdir(parents=True)
        for k, w in enumerate(WORKERS):
            name = f"2024-01-0{1 + k}_10:{i // 3600 % 60:02d}:{i % 60:02d}_{hashlib.sha1(w.encode()).hexdigest()[:8]}.json"
            body = orjson.dumps({"answers": [{
                "answerContent": {"crowd-image-classifier": {"label": CATS[(i + k) % 3]}}, "workerId": w,
                "acceptanceTime": f"2024-01-0{1 + k}T10:00:00.000Z", "submissionTime": f"2024-01-0{1 + k}T10:00:05.000Z",
                "timeSpentInSeconds": 5.0}]})
            (folder / name).write_bytes(body)
            if index:
                indexes[w].wrote(str(i), name, body)
                if (i + 1) % 64 == 0:
                    indexes[w].commit()
    for ix in indexes.values():
        ix.commit()


class Counter:
    """Counts the S3 calls a client makes (botocore's before-call event), by operation."""

    def __init__(self, client):
        self.events = client.meta.events
        self.calls: dict[str, int] = {}
        self.events.register("before-call.s3", self._count)

    def _count(self, event_name, **kwargs):
        op = event_name.rsplit(".", 1)[-1]
        self.calls[op] = self.calls.get(op, 0) + 1

    def time(self, fn) -> tuple[float, dict]:
        self.calls = {}
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t, dict(self.calls)

    def close(self):
        self.events.unregister("before-call.s3", self._count)


def report(results: dict, sizes: list[int]) -> None:
    names = list(dict.fromkeys(k for r in results.values() for k in r))
    short = {"GetObject": "GET", "PutObject": "PUT", "ListObjectsV2": "LIST", "HeadObject": "HEAD",
             "DeleteObject": "DEL"}
    width = 34
    print(f"\n{'seconds (S3 requests)':{width}s}" + "".join(f"{n:>30,}" for n in sizes))
    for name in names:
        cells = []
        for n in sizes:
            r = results[n].get(name)
            if r is None:
                cells.append(f"{'skipped':>30s}")
                continue
            s, calls = r
            req = " ".join(f"{short.get(op, op)}{c}" for op, c in sorted(calls.items()))
            cells.append(f"{s:8.2f} ({req})".rjust(30))
        print(f"{name:{width}s}" + "".join(cells))
    print("\nfiles only / index (x faster):")
    for name in TARGETS:
        ratios = []
        for n in sizes:
            a, b = results[n].get(f"{name} [files only]"), results[n].get(name)
            ratios.append(f"{a[0] / b[0]:.0f}x".rjust(12) if a and b else "-".rjust(12))
        print(f"  {name:30s}" + "".join(ratios))
    big = max(sizes)
    print(f"\ntargets at {big:,} objects:")
    for name, limit in TARGETS.items():
        r = results[big].get(name)
        if r:
            print(f"  {name:30s} {r[0]:6.2f} s  {'PASS' if r[0] < limit else 'MISS'} (< {limit:g} s)")


if __name__ == "__main__":
    main()
