"""An index beside a job's per-object files, so opening and refreshing a big team job is cheap.

Ground Truth's files stay the truth (``<files>/<datasetObjectId>/<name>.json``: worker
responses, reviewers' decisions); this index only says what they hold, and any part of it
can be rebuilt from them. Its layout, under ``<index>/``::

    heads.json                         which segments exist: {"chains": {chain: {"last": n}},
                                       "checkpoint": {"name", "covers": {chain: n}}}
    chains/<chain>/<seq:08d>.jsonl     one writer's append-only segments (one per upload batch)
    checkpoints/<time>_<chain>.jsonl   the whole index as of ``covers``

Segments and checkpoints are immutable and written with If-None-Match, each writer only to
its own chain (a hash of its worker id), so no writer overwrites another's; ``heads.json`` is
the one shared object and changes only by If-Match (compare-and-swap). Readers GET
``heads.json`` and then only the segments they have not seen (no listing, which is what
makes this cheap: S3 lists 1,000 keys a call, and a local store may walk its whole bucket).
A record is ``{"o": object id, "n": file name, "at": ns, "v": parsed file or null (deleted)}``;
for one file the record with the latest ``at`` wins. A segment or checkpoint that is missing
or damaged makes the reader scan the files once and write a checkpoint that covers it.
"""
from __future__ import annotations

import hashlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import orjson

from . import storage
from .manifests._line_by_line import gc_paused
from .errors import ConflictError, NotFoundError, StorageError

__all__ = ["AnswerIndex", "CHECKPOINT_EVERY"]

#: A writer writes a checkpoint once readers would have to read more segments than this.
CHECKPOINT_EVERY = 64
_FORMAT = 1
_READ_THREADS = 16


