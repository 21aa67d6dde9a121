"""The local S3's request handler: localbucket's, made safe for a shared machine.

On top of localbucket's S3Handler it
- refuses any request not signed with the data folder's key (SigV4, checked before the
  body is read, so ``Expect: 100-continue`` uploads are refused before they are sent);
- allows no cross-origin access unless one origin was named (``--cors-origin``);
- streams request bodies to disk, checking them against their signed SHA-256 (or the
  signature of each aws-chunked chunk), where localbucket holds the whole body in memory;
- honours ``If-Match`` on PutObject (localbucket ignores it; gtwidgets relies on it);
- lists only the folder a prefix names (localbucket walks the whole bucket for every page:
  seconds a page once a job holds 100,000 answers).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import os
import socket
import tempfile
import threading
import urllib.parse
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import localbucket
from localbucket import S3Error

from ._s3auth import SIGNED_CHUNKS, UNSIGNED_PAYLOAD, AuthError, Verified, verify
from ._s3key import LocalKey

DATA_HEADER = "x-gtwidgets-data-dir"
CHALLENGE_HEADER = "x-gtwidgets-challenge"
PROOF_HEADER = "x-gtwidgets-proof"
_BLOCK = 1024 * 1024
_MAX_SMALL_BODY = 16 * 1024 * 1024  # bodies other than object data (bucket config, part lists)
_LINGER_BYTES = 1024 * 1024
_if_match_lock = threading.Lock()


def handler_class(root: Path, key: LocalKey, cors_origin: str | None) -> type[Handler]:
    """A Handler class serving ``root``, accepting ``key``, allowing ``cors_origin`` if given."""
    return type("Handler", (Handler,), {"data_root": root, "key": key, "cors_origin": cors_origin})


def proof(key: LocalKey, challenge: str) -> str:
    """What a server holding ``key`` answers to ``challenge``: it shows the server is ours."""
    return hmac.new(key.secret_access_key.encode(), challenge.encode(), hashlib.sha256).hexdigest()


class Handler(localbucket.S3Handler):
    server_version = f"gtwidgets-s3 LocalBucket/{localbucket.__version__}"
    key: LocalKey
    cors_origin: str | None = None
    _verified: Verified | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the terminal for the export lines; errors reach the client as XML

    def parse_request(self) -> bool:
        self._verified = None  # one handler serves every request of a keep-alive connection
        return super().parse_request()

    def handle_expect_100(self) -> bool:
        return self._authenticate() and super().handle_expect_100()

    def _dispatch(self, action: Callable[[str, str], None]) -> None:
        if self._authenticate():
            super()._dispatch(action)

    def _authenticate(self) -> bool:
        """Check the signature once per request; on failure answer 403 and return False."""
        if self._verified is None:
            try:
                self._verified = verify(self.command, self.path, self.headers, self.key)
            except AuthError as e:
                self._send_error(S3Error(e.status, e.code, e.message))
                return False
        return True

    def _send_error(self, error: S3Error) -> None:
        super()._send_error(error)
        if self.headers.get("Content-Length", "0") not in ("", "0") or "Transfer-Encoding" in self.headers:
            self._linger()

    def _linger(self) -> None:
        """Read on a little after an error, so the client sees it instead of a connection reset."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            left = _LINGER_BYTES
            while left > 0 and (data := self.rfile.read1(65536)):
                left -= len(data)
        except OSError:
            pass

    def do_OPTIONS(self) -> None:
        if self.cors_origin and self.headers.get("Origin") == self.cors_origin:
            super().do_OPTIONS()
            return
        self._send_error(S3Error(
            HTTPStatus.FORBIDDEN, "AccessForbidden",
            "CORSResponse: this local S3 allows no cross-origin requests; start it with "
            "`gtwidgets s3 serve --cors-origin ORIGIN` to allow one web origin."))

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        if self._verified is not None:  # tell only the key's holder which folder this is
            self.send_header(DATA_HEADER, urllib.parse.quote(str(self.data_root)))
            challenge = self.headers.get(CHALLENGE_HEADER)
            if challenge:
                self.send_header(PROOF_HEADER, proof(self.key, challenge))

    def _send_headers(self, status: HTTPStatus, length: int, headers: dict | None = None) -> None:
        """localbucket's, but Access-Control-Allow-Origin only for the one allowed origin."""
        self.send_response(status)
        self.send_header("x-amz-request-id", uuid.uuid4().hex.upper()[:16])
        self.send_header("Content-Length", str(length))
        origin = self.headers.get("Origin")
        if origin and self.cors_origin and origin == self.cors_origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Expose-Headers", localbucket.CORS_EXPOSE_HEADERS)
            self.send_header("Vary", "Origin")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    # ------------------------------------------------------------------------ bodies

    def _list_entries(self, bucket_dir: Path, prefix: str, delimiter: str, marker: str,
                      marker_is_prefix: bool, max_keys: int) -> tuple[list, list[str], bool, str]:
        """localbucket's page of a listing, walking only the folder the prefix's last "/" ends.

        Every key under ``prefix`` lies in that folder, so the page is the same as after a walk
        of the bucket: the listing runs on the folder as if it were the bucket, with the folder
        cut from the prefix and the marker and put back on the keys, prefixes and next marker.
        """
        folder = prefix[: prefix.rfind("/") + 1]
        parts = folder.split("/")[:-1]
        if not folder or any(part in ("", ".", "..") for part in parts):
            return super()._list_entries(bucket_dir, prefix, delimiter, marker, marker_is_prefix, max_keys)
        if marker and not marker.startswith(folder):
            if marker.encode() > folder.encode() or (marker_is_prefix and folder.startswith(marker)):
                return [], [], False, ""  # the marker is past every key in the folder
            marker, marker_is_prefix = "", False
        else:
            marker = marker[len(folder):]
        root = bucket_dir.joinpath(*parts)
        if not root.resolve().is_relative_to(bucket_dir.resolve()):
            return [], [], False, ""
        contents, common, truncated, last = super()._list_entries(
            root, prefix[len(folder):], delimiter, marker, marker_is_prefix, max_keys)
        return ([(folder + key, path) for key, path in contents], [folder + c for c in common],
                truncated, last[:2] + folder + last[2:] if last else last)

    def _put(self, bucket: str, key: str) -> None:
        """Object data and parts stream to disk; the rest (bucket, copy) is localbucket's."""
        copy = "x-amz-copy-source" in self.headers
        part = "uploadId" in self.query or "partNumber" in self.query
        if "If-Match" in self.headers and (not key or copy or part):
            raise self._not_implemented_error()  # never ignore a condition silently
        if not key or copy:
            super()._put(bucket, key)
            return
        if part:
            self._check_query("UploadPart", {"uploadId", "partNumber"})
            etag = self._store_part(bucket, key, self._write_body)
        elif "If-Match" in self.headers:
            self._check_query("PutObject")
            etag = self._put_if_match(bucket, key)
        else:
            self._check_query("PutObject")
            etag = self._write_object(bucket, key, self._write_body)
        self._send(HTTPStatus.OK, headers={"ETag": f'"{etag}"'})

    def _put_if_match(self, bucket: str, key: str) -> str:
        """Write to a temporary file, then check the ETag and replace as one step, like S3."""
        target = self._object_path(bucket, key)
        if not target.is_file():
            raise _no_such_key()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=localbucket.TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                etag = self._write_body(f)
            with _if_match_lock:
                if not target.is_file():
                    raise _no_such_key()
                if not localbucket.etag_matches(self.headers["If-Match"], localbucket.object_etag(target)):
                    raise self._precondition_failed_error()
                os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        localbucket.remember_etag(target, etag)
        return etag

    def _write_body(self, file: BinaryIO) -> str:
        """Copy the checked body into ``file`` block by block; return its MD5 (the ETag)."""
        md5 = hashlib.md5(usedforsecurity=False)
        for block in self._body_blocks():
            file.write(block)
            md5.update(block)
        return md5.hexdigest()

    def _read_body(self) -> bytes:
        """A small body (an XML document) in memory, checked like object data."""
        body = bytearray()
        for block in self._body_blocks():
            body += block
            if len(body) > _MAX_SMALL_BODY:
                raise S3Error(HTTPStatus.BAD_REQUEST, "MaxMessageLengthExceeded", "Your request was too big.")
        return bytes(body)

    def _body_blocks(self) -> Iterator[bytes]:
        """The request body, decoded, raising S3Error at the end if it is not what was signed."""
        assert self._verified is not None
        declared = self._verified.payload_hash
        blocks = _http_body(self.rfile, self.headers)
        if declared not in (UNSIGNED_PAYLOAD,) and not declared.startswith("STREAMING-"):
            blocks = _checked(blocks, declared)
        if declared.startswith("STREAMING-") or "aws-chunked" in self.headers.get("Content-Encoding", ""):
            check = self._verified.chunk_signer() if declared.startswith(SIGNED_CHUNKS) else None
            reader = io.BufferedReader(_BlockStream(blocks), _BLOCK)
            yield from _aws_chunks(reader, check)
            if reader.read(1):
                raise S3Error(HTTPStatus.BAD_REQUEST, "IncompleteBody", "Data after the last aws-chunked chunk.")
        else:
            yield from blocks


