"""Local disk as ``gtwidgets.storage``'s other backend: atomic, conditional writes and safe names.

A write goes to a temporary file that replaces the target (If-None-Match by a hard link,
If-Match under an advisory lock file beside the target, so both hold across processes);
a name with a character Windows cannot store is kept percent-encoded on disk and decoded
back in listings; an OSError becomes a one-line error that says what to do next.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Iterable

from .errors import ConflictError, NotFoundError, PermanentStorageError, StorageError

__all__ = ["CHUNK", "read_errors", "local_etag", "write_local", "TRANSIENT", "safe_name", "original_name", "local_path"]

CHUNK = 8 * 1024 * 1024  # bytes read at a time (hashing here, streaming in storage)


class read_errors:
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


_local_lock = threading.Lock()
_REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST}  # retrying will not help


def local_etag(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return f'"{h.hexdigest()}"'


def write_local(path: Path, data: bytes | Iterable[bytes | memoryview], *, if_none_match: bool,
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
                if if_match is not None and (not path.exists() or local_etag(path) != if_match):
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
TRANSIENT = re.compile(r"^\..+(?:\.\d+\.\d+\.tmp|" + re.escape(_LOCK_SUFFIX) + r")$", re.S)

# Windows cannot store these in a file name; Ground Truth's own names contain ":".
_WINDOWS_FORBIDDEN = '<>:"\\|?*' + "".join(map(chr, range(32)))
_CODES = sorted({f"{ord(c):02X}" for c in _WINDOWS_FORBIDDEN} | {"25"})
_ENCODE = re.compile("[" + re.escape(_WINDOWS_FORBIDDEN) + "]|%(?=" + "|".join(_CODES) + ")")
_DECODE = re.compile("%(" + "|".join(_CODES) + ")")


def safe_name(name: str) -> str:
    """One path segment as stored on local disk: forbidden characters percent-encoded.

    A ``%`` is encoded (as ``%25``) only where it is followed by one of the codes used, so
    names with neither (nearly all, ``photo%20one.jpg`` too) are stored exactly as they are,
    and :func:`original_name` gives back every name exactly.
    """
    return _ENCODE.sub(lambda m: "%25" if m.group() == "%" else f"%{ord(m.group()):02X}", name)


def original_name(stored: str) -> str:
    return _DECODE.sub(lambda m: chr(int(m.group(1), 16)), stored)


def local_path(uri: str | os.PathLike) -> Path:
    """Where a local key lives on disk: each segment by :func:`safe_name`, except that a
    segment already on disk under its exact name (made by other tools) is used as it is."""
    p = Path(uri)
    out = Path(p.anchor) if p.anchor else Path()
    for part in p.parts[1:] if p.anchor else p.parts:
        safe = safe_name(part)
        if safe != part and not os.path.lexists(out / safe) and os.path.lexists(out / part):
            safe = part
        out = out / safe
    return out