class AnswerIndex:
    """The index of the files under ``files_prefix`` (``<id>/<name>.json``), kept in ``index_prefix``.

    ``parse(bytes)`` turns a file into what :meth:`scan` returns for it (ValueError: not
    indexed, as :func:`gtwidgets.responses.scan_object_files` leaves it out, its reason in
    ``problems`` when given). ``writer`` is
    who appends (a worker id): its segments go to its own chain.
    """

    def __init__(self, files_prefix: str, index_prefix: str, *, writer: str,
                 parse: Callable[[bytes], Any], problems: dict[str, str] | None = None):
        self.files_prefix = str(files_prefix)
        self.index_prefix = str(index_prefix)
        self.parse = parse
        self.problems = problems  # file -> why parse refused it, filled by full scans
        self.chain = hashlib.sha1(writer.encode()).hexdigest()[:12]
        self.rebuilds = 0                           # full scans of the files (for tests and benches)
        self._lock = threading.RLock()              # state, and the reads and writes that change it
        self._pending_lock = threading.Lock()
        self._pending: list[dict] = []              # records since the last commit
        self._files: dict[str, dict[str, Any]] = {}  # object id -> {file name -> parsed}
        self._at: dict[tuple[str, str], int] = {}   # (object id, file name) -> time of its latest record
        self._applied: dict[str, int] = {}          # chain -> last segment applied (contiguous from 0)
        self._checkpoint: dict | None = None        # the checkpoint named in heads.json when last read
        self._heads_etag: str | None = None
        self._file_cache: dict[str, Any] = {}       # for the full scan: file -> parsed
        self._scanned = False
        self._log: list[str] = []                   # object ids in the order their files changed
        self._epoch = 0                             # a rebuild starts the log again

    # ---------------------------------------------------------------- reading

    def scan(self) -> dict[str, dict[str, Any]]:
        """``object id -> {file name -> parsed}`` for every file the index knows (do not change it).

        Reads ``heads.json`` and the segments not seen yet; the first time, a checkpoint too.
        Without an index, or with a damaged one, scans the files and writes a checkpoint.
        """
        with self._lock:
            try:
                self._catch_up()
            except _Damaged:
                try:
                    self._catch_up()  # once more: the checkpoint may have been replaced while we read
                except _Damaged as e:
                    self._rebuild(e.heads)
            self._scanned = True
            return dict(self._files)  # a snapshot: the uploader's commits replace, never mutate, its values

    def scan_changes(self, since: tuple | None) -> tuple[dict[str, dict[str, Any]], set[str] | None, tuple]:
        """:meth:`scan`, the ids of the objects changed after ``since`` (None: take them all), and a new ``since``.

        ``since`` is what an earlier call returned (or None), so that a refresh costs what changed.
        """
        with self._lock:
            files = self.scan()
            token = (self._epoch, len(self._log))
            if since is None or since[0] != self._epoch:
                return files, None, token
            return files, set(self._log[since[1]:]), token

    # ---------------------------------------------------------------- writing

    def wrote(self, object_id: str, name: str, body: bytes) -> None:
        """Note a file just written (thread-safe); it goes into the next :meth:`commit`."""
        try:
            value = self.parse(body)
        except ValueError:
            return
        self._note({"o": str(object_id), "n": name, "at": time.time_ns(), "v": value})

    def deleted(self, object_id: str, name: str) -> None:
        """Note a file just deleted (thread-safe)."""
        self._note({"o": str(object_id), "n": name, "at": time.time_ns(), "v": None})

    def commit(self) -> None:
        """Append what was noted since the last commit as one segment of this writer's chain.

        Raises StorageError if the store cannot be written; the records are kept for the next try.
        """
        with self._lock:
            with self._pending_lock:
                records = list(self._pending)
            if not records:
                return
            if not self._scanned:
                self.scan()
            seq = self._applied.get(self.chain, -1) + 1
            body = _segment_bytes({"chain": self.chain, "seq": seq}, records)
            while True:
                try:
                    storage.write_bytes(self._segment_uri(self.chain, seq), body, if_none_match=True)
                    break
                except ConflictError:
                    # Ours from a run that stopped before updating heads.json, or another kernel
                    # of the same worker: take it in and append after it.
                    try:
                        self._apply_segment(self.chain, seq, self._read_segment(self.chain, seq))
                    except _Damaged:
                        pass  # readers meet it and rebuild; appending goes on after it
                    seq += 1
                    body = _segment_bytes({"chain": self.chain, "seq": seq}, records)
            self._apply_records(records)
            self._applied[self.chain] = seq
            with self._pending_lock:
                del self._pending[:len(records)]
            heads = {}
            self._update_heads(lambda h: heads.update(_set_last(h, self.chain, seq)) or heads)
            if _uncovered(heads) > CHECKPOINT_EVERY:
                try:
                    self._catch_up()  # a checkpoint that covers every chain to its last segment
                except (_Damaged, StorageError):
                    return  # the segment is in; the next scan rebuilds or catches up
                self._write_checkpoint(dict(self._applied))

    # ---------------------------------------------------------------- internals

    def _note(self, record: dict) -> None:
        with self._pending_lock:
            self._pending.append(record)

    def _catch_up(self) -> None:
        try:
            body, etag = storage.read_with_etag(self._heads_uri())
        except NotFoundError:
            raise _Damaged(None) from None
        if etag == self._heads_etag:
            return
        heads = _parse_heads(body)
        if heads is None:
            raise _Damaged(None)
        checkpoint = heads.get("checkpoint")
        if checkpoint and checkpoint != self._checkpoint and (
                checkpoint.get("rebuilt") or any(n > self._applied.get(c, -1) for c, n in checkpoint["covers"].items())):
            # A rebuild's checkpoint may hold files no segment names (written by Ground Truth itself).
            self._load_checkpoint(checkpoint, heads)
        todo = [(c, s) for c, info in heads["chains"].items()
                for s in range(self._applied.get(c, -1) + 1, info["last"] + 1)]
        for (c, s), records in zip(todo, _parallel(lambda cs: self._read_segment(*cs, heads=heads), todo)):
            if isinstance(records, Exception):
                raise records
            self._apply_segment(c, s, records)
        self._checkpoint = checkpoint
        self._heads_etag = etag

    def _load_checkpoint(self, checkpoint: dict, heads: dict) -> None:
        uri = storage.join(self.index_prefix, "checkpoints", checkpoint["name"])
        try:
            header, records = _parse_jsonl(storage.read_bytes(uri))
        except (NotFoundError, ValueError):  # gone or damaged; offline is not damage
            raise _Damaged(heads) from None
        if header.get("covers") != checkpoint["covers"]:
            raise _Damaged(heads)
        self._apply_records(records)
        for c, n in checkpoint["covers"].items():
            self._applied[c] = max(self._applied.get(c, -1), n)

    def _read_segment(self, chain: str, seq: int, heads: dict | None = None) -> list[dict]:
        uri = self._segment_uri(chain, seq)
        try:
            header, records = _parse_jsonl(storage.read_bytes(uri))
        except (NotFoundError, ValueError):  # gone or damaged; offline is not damage
            raise _Damaged(heads) from None
        if header.get("chain") != chain or header.get("seq") != seq:
            raise _Damaged(heads)
        return records

    def _apply_segment(self, chain: str, seq: int, records: list[dict]) -> None:
        if seq != self._applied.get(chain, -1) + 1:
            return  # already in (a checkpoint covered it)
        self._apply_records(records)
        self._applied[chain] = seq

    def _apply_records(self, records: list[dict]) -> None:
        with gc_paused():
            self._apply(records)

    def _apply(self, records: list[dict]) -> None:
        files, at, log = self._files, self._at, self._log
        for r in records:
            key = (r["o"], r["n"])
            if r["at"] < at.get(key, -1):
                continue
            at[key] = r["at"]
            log.append(r["o"])
            by_name = files.get(r["o"])  # replaced, not changed in place: scan() hands out snapshots
            if r["v"] is None:
                if by_name is not None and r["n"] in by_name:
                    by_name = {n: v for n, v in by_name.items() if n != r["n"]}
                    if by_name:
                        files[r["o"]] = by_name
                    else:
                        del files[r["o"]]
            else:
                files[r["o"]] = {**by_name, r["n"]: r["v"]} if by_name else {r["n"]: r["v"]}

    def _rebuild(self, heads: dict | None) -> None:
        """Scan the files (once) and write a checkpoint covering every segment known now."""
        from .responses import scan_object_files

        self.rebuilds += 1
        lasts = {c: info["last"] for c, info in heads["chains"].items()} if heads else self._list_chains()
        old = (heads or {}).get("checkpoint") or {}
        for c, n in old.get("covers", {}).items():  # a chain that has no segments after a rebuild yet
            lasts.setdefault(c, n)
        seen_at = time.time_ns()  # before the listing: a file deleted after it has a later tombstone
        found = scan_object_files(self.files_prefix, cache=self._file_cache, parse=self.parse,
                                  problems=self.problems)
        self._files, self._at, self._log = {}, {}, []
        self._epoch += 1
        self._apply_records([{"o": oid, "n": name, "at": seen_at, "v": v}
                             for oid, by_name in found.items() for name, v in by_name.items()])
        self._applied = dict(lasts)
        self._heads_etag = None
        try:
            self._write_checkpoint(lasts, chains=lasts)
        except StorageError:
            pass  # read-only or offline: this kernel has the answers; the next opener scans again

    def _list_chains(self) -> dict[str, int]:
        """Every chain's last segment, by listing the index (only when heads.json is lost)."""
        try:
            uris = storage.list_files(storage.join(self.index_prefix, "chains") + "/", suffixes=(".jsonl",))
        except NotFoundError:
            return {}
        lasts: dict[str, int] = {}
        for uri in uris:
            parts = uri.replace("\\", "/").rsplit("/", 2)
            try:
                seq = int(parts[-1].split(".")[0])
            except ValueError:
                continue
            lasts[parts[-2]] = max(lasts.get(parts[-2], -1), seq)
        return lasts

    def _write_checkpoint(self, covers: dict[str, int], chains: dict[str, int] | None = None) -> None:
        """The whole index as one file; ``chains`` (given by a rebuild) also go into heads.json."""
        name = f"{time.time_ns():020d}_{self.chain}.jsonl"
        records = [{"o": oid, "n": n, "at": at, "v": self._files.get(oid, {}).get(n)}
                   for (oid, n), at in self._at.items()]
        storage.write_bytes(storage.join(self.index_prefix, "checkpoints", name),
                            _segment_bytes({"checkpoint": True, "covers": covers}, records), if_none_match=True)
        checkpoint = {"name": name, "covers": covers, "rebuilt": chains is not None}
        replaced = []

        def change(heads: dict) -> dict | None:
            old = (heads.get("checkpoint") or {}).get("covers", {})
            if any(covers.get(c, -1) < n for c, n in old.items()):
                return None  # someone wrote a fuller one meanwhile
            replaced[:] = [heads["checkpoint"]["name"]] if heads.get("checkpoint") else []
            for c, n in (chains or {}).items():
                _set_last(heads, c, n)
            heads["checkpoint"] = checkpoint
            return heads

        if self._update_heads(change):
            self._checkpoint = checkpoint
            for old_name in replaced:  # no longer named; a reader still on it reads heads.json again
                try:
                    storage.delete(storage.join(self.index_prefix, "checkpoints", old_name))
                except StorageError:
                    pass
        else:
            try:
                storage.delete(storage.join(self.index_prefix, "checkpoints", name))
            except StorageError:
                pass

    def _update_heads(self, change: Callable[[dict], dict | None]) -> bool:
        """Compare-and-swap ``heads.json``; False if ``change`` declined."""
        uri = self._heads_uri()
        for _ in range(50):
            try:
                body, etag = storage.read_with_etag(uri)
                heads = _parse_heads(body) or _empty_heads()
            except NotFoundError:
                etag, heads = None, _empty_heads()
            new = change(heads)
            if new is None:
                return False
            try:
                if etag is None:
                    storage.write_bytes(uri, orjson.dumps(new), if_none_match=True)
                else:
                    storage.write_bytes(uri, orjson.dumps(new), if_match=etag)
                return True
            except ConflictError:
                time.sleep(random.uniform(0.01, 0.1))  # another writer won: read again
        raise StorageError(f"{uri}: kept losing the race to other writers; it will be retried.")

    def _heads_uri(self) -> str:
        return storage.join(self.index_prefix, "heads.json")

    def _segment_uri(self, chain: str, seq: int) -> str:
        return storage.join(self.index_prefix, "chains", chain, f"{seq:08d}.jsonl")


