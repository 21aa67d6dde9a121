"""A local S3 on 127.0.0.1 for people without an AWS account: ``gtwidgets s3 serve``.

Built on localbucket (PyPI, stdlib only): buckets are folders in a data folder, so the
data survives restarts and can be browsed with a file manager. localbucket honours
``If-None-Match: *`` but silently ignores ``If-Match``; gtwidgets relies on ``If-Match``
for shared-manifest updates, so the handler here adds it (412 on a stale ETag).
Credentials are not checked, hence the server only ever binds a loopback address.

One server per data folder: it holds an exclusive lock on ``.gtwidgets-s3.lock`` while
it runs and records its endpoint and pid in ``.gtwidgets-s3.json``, which is how
``ensure_local_s3`` finds and reuses a server started by an earlier notebook cell.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import weakref
from http import HTTPStatus
from pathlib import Path

from .errors import StorageError

__all__ = ["LocalS3", "serve", "ensure_local_s3", "stop_local_s3", "default_data_dir", "register_cli", "DEFAULT_PORT"]

DEFAULT_PORT = 9000
_STATE = ".gtwidgets-s3.json"
_LOCK = ".gtwidgets-s3.lock"
_LOG = ".gtwidgets-s3.log"
_DATA_HEADER = "x-gtwidgets-data-dir"
_START_TIMEOUT = 15.0


def default_data_dir() -> Path:
    """``$GTWIDGETS_S3_DIR``, else ``~/.gtwidgets/s3``."""
    return Path(os.environ.get("GTWIDGETS_S3_DIR") or Path.home() / ".gtwidgets" / "s3")


class LocalS3:
    """A running local S3 server in a child process; ``stop()`` it or use ``with``."""

    def __init__(self, endpoint_url: str, data_dir: Path, process: subprocess.Popen | None):
        self.endpoint_url = endpoint_url
        self.data_dir = data_dir
        self._process = process
        self._finalizer = weakref.finalize(self, _terminate, process) if process else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        """Stop the server; its data stays in ``data_dir``."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> LocalS3:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalS3({self.endpoint_url!r}, data_dir={str(self.data_dir)!r})"


def serve(data_dir: str | os.PathLike | None = None, *, port: int = 0,
          host: str = "127.0.0.1") -> LocalS3:
    """Start a local S3 serving ``data_dir`` and return once it answers.

    ``port=0`` picks a free port. The server stops with ``stop()``, at the end of a
    ``with`` block, or when this Python process exits. Raises StorageError if the port
    is taken or another server already serves ``data_dir``.
    """
    root = _prepare(data_dir, host)
    return _spawn(root, port=port, host=host, fallback=False, detach=False)


def ensure_local_s3(data_dir: str | os.PathLike | None = None, *, port: int | None = None) -> str:
    """Make sure a local S3 serves ``data_dir`` and point this process at it.

    Reuses a server already running for that folder (from an earlier call or another
    process); otherwise starts one detached, so it outlives the notebook cell and kernel.
    Sets ``AWS_ENDPOINT_URL`` in ``os.environ`` and returns the endpoint URL. Without
    ``port`` it takes the port used last time, else 9000, else any free port.
    """
    root = _prepare(data_dir, "127.0.0.1")
    state = _read_state(root)
    if state and _answers(state["endpoint"], root):
        endpoint = state["endpoint"]
    else:
        wanted = port if port is not None else (state or {}).get("port", DEFAULT_PORT)
        server = _spawn(root, port=wanted, host="127.0.0.1", fallback=port is None, detach=True)
        endpoint = server.endpoint_url
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    if "AWS_ENDPOINT_URL_S3" in os.environ:
        os.environ["AWS_ENDPOINT_URL_S3"] = endpoint  # it would win over AWS_ENDPOINT_URL
    return endpoint


