"""Benchmark: reading and writing a big image-classification output manifest.

Generates an N-line Ground Truth output manifest (default 1,000,000 lines, about 270 MB), then
runs each contender in its own subprocess (so peak memory, ru_maxrss, is its own):

- floor-bytes: read the file's bytes
- floor-orjson: read the bytes and orjson.loads every line
- pyarrow: pyarrow.json.read_json (Arrow's own parse, for reference)
- baseline: the tutorial way, pandas.read_json(lines=True) + pandas.json_normalize
- read_manifest: gtwidgets.read_manifest (then write_manifest of the same frame, timed apart)

and prints seconds, peak memory and the ratios the issue sets as targets.

    python bench/manifest_io.py            # 1,000,000 lines
    python bench/manifest_io.py --quick    # 100,000 lines
    python bench/manifest_io.py --lines 200000 --skip baseline
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta

CONTENDERS = ("floor-bytes", "floor-orjson", "pyarrow", "baseline", "read_manifest")
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
    """Run one contender in this process; report seconds and peak RSS."""
    result: dict = {"name": name}
    if name in ("read_manifest", "pyarrow", "baseline"):  # one-time imports are not per-file cost
        import pandas  # noqa: F401
        import pyarrow.compute  # noqa: F401
        import pyarrow.json  # noqa: F401
    if name == "floor-bytes":
        t = time.perf_counter()
        data = open(path, "rb").read()
        result["seconds"] = time.perf_counter() - t
        result["rows"] = data.count(b"\n")
    elif name == "floor-orjson":
        import gc

        import orjson
        t = time.perf_counter()
        gc.disable()
        data = open(path, "rb").read()
        rows = [orjson.loads(line) for line in data.splitlines()]
        result["seconds"] = time.perf_counter() - t
        result["rows"] = len(rows)
    elif name == "pyarrow":
        import pyarrow.json as pj
        t = time.perf_counter()
        table = pj.read_json(path)
        result["seconds"] = time.perf_counter() - t
        result["rows"] = table.num_rows
    elif name == "baseline":
        import pandas as pd
        t = time.perf_counter()
        raw = pd.read_json(path, lines=True)
        df = pd.json_normalize(raw.to_dict(orient="records"))
        result["seconds"] = time.perf_counter() - t
        result["rows"] = len(df)
    elif name == "read_manifest":
        import gtwidgets.manifest as m
        t = time.perf_counter()
        df = m.read_manifest(path)
        result["seconds"] = time.perf_counter() - t
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
    p.add_argument("--skip", nargs="*", default=[], choices=CONTENDERS, help="contenders to leave out")
    p.add_argument("--file", help="use this manifest instead of generating one")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.file)))
        return 0
    lines = 100_000 if args.quick else args.lines
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
            proc = subprocess.run([sys.executable, __file__, "--worker", name, "--file", path],
                                  capture_output=True, text=True)
            if proc.returncode:
                print(f"{name}: failed\n{proc.stderr[-2000:]}")
                continue
            r = results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            extra = ""
            if "write_seconds" in r:
                extra = f"; write {r['write_seconds']:.2f} s (byte-identical: {r['write_identical_bytes']})"
            print(f"{name:14s} {r['seconds']:7.2f} s  peak {r['peak_rss_mb']:7.0f} MB  rows {r['rows']:,}{extra}")
        ours, base = results.get("read_manifest"), results.get("baseline")
        if ours and base:
            speed = base["seconds"] / ours["seconds"]
            mem = ours["peak_rss_mb"] / base["peak_rss_mb"]
            print(f"read_manifest vs baseline: {speed:.1f}x faster (target >= 10x), "
                  f"{mem:.2f} of its peak memory (target <= 0.25)")
        if ours:
            print(f"write / read time: {ours['write_seconds'] / ours['seconds']:.2f} (target < 3)")
            for floor in ("floor-bytes", "floor-orjson", "pyarrow"):
                if floor in results:
                    print(f"read_manifest / {floor}: {ours['seconds'] / results[floor]['seconds']:.2f}x time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
