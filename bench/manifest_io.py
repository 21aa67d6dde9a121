"""Benchmark: reading and writing a big image-classification output manifest.

Generates an N-line Ground Truth output manifest (default 1,000,000 lines, about 270 MB), then
runs each contender in its own subprocess (so peak memory, ru_maxrss, is its own):

- floor-bytes: read the file's bytes
- floor-orjson: read the bytes and orjson.loads every line
- pyarrow: pyarrow.json.read_json (Arrow's own parse, for reference)
- baseline: the tutorial way, pandas.read_json(lines=True) + pandas.json_normalize
- read_manifest: gtwidgets.read_manifest (then write_manifest of the same frame, timed apart)

and prints seconds, peak memory, the ratios the issue sets as targets and, last, one PASS/MISS
line per target. The machine is shared: ``--repeat 3`` runs every contender three times (each
run in a fresh subprocess) and judges the medians; the load average is printed before and after.

    python bench/manifest_io.py              # 1,000,000 lines
    python bench/manifest_io.py --repeat 3   # the same, medians of three runs
    python bench/manifest_io.py --quick      # 100,000 lines
    python bench/manifest_io.py --n 200000 --skip baseline
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta

CONTENDERS = ("floor-bytes", "floor-orjson", "pyarrow", "baseline", "read_manifest")
TARGETS = {"speed-up": 10.0, "memory": 0.25, "write/read": 3.0}
CLASSES = ["Falcon", "Owl", "Sparrow", "Eagle", "Heron", "Parrot", "Robin", "Swan", "Crow", "Gull"]


def generate(path: str, lines: int, *, seed: int = 0) -> None:
    """Lines shaped like real 2019 output (sme-birds): key order, 2-decimal confidences, 6-digit dates."""
    import orjson

    rng = random.Random(seed)
    start = datetime(2019, 4, 18, 16, 37, 19)
    with open(path, "wb") as f:
        batch = []
        for i in range(lines):
            k = rng.randrange(len(CLASSES))
            conf = round(rng.uniform(0.5, 0.95), 2)
            batch.append(orjson.dumps({
                "source-ref": f"s3://birdstop-ic/birds-subset/all_data/{i:016x}.jpg",
                "birds-clone": k,
                "birds-clone-metadata": {
                    "confidence": conf, "job-name": "labeling-job/birds-clone",
                    "class-name": CLASSES[k], "human-annotated": "yes",
                    "creation-date": (start + timedelta(microseconds=i * 7919)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
                    "type": "groundtruth/image-classification"}}))
            if len(batch) == 10_000:
                f.write(b"\n".join(batch) + b"\n")
                batch = []
        if batch:
            f.write(b"\n".join(batch) + b"\n")


def worker(name: str, path: str) -> dict:
    """Run one contender in this process; report seconds, CPU seconds (all threads) and peak RSS."""
    result: dict = {"name": name}
    if name in ("read_manifest", "pyarrow", "baseline"):  # one-time imports are not per-file cost
        import pandas  # noqa: F401
        import pyarrow.compute  # noqa: F401
        import pyarrow.json  # noqa: F401
    if name == "floor-bytes":
        t, c = time.perf_counter(), time.process_time()
        data = open(path, "rb").read()
        result["seconds"], result["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        result["rows"] = data.count(b"\n")
    elif name == "floor-orjson":
        import gc

        import orjson
        t, c = time.perf_counter(), time.process_time()
        gc.disable()
        data = open(path, "rb").read()
        rows = [orjson.loads(line) for line in data.splitlines()]
        result["seconds"], result["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        result["rows"] = len(rows)
    elif name == "pyarrow":
        import pyarrow.json as pj
        t, c = time.perf_counter(), time.process_time()
        table = pj.read_json(path)
        result["seconds"], result["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        result["rows"] = table.num_rows
    elif name == "baseline":
        import pandas as pd
        t, c = time.perf_counter(), time.process_time()
        raw = pd.read_json(path, lines=True)
        df = pd.json_normalize(raw.to_dict(orient="records"))
        result["seconds"], result["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        result["rows"] = len(df)
    elif name == "read_manifest":
        import gtwidgets.manifests.api as m
        t, c = time.perf_counter(), time.process_time()
        df = m.read_manifest(path)
        result["seconds"], result["cpu_seconds"] = time.perf_counter() - t, time.process_time() - c
        result["rows"] = len(df)
        result["read_rss_mb"] = _maxrss_mb()
        out = path + ".written"
        t = time.perf_counter()
        m.write_manifest(df, out)
        result["write_seconds"] = time.perf_counter() - t
        result["write_identical_bytes"] = _same_file(path, out)
        os.unlink(out)
    else:
        raise SystemExit(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")
    result["peak_rss_mb"] = result.get("read_rss_mb", _maxrss_mb())
    return result


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _same_file(a: str, b: str) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 24), fb.read(1 << 24)
            if x != y:
                return False
            if not x:
                return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", "--n", type=int, default=1_000_000, help="manifest lines (default 1,000,000)")
    p.add_argument("--quick", action="store_true", help="100,000 lines")
    p.add_argument("--repeat", type=int, default=1, help="runs of each contender; medians are judged (default 1)")
    p.add_argument("--skip", nargs="*", default=[], choices=CONTENDERS, help="contenders to leave out")
    p.add_argument("--file", help="use this manifest instead of generating one")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.file)))
        return 0
    lines = 100_000 if args.quick else args.lines
    print(f"load average before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="gtwidgets-bench-") as tmp:
        path = args.file or os.path.join(tmp, "output.manifest")
        if not args.file:
            t = time.perf_counter()
            generate(path, lines)
            print(f"generated {lines:,} lines, {os.path.getsize(path) / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")
        results = {}
        for name in CONTENDERS:
            if name in args.skip:
                continue
            runs = [r for r in (_run(name, path) for _ in range(max(1, args.repeat))) if r]
            if not runs:
                continue
            r = results[name] = _median(runs)
            extra = ""
            if "write_seconds" in r:
                extra = f"; write {r['write_seconds']:.2f} s (byte-identical: {r['write_identical_bytes']})"
            spread = ""
            if len(runs) > 1:
                spread = " (runs: " + ", ".join(f"{x['seconds']:.2f}" for x in runs) + " s)"
            print(f"{name:14s} {r['seconds']:7.2f} s (cpu {r['cpu_seconds']:5.2f} s)  peak {r['peak_rss_mb']:7.0f} MB  "
                  f"rows {r['rows']:,}{extra}{spread}")
        print(f"load average after: {_load()}")
        verdicts = _verdicts(results)
    for line in verdicts:
        print(line)
    return 0


def _run(name: str, path: str) -> dict | None:
    """One contender in a fresh subprocess, so its peak memory is its own."""
    proc = subprocess.run([sys.executable, __file__, "--worker", name, "--file", path],
                          capture_output=True, text=True)
    if proc.returncode:
        print(f"{name}: failed\n{proc.stderr[-2000:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            out[key] = statistics.median(r[key] for r in runs)
    out["write_identical_bytes"] = all(r.get("write_identical_bytes", True) for r in runs)
    return out


def _verdicts(results: dict) -> list[str]:
    """The ratios against the floors, then one PASS/MISS line per target of the issue."""
    out = []
    ours, base = results.get("read_manifest"), results.get("baseline")
    if ours:
        for floor in ("floor-bytes", "floor-orjson", "pyarrow"):
            if floor in results:
                out.append(f"read_manifest / {floor}: {ours['seconds'] / results[floor]['seconds']:.2f}x time, "
                           f"{ours['peak_rss_mb'] / results[floor]['peak_rss_mb']:.2f}x peak memory")

    def verdict(ok: bool, text: str) -> str:
        return f"{'PASS' if ok else 'MISS'}  {text}"

    if ours and base:
        speed = base["seconds"] / ours["seconds"]
        mem = ours["peak_rss_mb"] / base["peak_rss_mb"]
        out.append(verdict(speed >= TARGETS["speed-up"],
                           f"read speed-up over the baseline: {speed:.1f}x (target >= {TARGETS['speed-up']:g}x)"))
        out.append(verdict(mem <= TARGETS["memory"],
                           f"read peak memory / baseline's: {mem:.2f} (target <= {TARGETS['memory']})"))
    else:
        out.append("MISS  read targets not judged: run both baseline and read_manifest")
    if ours:
        ratio = ours["write_seconds"] / ours["seconds"]
        out.append(verdict(ratio < TARGETS["write/read"],
                           f"write / read time: {ratio:.2f} (target < {TARGETS['write/read']:g})"))
        out.append(verdict(ours["write_identical_bytes"], "written file is byte-identical to the one read"))
    return out


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
