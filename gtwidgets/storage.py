"""One seam for local paths and ``s3://`` URIs: read, write, list, presign, conditional put.

Nothing else in gtwidgets imports boto3 (its client and errors: ``gtwidgets._s3client``). The client honours the standard AWS
configuration (profiles, region, ``AWS_ENDPOINT_URL``) and botocore's retries.

Code above this module sees the same keys on both backends. S3 keys are kept exact; on
local disk a name with a character Windows cannot store (``<>:"\\|?*`` and control
characters, as in Ground Truth's ``2019-04-18_16:13:05.json``) is stored percent-encoded,
and listings decode it back (see :func:`_safe_name`).
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

from ._s3client import endpoint_url, s3_client, s3_errors as _s3_errors
from .errors import ConflictError, NotFoundError, PermanentStorageError, StorageError

__all__ = [
    "ObjectInfo", "is_s3", "split_s3", "join", "read_bytes", "read_text", "write_bytes", "write_stream",
    "open_read", "read_with_etag", "exists", "head", "list_files", "presign", "delete", "s3_client",
    "endpoint_url", "TooLargeError",
]

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    uri: str
    size: int
    etag: str


def is_s3(uri: str | os.PathLike) -> bool:
    return isinstance(uri, str) and uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``."""
    if not is_s3(uri):
        raise StorageError(f"{uri!r} is not an s3:// URI; write it as s3://bucket/key.")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise StorageError(f"{uri!r} has no bucket name; write it as s3://bucket/key.")
    return bucket, key


def join(prefix: str | os.PathLike, *parts: str) -> str:
    """Join path parts under a local folder or an S3 prefix, with ``/`` for S3."""
    if is_s3(prefix):
        out = str(prefix)
        for p in parts:
            out = out.rstrip("/") + "/" + p.lstrip("/")
        return out
    return str(Path(prefix).joinpath(*parts))


# ---------------------------------------------------------------------------- reading

class TooLargeError(StorageError):
    """A read refused because the file or object is bigger than the caller's ``max_bytes``."""

    def __init__(self, message: str, size: int, limit: int):
        super().__init__(message)
        self.size, self.limit = size, limit


def read_bytes(uri: str | os.PathLike, *, max_bytes: int | None = None) -> bytes:
    """The whole file or object.

    ``max_bytes`` is for data a manifest names, which may point anywhere: then only a
    regular file is read (never a FIFO, device or socket, which could block or never end),
    and anything bigger than ``max_bytes`` raises :class:`TooLargeError` before it is read.
    """
    if is_s3(uri):
        bucket, key = split_s3(uri)
        with _s3_errors(uri):
            r = s3_client().get_object(Bucket=bucket, Key=key)
            size = int(r.get("ContentLength") or 0)
            if max_bytes is not None and size > max_bytes:
                r["Body"].close()
                raise _too_large(uri, size, max_bytes)
            return r["Body"].read()
    with open_read(uri, max_bytes=max_bytes) as f:
        if max_bytes is None:
            return f.read()
        data = f.read(max_bytes + 1)  # the file may have grown since it was measured
    if len(data) > max_bytes:
        raise _too_large(uri, len(data), max_bytes)
    return data


def read_with_etag(uri: str | os.PathLike) -> tuple[bytes, str]:
    """The bytes and the ETag they had, from one read, so an If-Match write can follow safely."""
    if is_s3(uri):
        bucket, key = split_s3(uri)
        with _s3_errors(uri):
            r = s3_client().get_object(Bucket=bucket, Key=key)
            return r["Body"].read(), r["ETag"]
    data = read_bytes(uri)
    return data, f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def read_text(uri: str | os.PathLike, encoding: str = "utf-8") -> str:
    return read_bytes(uri).decode(encoding)