def stop_local_s3(data_dir: str | os.PathLike | None = None, *, timeout: float = 10.0) -> bool:
    """Stop the local S3 serving ``data_dir``, whoever started it (``ensure_local_s3`` detaches it).

    Finds the server through the folder's state file and checks that it really serves that
    folder before signalling it. Returns True if a server was running and has stopped.
    """
    root = Path(data_dir if data_dir is not None else default_data_dir()).expanduser().resolve()
    state = _read_state(root)
    pid = (state or {}).get("pid")
    if not isinstance(pid, int) or not _answers(state["endpoint"], root):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _running(pid):
            return True
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add ``gtwidgets s3 serve [DIR] [--port N]``."""
    s3 = subparsers.add_parser("s3", help="a local S3 for people without AWS",
                               description="A local S3-compatible server on 127.0.0.1.")
    s3_sub = s3.add_subparsers(dest="s3_command", metavar="COMMAND")
    s3.set_defaults(func=lambda args: s3.print_help() or 2)
    p = s3_sub.add_parser(
        "serve", help="serve a folder as S3 on 127.0.0.1 until Ctrl+C",
        description="Serve DIR as S3 on 127.0.0.1 (buckets are its sub-folders; data stays "
                    "on disk). Prints the AWS_ENDPOINT_URL to set; Ctrl+C stops it.")
    p.add_argument("data_dir", nargs="?", metavar="DIR", type=Path, default=None,
                   help="data folder (default: $GTWIDGETS_S3_DIR or ~/.gtwidgets/s3)")
    p.add_argument("--port", type=int, default=None,
                   help=f"port (default: {DEFAULT_PORT}, or any free port if that is taken)")
    p.set_defaults(func=_cli_serve)


# ---------------------------------------------------------------------------- starting

def _prepare(data_dir: str | os.PathLike | None, host: str) -> Path:
    if not _is_loopback_host(host):
        raise StorageError(
            f"host {host!r}: the local S3 checks no credentials, so it only listens on "
            "127.0.0.1; use host='127.0.0.1' (tunnel with ssh -L to reach it from elsewhere).")
    import importlib.util

    if importlib.util.find_spec("localbucket") is None:
        raise StorageError("the local S3 needs localbucket; run `pip install 'gtwidgets[lab]'` "
                           "(or `pip install localbucket`).")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    root = root.expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError(f"{root}: cannot create the S3 data folder ({e.strerror}); "
                           "choose a folder you can write to.") from None
    return root


def _spawn(root: Path, *, port: int, host: str, fallback: bool, detach: bool) -> LocalS3:
    cmd = [sys.executable, "-m", __name__, str(root), "--port", str(port), "--host", host]
    if fallback:
        cmd.append("--any-port-if-taken")
    if not detach:
        cmd += ["--parent-pid", str(os.getpid())]
    log_path = root / _LOG
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=detach, close_fds=True)
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        state = _read_state(root)
        if state and state.get("pid") == proc.pid and _answers(state["endpoint"], root):
            return LocalS3(state["endpoint"], root, None if detach else proc)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    _terminate(proc)
    why = _last_line(log_path) or f"it did not answer within {_START_TIMEOUT:.0f} s"
    raise StorageError(f"the local S3 did not start: {why}")


def _answers(endpoint: str, root: Path) -> bool:
    """True if a gtwidgets local S3 serving ``root`` answers at ``endpoint``."""
    parts = urllib.parse.urlsplit(endpoint)
    if not parts.hostname or not _is_loopback_host(parts.hostname):
        return False
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        resp.read()
        served = resp.getheader(_DATA_HEADER)
        return resp.status == 200 and served is not None and urllib.parse.unquote(served) == str(root)
    except OSError:
        return False
    finally:
        conn.close()


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _running(pid: int) -> bool:
    """True while ``pid`` runs (a zombie awaiting its parent's wait counts as stopped)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child: reap it
            return False
    except (ChildProcessError, OSError, AttributeError):  # not our child, or no WNOHANG (Windows)
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _read_state(root: Path) -> dict | None:
    try:
        state = json.loads((root / _STATE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("endpoint"), str) else None


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _is_loopback_host(host: str) -> bool:
    return host == "localhost" or host.startswith("127.")


def _cli_serve(args: argparse.Namespace) -> int:
    root = _prepare(args.data_dir, "127.0.0.1")

    def ready(endpoint: str) -> None:
        print(f"export AWS_ENDPOINT_URL={endpoint}", flush=True)
        print(f"# local S3 serving {root} (each sub-folder is a bucket; data stays on disk). "
              "Ctrl+C stops it.", flush=True)

    port = DEFAULT_PORT if args.port is None else args.port
    try:
        _run(root, port=port, host="127.0.0.1", fallback=args.port is None, on_ready=ready)
    except KeyboardInterrupt:
        print("# local S3 stopped", flush=True)
    return 0


# ---------------------------------------------------------------------------- the server

def _run(root: Path, *, port: int, host: str, fallback: bool, on_ready=None) -> None:
    """Serve ``root`` in this process until SIGTERM or Ctrl+C."""
    import localbucket
    from http.server import ThreadingHTTPServer

    lock = _lock(root)
    try:
        try:
            server = ThreadingHTTPServer((host, port), _handler_class(root))
        except OSError as e:
            if not (fallback and port):
                raise StorageError(f"port {port}: cannot listen on it ({e.strerror}); "
                                   "choose another with --port, or 0 for any free port.") from None
            server = ThreadingHTTPServer((host, 0), _handler_class(root))
        bound_host, bound_port = server.server_address[:2]
        endpoint = f"http://{bound_host}:{bound_port}"
        state = {"endpoint": endpoint, "port": bound_port, "pid": os.getpid(),
                 "data_dir": str(root), "localbucket": localbucket.__version__}
        tmp = root / f"{_STATE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, root / _STATE)
        signal.signal(signal.SIGTERM, _exit_on_signal)
        if on_ready is not None:
            on_ready(endpoint)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            if (_read_state(root) or {}).get("pid") == os.getpid():
                (root / _STATE).unlink(missing_ok=True)
    finally:
        lock.close()


def _exit_on_signal(signum, frame):
    raise SystemExit(0)


def _exit_with_parent(parent_pid: int) -> None:
    """Stop when the process that started us is gone, even if it was killed hard."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _lock(root: Path):
    """Hold an exclusive lock on the data folder, so two servers never share one."""
    f = open(root / _LOCK, "a+b")
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the state file still guides reuse
        return f
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        other = (_read_state(root) or {}).get("endpoint", "another process")
        raise StorageError(f"{root}: already served by a local S3 at {other}; use that one "
                           f"(export AWS_ENDPOINT_URL={other}) or stop it first.") from None
    return f


def _handler_class(root: Path):
    import localbucket

    if_match_lock = threading.Lock()

    class Handler(localbucket.S3Handler):
        """localbucket's handler, plus If-Match on PutObject and a header naming the folder."""

        server_version = f"gtwidgets-s3 LocalBucket/{localbucket.__version__}"
        data_root = root

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the terminal for the export line; errors reach the client as XML

        def send_response(self, code: int, message: str | None = None) -> None:
            super().send_response(code, message)
            self.send_header(_DATA_HEADER, urllib.parse.quote(str(self.data_root)))

        def do_PUT(self) -> None:
            if "If-Match" in self.headers:
                self._dispatch(self._put_if_match)
            else:
                super().do_PUT()

        def _put_if_match(self, bucket: str, key: str) -> None:
            if (not key or "x-amz-copy-source" in self.headers
                    or "uploadId" in self.query or "partNumber" in self.query):
                raise self._not_implemented_error()  # never ignore a condition silently
            self._check_query("PutObject")
            body = self._read_body()
            with if_match_lock:  # check and replace as one step, like S3
                target = self._object_path(bucket, key)
                if not target.is_file():
                    raise localbucket.S3Error(HTTPStatus.NOT_FOUND, "NoSuchKey",
                                              "The specified key does not exist.")
                if not localbucket.etag_matches(self.headers["If-Match"], localbucket.object_etag(target)):
                    raise self._precondition_failed_error()
                etag = self._write_object(bucket, key, lambda f: localbucket.write_bytes(f, body))
            self._send(HTTPStatus.OK, headers={"ETag": f'"{etag}"'})

    return Handler


def _main(argv: list[str] | None = None) -> int:
    """Entry point of the child process that ``serve`` and ``ensure_local_s3`` start."""
    p = argparse.ArgumentParser(prog="python -m gtwidgets.s3server")
    p.add_argument("data_dir", type=Path)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--any-port-if-taken", action="store_true")
    p.add_argument("--parent-pid", type=int, default=None)
    args = p.parse_args(argv)
    # The parent stops us (stop() or its exit); a notebook interrupt must not.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.parent_pid:
        threading.Thread(target=_exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    try:
        root = _prepare(args.data_dir, args.host)
        _run(root, port=args.port, host=args.host, fallback=args.any_port_if_taken)
    except StorageError as e:
        print(e, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(_main())
