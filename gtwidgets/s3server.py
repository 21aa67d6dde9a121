"""A local S3 on 127.0.0.1 for people without an AWS account: ``gtwidgets s3 serve``.

Built on localbucket (PyPI, stdlib only): buckets are folders in a data folder, so the
data survives restarts and can be browsed with a file manager. Safe by default on a
shared machine (see ``_s3handler``): every request must be signed with the folder's own
key (made on first start, kept in the folder, readable by its owner only), no web page
may call it cross-origin unless ``--cors-origin`` names one, the data folder is private
(0700, files 0600), and uploads stream to disk. It only ever binds a loopback address.
Clients find the key through ``_s3key``; ``ensure_local_s3`` points them at it.

One server per data folder: it holds an exclusive lock on ``.gtwidgets-s3.lock`` while
it runs and records its endpoint and pid in ``.gtwidgets-s3.json``, which is how
``ensure_local_s3`` finds and reuses a server started by an earlier notebook cell.
"""
from __future__ import annotations

import hmac
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import weakref
from pathlib import Path
from typing import Callable

from ._s3key import KEY_FILE, STATE_FILE, LocalKey, default_data_dir, ensure_key, read_key, read_state
from .errors import StorageError

__all__ = ["LocalS3", "serve", "ensure_local_s3", "attach_local_s3", "stop_local_s3", "serve_forever",
           "data_dir_path", "default_data_dir", "DEFAULT_PORT"]

DEFAULT_PORT = 9000
_STATE = STATE_FILE
_LOCK = ".gtwidgets-s3.lock"
_LOG = ".gtwidgets-s3.log"
_START_TIMEOUT = 15.0
_read_state = read_state


class LocalS3:
    """A running local S3 server in a child process; ``stop()`` it or use ``with``.

    ``key`` is what clients sign with (``key.as_client_kwargs()`` for boto3); ``environ``
    is what gtwidgets' own client needs in ``os.environ`` to use this server.
    """

    def __init__(self, endpoint_url: str, data_dir: Path, process: subprocess.Popen | None):
        self.endpoint_url = endpoint_url
        self.data_dir = data_dir
        self.key: LocalKey | None = read_key(data_dir)
        self._process = process
        self._finalizer = weakref.finalize(self, _terminate, process) if process else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def key_file(self) -> Path:
        """The file holding the key; other S3 tools need it as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."""
        return self.data_dir / KEY_FILE

    @property
    def environ(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "GTWIDGETS_S3_DIR": str(self.data_dir)}

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
          host: str = "127.0.0.1", cors_origin: str | None = None) -> LocalS3:
    """Start a local S3 serving ``data_dir`` and return once it answers.

    ``port=0`` picks a free port. The server stops with ``stop()``, at the end of a
    ``with`` block, or when this Python process exits. ``cors_origin`` (e.g.
    ``"http://localhost:8888"``) lets that one web origin call it from a browser. Raises
    StorageError if the port is taken or another server already serves ``data_dir``.
    """
    root = _prepare(data_dir, host)
    return _spawn(root, port=port, host=host, fallback=False, detach=False, cors_origin=cors_origin)


def ensure_local_s3(data_dir: str | os.PathLike | None = None, *, port: int | None = None) -> str:
    """Make sure a local S3 serves ``data_dir`` and point this process at it.

    Reuses a server already running for that folder (from an earlier call or another
    process); otherwise starts one detached, so it outlives the notebook cell and kernel.
    Sets ``AWS_ENDPOINT_URL`` and ``GTWIDGETS_S3_DIR`` in ``os.environ`` (so gtwidgets' S3
    client finds the folder's key, for that endpoint only; AWS credentials are left alone)
    and returns the endpoint URL. Without ``port`` it takes the port used last time, else
    9000, else any free port.
    """
    server = _reuse_or_start(data_dir, port, detach=True)
    os.environ.update(server.environ)
    if "AWS_ENDPOINT_URL_S3" in os.environ:
        os.environ["AWS_ENDPOINT_URL_S3"] = server.endpoint_url  # it would win over AWS_ENDPOINT_URL
    return server.endpoint_url


def attach_local_s3(data_dir: str | os.PathLike | None = None, *, port: int | None = None) -> LocalS3:
    """Like ``ensure_local_s3``, but a server it starts stops with this process.

    For ``gtwidgets lab``: its ``stop()`` stops only a server this call started; one that
    was already running (someone else's) keeps running. Leaves ``os.environ`` alone.
    """
    return _reuse_or_start(data_dir, port, detach=False)


def serve_forever(data_dir: str | os.PathLike | None = None, *, port: int | None = None,
                  cors_origin: str | None = None, on_ready: Callable[[LocalS3], None] | None = None) -> None:
    """Serve ``data_dir`` as S3 on 127.0.0.1 in this process until SIGTERM or Ctrl+C.

    For ``gtwidgets s3 serve``. ``port=None`` takes 9000, or any free port if that is taken.
    ``on_ready`` is called with the running server once it listens. Ctrl+C raises
    KeyboardInterrupt as usual; SIGTERM returns. Raises StorageError if the port is taken or
    another server already serves ``data_dir``.
    """
    root = _prepare(data_dir, "127.0.0.1")
    ready = None if on_ready is None else (lambda endpoint: on_ready(LocalS3(endpoint, root, None)))
    _run(root, port=DEFAULT_PORT if port is None else port, host="127.0.0.1", fallback=port is None,
         on_ready=ready, cors_origin=cors_origin)