def _http_body(rfile: BinaryIO, headers) -> Iterator[bytes]:
    """The body as the client sent it: Content-Length bytes, or HTTP chunks joined."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        while True:
            size = _chunk_size(rfile.readline(4096))
            if size == 0:
                _skip_trailers(rfile)
                return
            yield from _exactly(rfile, size)
            rfile.readline(4096)
    else:
        try:
            length = int(headers.get("Content-Length") or 0)
        except ValueError:
            raise S3Error(HTTPStatus.BAD_REQUEST, "InvalidArgument", "Content-Length is not a number.") from None
        yield from _exactly(rfile, length)


def _aws_chunks(reader: BinaryIO, check: Callable[[str, str], None] | None) -> Iterator[bytes]:
    """aws-chunked framing removed; with ``check``, each chunk's signature verified."""
    while True:
        line = reader.readline(4096)
        size = _chunk_size(line)
        digest = hashlib.sha256()
        for block in _exactly(reader, size):
            digest.update(block)
            yield block
        if check is not None:
            signature = line.partition(b"chunk-signature=")[2].strip().decode("ascii", "replace")
            try:
                check(digest.hexdigest(), signature)
            except AuthError as e:
                raise S3Error(e.status, e.code, e.message) from None
        if size == 0:
            _skip_trailers(reader)  # checksum trailers: the signature already covers the data
            return
        reader.readline(4096)


