"""One seam for local paths and ``s3://`` URIs: read, write, list, presign, conditional put.

Nothing else in gtwidgets imports boto3 (its client and errors: ``gtwidgets._s3client``). The
client honours the standard AWS configuration (profiles, region, ``AWS_ENDPOINT_URL``) and
botocore's retries.

Code above this module sees the same keys on both backends. S3 keys are kept exact; on
local disk a name with a character Windows cannot store (``<>:"\\|?*`` and control
characters, as in Ground Truth's ``2019-04-18_16:13:05.json``) is stored percent-encoded,
and listings decode it back (``gtwidgets._localfs``: names, locks, atomic conditional writes).
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

from ._localfs import CHUNK as _CHUNK, TRANSIENT, local_etag, local_path, original_name, read_errors, write_local
from ._s3client import endpoint_url, s3_client, s3_errors as _s3_errors
from .errors import ConflictError, NotFoundError, StorageError

__all__ = [
    "ObjectInfo", "is_s3", "split_s3", "join", "read_bytes", "read_text", "write_bytes", "write_stream",
    "open_read", "read_with_etag", "exists", "head", "list_files", "presign", "delete", "s3_client",
    "endpoint_url", "TooLargeError",
]


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
    with read_errors(uri):
        return _open_local(uri, local_path(uri), max_bytes)


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
    p = local_path(uri)
    if not p.is_file():
        raise NotFoundError(f"{uri}: no such file.")
    return ObjectInfo(str(uri), p.stat().st_size, local_etag(p))


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
    root = local_path(prefix)
    if not root.is_dir():
        raise NotFoundError(f"{prefix}: no such folder; check the path.")
    files = root.rglob("*") if recursive else root.iterdir()
    out = []
    for p in files:
        if p.is_file() and not TRANSIENT.match(p.name):
            rel = [original_name(part) for part in p.relative_to(root).parts]
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
    return write_local(local_path(uri), data, if_none_match=if_none_match, if_match=if_match)


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
    write_local(local_path(uri), chunks, if_none_match=if_none_match, if_match=None)


def delete(uri: str | os.PathLike) -> None:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        with _s3_errors(uri):
            s3_client().delete_object(Bucket=bucket, Key=key)
        return
    local_path(uri).unlink(missing_ok=True)


def presign(uri: str, *, expires: int = 3600) -> str:
    """A presigned HTTPS GET URL for an S3 object; local paths come back as ``file://`` URLs."""
    if not is_s3(uri):
        return local_path(uri).resolve().as_uri()
    bucket, key = split_s3(uri)
    with _s3_errors(uri):
        return s3_client().generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)


def iter_chunks(stream: IO[bytes], size: int = _CHUNK) -> Iterator[bytes]:
    for block in iter(lambda: stream.read(size), b""):
        yield block