def open_read(uri: str | os.PathLike, *, max_bytes: int | None = None) -> IO[bytes]:
    """A binary stream, so large objects need not sit in memory at once.

    ``max_bytes`` as in :func:`read_bytes`: checked before anything is read.
    """
    if is_s3(uri):
        bucket, key = split_s3(uri)
        with _s3_errors(uri):
            r = s3_client().get_object(Bucket=bucket, Key=key)
            if max_bytes is not None and int(r.get("ContentLength") or 0) > max_bytes:
                r["Body"].close()
                raise _too_large(uri, int(r["ContentLength"]), max_bytes)
            return r["Body"]
    with _local_read_errors(uri):
        return _open_local(uri, _local_path(uri), max_bytes)


def _open_local(uri, path: Path, max_bytes: int | None) -> IO[bytes]:
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(str(path))
        if not stat.S_ISREG(st.st_mode):
            if max_bytes is not None:
                raise StorageError(f"{uri}: is a {_file_kind(st.st_mode)}, not a regular file, so it is not read; "
                                   "point the manifest at a file.")
            os.set_blocking(fd, True)  # e.g. /dev/stdin named on the command line on purpose
        elif max_bytes is not None and st.st_size > max_bytes:
            raise _too_large(uri, st.st_size, max_bytes)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return "special file"


def _too_large(uri, size: int, limit: int) -> TooLargeError:
    return TooLargeError(f"{uri}: {size:,} bytes, over the limit of {limit:,} bytes for one read; "
                         "skip it, or shrink the file.", size, limit)


class _local_read_errors:
    """Turn a local file's OSError into a one-line error that says what to do."""

    def __init__(self, uri):
        self.uri = uri

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        uri = self.uri
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            raise NotFoundError(f"{uri}: no such file; check the path (relative paths start at {os.getcwd()}).") from None
        if isinstance(exc, IsADirectoryError):
            raise StorageError(f"{uri}: is a folder, not a file; name a file inside it.") from None
        if isinstance(exc, PermissionError):
            raise StorageError(f"{uri}: permission denied; check the file's permissions.") from None
        if isinstance(exc, OSError) and not isinstance(exc, StorageError):  # e.g. a socket: "no such device"
            raise StorageError(f"{uri}: cannot be read ({exc.strerror or exc}); point it at a regular file.") from None
        return False


def exists(uri: str | os.PathLike) -> bool:
    try:
        head(uri)
        return True
    except NotFoundError:
        return False


def head(uri: str | os.PathLike) -> ObjectInfo:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        with _s3_errors(uri):
            r = s3_client().head_object(Bucket=bucket, Key=key)
        return ObjectInfo(str(uri), int(r["ContentLength"]), r["ETag"])
    p = _local_path(uri)
    if not p.is_file():
        raise NotFoundError(f"{uri}: no such file.")
    return ObjectInfo(str(uri), p.stat().st_size, _local_etag(p))


def list_files(prefix: str | os.PathLike, *, suffixes: tuple[str, ...] | None = None,
               recursive: bool = True) -> list[str]:
    """Every file under a folder or S3 prefix, sorted, as full paths or URIs.

    ``suffixes`` filters by ending, case-insensitively (``(".jpg", ".png")``).
    """
    wanted = tuple(s.lower() for s in suffixes) if suffixes else None
    keep = (lambda n: n.lower().endswith(wanted)) if wanted else (lambda n: True)
    if is_s3(prefix):
        bucket, key = split_s3(str(prefix))
        if key and not key.endswith("/"):
            key += "/"  # a folder: s3://b/img must not list img2/, and Delimiter needs the slash
        kwargs = {"Bucket": bucket, "Prefix": key}
        if not recursive:
            kwargs["Delimiter"] = "/"
        out = []
        with _s3_errors(str(prefix)):
            for page in s3_client().get_paginator("list_objects_v2").paginate(**kwargs):
                out.extend(f"s3://{bucket}/{o['Key']}" for o in page.get("Contents", ())
                           if not o["Key"].endswith("/") and keep(o["Key"]))
        return sorted(out)
    root = _local_path(prefix)
    if not root.is_dir():
        raise NotFoundError(f"{prefix}: no such folder; check the path.")
    files = root.rglob("*") if recursive else root.iterdir()
    out = []
    for p in files:
        if p.is_file() and not _TRANSIENT.match(p.name):
            rel = [_original_name(part) for part in p.relative_to(root).parts]
            if keep(rel[-1]):
                out.append(str(Path(prefix).joinpath(*rel)))
    return sorted(out)