def _exactly(stream: BinaryIO, size: int) -> Iterator[bytes]:
    remaining = size
    while remaining > 0:
        block = stream.read(min(remaining, _BLOCK))
        if not block:
            raise S3Error(HTTPStatus.BAD_REQUEST, "IncompleteBody",
                          "The request body is shorter than its declared length.")
        remaining -= len(block)
        yield block


def _checked(blocks: Iterator[bytes], declared: str) -> Iterator[bytes]:
    digest = hashlib.sha256()
    for block in blocks:
        digest.update(block)
        yield block
    if not hmac.compare_digest(digest.hexdigest(), declared.lower()):
        raise S3Error(HTTPStatus.BAD_REQUEST, "XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what was computed.")


def _chunk_size(line: bytes) -> int:
    try:
        return int(line.split(b";", 1)[0].strip(), 16)
    except ValueError:
        raise S3Error(HTTPStatus.BAD_REQUEST, "IncompleteBody", "A chunk's size is missing or invalid.") from None


def _skip_trailers(stream: BinaryIO) -> None:
    while stream.readline(4096).strip():
        pass


def _no_such_key() -> S3Error:
    return S3Error(HTTPStatus.NOT_FOUND, "NoSuchKey", "The specified key does not exist.")


class _BlockStream(io.RawIOBase):
    """Byte blocks from a generator as a readable stream, so a decoder can read lines."""

    def __init__(self, blocks: Iterator[bytes]):
        self._blocks = blocks
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._view:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._view = memoryview(block)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n