def data_dir_path(data_dir: str | os.PathLike | None = None) -> Path:
    """The absolute data folder a local S3 serves: ``data_dir``, else ``$GTWIDGETS_S3_DIR`` or ``~/.gtwidgets/s3``."""
    return Path(data_dir if data_dir is not None else default_data_dir()).expanduser().resolve()


def stop_local_s3(data_dir: str | os.PathLike | None = None, *, timeout: float = 10.0) -> bool:
    """Stop the local S3 serving ``data_dir``, whoever started it (``ensure_local_s3`` detaches it).

    Finds the server through the folder's state file and checks that it really serves that
    folder before signalling it. Returns True if a server was running and has stopped.
    """
    root = data_dir_path(data_dir)
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


# ---------------------------------------------------------------------------- starting

def _prepare(data_dir: str | os.PathLike | None, host: str) -> Path:
    if not _is_loopback_host(host):
        raise StorageError(
            f"host {host!r}: the local S3 is for this machine only, so it only listens on "
            "127.0.0.1; use host='127.0.0.1' (tunnel with ssh -L to reach it from elsewhere).")
    import importlib.util

    if importlib.util.find_spec("localbucket") is None:
        raise StorageError("the local S3 needs localbucket; run `pip install 'gtwidgets[lab]'` "
                           "(or `pip install localbucket`).")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    root = root.expanduser().resolve()
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if root.stat().st_mode & 0o077:
            root.chmod(0o700)  # other users on the machine must not read the data or the key
        ensure_key(root)
    except OSError as e:
        raise StorageError(f"{root}: cannot make a private S3 data folder here "
                           f"({e.strerror or e}); choose a folder of your own.") from None
    return root


def _reuse_or_start(data_dir: str | os.PathLike | None, port: int | None, *, detach: bool) -> LocalS3:
    root = _prepare(data_dir, "127.0.0.1")
    state = _read_state(root)
    if state and _answers(state["endpoint"], root):
        return LocalS3(state["endpoint"], root, None)
    wanted = port if port is not None else (state or {}).get("port", DEFAULT_PORT)
    return _spawn(root, port=wanted, host="127.0.0.1", fallback=port is None, detach=detach)


def _spawn(root: Path, *, port: int, host: str, fallback: bool, detach: bool,
           cors_origin: str | None = None) -> LocalS3:
    options = {"data_dir": str(root), "port": port, "host": host, "any_port_if_taken": fallback,
               "parent_pid": None if detach else os.getpid(), "cors_origin": cors_origin}
    cmd = [sys.executable, "-m", __name__, json.dumps(options)]  # the child's own protocol, not a CLI
    log_path = root / _LOG
    with open(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
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
    """True if the local S3 at ``endpoint`` serves ``root`` and proves it holds its key.

    The proof (an HMAC of a fresh challenge) keeps a program that took over the port
    from receiving our signed requests and data.
    """
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from ._s3handler import CHALLENGE_HEADER, DATA_HEADER, PROOF_HEADER, proof

    parts = urllib.parse.urlsplit(endpoint)
    key = read_key(root)
    if not parts.hostname or not _is_loopback_host(parts.hostname) or key is None:
        return False
    challenge = secrets.token_hex(16)
    request = AWSRequest("GET", f"{endpoint}/", headers={CHALLENGE_HEADER: challenge})
    S3SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), "s3", "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
    try:
        conn.request("GET", "/", headers=dict(request.headers.items()))
        resp = conn.getresponse()
        resp.read()
        served = resp.getheader(DATA_HEADER)
        return (resp.status == 200 and served is not None and urllib.parse.unquote(served) == str(root)
                and hmac.compare_digest(resp.getheader(PROOF_HEADER) or "", proof(key, challenge)))
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


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _is_loopback_host(host: str) -> bool:
    return host == "localhost" or host.startswith("127.")


# ---------------------------------------------------------------------------- the server

def _run(root: Path, *, port: int, host: str, fallback: bool, on_ready=None,
         cors_origin: str | None = None) -> None:
    """Serve ``root`` in this process until SIGTERM or Ctrl+C."""
    import localbucket
    from http.server import ThreadingHTTPServer

    from ._s3handler import handler_class

    os.umask(0o077)  # buckets, objects, state: the owner's only
    handler = handler_class(root, ensure_key(root), cors_origin)
    lock = _lock(root)
    try:
        try:
            server = ThreadingHTTPServer((host, port), handler)
        except OSError as e:
            if not (fallback and port):
                raise StorageError(f"port {port}: cannot listen on it ({e.strerror}); "
                                   "choose another with --port, or 0 for any free port.") from None
            server = ThreadingHTTPServer((host, 0), handler)
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


def _main(argv: list[str] | None = None) -> int:
    """Entry point of the child process that ``_spawn`` starts, with its options as one JSON object."""
    options = json.loads((sys.argv[1:] if argv is None else argv)[0])
    # The parent stops us (stop() or its exit); a notebook interrupt must not.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if options.get("parent_pid"):
        threading.Thread(target=_exit_with_parent, args=(options["parent_pid"],), daemon=True).start()
    try:
        root = _prepare(options["data_dir"], options["host"])
        _run(root, port=options["port"], host=options["host"], fallback=options["any_port_if_taken"],
             cors_origin=options.get("cors_origin"))
    except StorageError as e:
        print(e, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(_main())