class _Damaged(Exception):
    """The index cannot be read whole: scan the files. ``heads`` is heads.json if it was readable."""

    def __init__(self, heads: dict | None):
        super().__init__("index damaged")
        self.heads = heads


def _segment_bytes(header: dict, records: list[dict]) -> bytes:
    """JSON Lines: a header, the records, and an end line that shows the file is whole."""
    lines = [orjson.dumps({"index": _FORMAT, **header})]
    lines.extend(orjson.dumps(r) for r in records)
    lines.append(orjson.dumps({"end": len(records)}))
    return b"\n".join(lines) + b"\n"


def _parse_jsonl(body: bytes) -> tuple[dict, list[dict]]:
    try:
        lines = body.splitlines()
        header, end = orjson.loads(lines[0]), orjson.loads(lines[-1])
        with gc_paused():  # one parse of the lines as an array; no collections while it builds them
            records = orjson.loads(b"[" + b",".join(lines[1:-1]) + b"]")
    except (orjson.JSONDecodeError, IndexError):
        raise ValueError("not an index file") from None
    if (not isinstance(header, dict) or header.get("index") != _FORMAT or not isinstance(end, dict)
            or end.get("end") != len(records)
            or not all(isinstance(r, dict) and {"o", "n", "at", "v"} <= r.keys() for r in records)):
        raise ValueError("not a whole index file")
    return header, records