# ---------------------------------------------------------------------------- writing

def write_bytes(uri: str | os.PathLike, data: bytes, *, if_none_match: bool = False,
                if_match: str | None = None, content_type: str | None = None) -> str:
    """Write ``data`` and return the new ETag.

    ``if_none_match=True`` writes only if nothing is there yet; ``if_match=etag``
    only if the object still has that ETag. Either raises ConflictError when it loses,
    so a writer never overwrites another's object blindly.
    """
    if is_s3(uri):
        bucket, key = split_s3(uri)
        kwargs = {"Bucket": bucket, "Key": key, "Body": data}
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if content_type:
            kwargs["ContentType"] = content_type
        from botocore.exceptions import ClientError

        with _s3_errors(uri):
            try:
                return s3_client().put_object(**kwargs)["ETag"]
            except ClientError as e:
                if if_match is not None and e.response.get("Error", {}).get("Code") == "NoSuchKey":
                    # S3 answers 404 when the object was deleted since it was read: a lost race too.
                    raise ConflictError(f"{uri}: deleted since it was read; read it again and retry.") from None
                raise
    return _write_local(_local_path(uri), data, if_none_match=if_none_match, if_match=if_match)


def write_stream(uri: str | os.PathLike, chunks: Iterable[bytes | memoryview], *,
                 if_none_match: bool = False, content_type: str | None = None) -> None:
    """Write ``chunks`` one after another, so a big file never sits in memory whole.

    Locally they go to a temporary file that then replaces ``uri`` atomically, as with
    :func:`write_bytes` (but no MD5 is computed); S3 gets one put of the joined chunks for now.
    ``if_none_match`` as in :func:`write_bytes`.
    """
    if is_s3(uri):
        write_bytes(uri, b"".join(chunks), if_none_match=if_none_match, content_type=content_type)
        return
    _write_local(_local_path(uri), chunks, if_none_match=if_none_match, if_match=None)


def delete(uri: str | os.PathLike) -> None:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        with _s3_errors(uri):
            s3_client().delete_object(Bucket=bucket, Key=key)
        return
    _local_path(uri).unlink(missing_ok=True)


def presign(uri: str, *, expires: int = 3600) -> str:
    """A presigned HTTPS GET URL for an S3 object; local paths come back as ``file://`` URLs."""
    if not is_s3(uri):
        return _local_path(uri).resolve().as_uri()
    bucket, key = split_s3(uri)
    with _s3_errors(uri):
        return s3_client().generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)


# ---------------------------------------------------------------------------- local files

_local_lock = threading.Lock()
_REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST}  # retrying will not help


def _local_etag(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return f'"{h.hexdigest()}"'


def _write_local(path: Path, data: bytes | Iterable[bytes | memoryview], *, if_none_match: bool,
                 if_match: str | None) -> str | None:
    """Write ``data`` (bytes, or chunks to write in turn) and return its ETag (None for chunks)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        error = PermanentStorageError if e.errno in _REFUSED else StorageError
        raise error(f"{path}: cannot create its folder ({e.strerror}); choose an output you can write to.") from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    whole = isinstance(data, (bytes, bytearray, memoryview))
    try:
        with open(tmp, "wb") as f:
            for chunk in [data] if whole else data:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        with _local_lock, _file_lock(path):
            if if_none_match:
                try:
                    os.link(tmp, path)  # atomic create-if-absent, even across processes
                except FileExistsError:
                    raise ConflictError(f"{path}: already exists; read it and retry.") from None
                finally:
                    tmp.unlink(missing_ok=True)
            else:
                if if_match is not None and (not path.exists() or _local_etag(path) != if_match):
                    tmp.unlink(missing_ok=True)
                    raise ConflictError(f"{path}: changed since it was read; read it again and retry.")
                os.replace(tmp, path)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise PermanentStorageError(f"{path}: permission denied; choose a folder you can write to.") from None
    except IsADirectoryError:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"{path}: is a folder; write to a file name inside it.") from None
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, StorageError):
            raise
        error = PermanentStorageError if e.errno in _REFUSED else StorageError
        raise error(f"{path}: cannot write ({e.strerror}); choose a folder you can write to, or free space.") from None
    except BaseException:  # e.g. the chunks' producer failed: leave no temporary file behind
        tmp.unlink(missing_ok=True)
        raise
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"' if whole else None


class _file_lock:
    """An advisory lock beside the file, so If-Match checks hold across processes too.

    The lock file sits in the target's own folder (whoever may write the file may lock it;
    a shared temporary folder belongs to whoever made it first) and is removed on release.
    Removing a lock file others may be waiting on is safe because a waiter that wins a lock
    on a file no longer at the path lets it go and tries again.
    """

    def __init__(self, path: Path):
        self.lock_path = path.with_name(f".{path.name}{_LOCK_SUFFIX}")
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # Windows: the in-process lock is what we have
            return self
        while True:
            fd = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                now = os.stat(self.lock_path)
            except FileNotFoundError:
                now = None
            mine = os.fstat(fd)
            if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                self.fd = fd
                return self
            os.close(fd)  # the holder before us removed it: lock the one at the path now

    def __exit__(self, *exc):
        if self.fd is not None:
            import fcntl

            try:
                os.unlink(self.lock_path)  # while still held, so nobody is left holding a stale one
            except FileNotFoundError:
                pass
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


_LOCK_SUFFIX = ".gtwidgets-lock"
# This module's own short-lived files beside the data (temporary writes, locks): never listed.
_TRANSIENT = re.compile(r"^\..+(?:\.\d+\.\d+\.tmp|" + re.escape(_LOCK_SUFFIX) + r")$", re.S)

# Windows cannot store these in a file name; Ground Truth's own names contain ":".
_WINDOWS_FORBIDDEN = '<>:"\\|?*' + "".join(map(chr, range(32)))
_CODES = sorted({f"{ord(c):02X}" for c in _WINDOWS_FORBIDDEN} | {"25"})
_ENCODE = re.compile("[" + re.escape(_WINDOWS_FORBIDDEN) + "]|%(?=" + "|".join(_CODES) + ")")
_DECODE = re.compile("%(" + "|".join(_CODES) + ")")


def _safe_name(name: str) -> str:
    """One path segment as stored on local disk: forbidden characters percent-encoded.

    A ``%`` is encoded (as ``%25``) only where it is followed by one of the codes used, so
    names with neither (nearly all, ``photo%20one.jpg`` too) are stored exactly as they are,
    and :func:`_original_name` gives back every name exactly.
    """
    return _ENCODE.sub(lambda m: "%25" if m.group() == "%" else f"%{ord(m.group()):02X}", name)


def _original_name(stored: str) -> str:
    return _DECODE.sub(lambda m: chr(int(m.group(1), 16)), stored)


def _local_path(uri: str | os.PathLike) -> Path:
    """Where a local key lives on disk: each segment by :func:`_safe_name`, except that a
    segment already on disk under its exact name (made by other tools) is used as it is."""
    p = Path(uri)
    out = Path(p.anchor) if p.anchor else Path()
    for part in p.parts[1:] if p.anchor else p.parts:
        safe = _safe_name(part)
        if safe != part and not os.path.lexists(out / safe) and os.path.lexists(out / part):
            safe = part
        out = out / safe
    return out


def iter_chunks(stream: IO[bytes], size: int = _CHUNK) -> Iterator[bytes]:
    for block in iter(lambda: stream.read(size), b""):
        yield block