def _parse_heads(body: bytes) -> dict | None:
    try:
        heads = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not (isinstance(heads, dict) and heads.get("index") == _FORMAT and isinstance(heads.get("chains"), dict)):
        return None
    if not all(isinstance(v, dict) and isinstance(v.get("last"), int) for v in heads["chains"].values()):
        return None
    cp = heads.get("checkpoint")
    if cp is not None and not (isinstance(cp, dict) and isinstance(cp.get("name"), str)
                               and isinstance(cp.get("covers"), dict)):
        return None
    return heads


def _empty_heads() -> dict:
    return {"index": _FORMAT, "chains": {}, "checkpoint": None}


def _uncovered(heads: dict) -> int:
    """How many segments a reader reads after the checkpoint."""
    covers = (heads.get("checkpoint") or {}).get("covers", {})
    return sum(max(0, info["last"] - covers.get(c, -1)) for c, info in heads["chains"].items())


def _set_last(heads: dict, chain: str, seq: int) -> dict:
    info = heads["chains"].setdefault(chain, {"last": -1})
    info["last"] = max(info["last"], seq)
    return heads


def _parallel(fn: Callable, items: list) -> list:
    """``fn`` over ``items`` in threads (S3 reads wait on the network); exceptions returned, not raised."""
    def call(item):
        try:
            return fn(item)
        except Exception as e:
            return e
    if len(items) <= 2:
        return [call(i) for i in items]
    with ThreadPoolExecutor(min(_READ_THREADS, len(items))) as pool:
        return list(pool.map(call, items))
