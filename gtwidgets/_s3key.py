"""The local S3's key: made once per data folder, kept in it (0600), found by clients.

The key lives beside the data, so only the folder's owner can read it. A client finds
it without anyone typing it: the data folder is ``$GTWIDGETS_S3_DIR`` (which
``ensure_local_s3`` sets) or ``~/.gtwidgets/s3``, and the key is used only for the
endpoint that folder's server recorded in its state file. Nothing here touches
``AWS_ACCESS_KEY_ID`` or profiles, so real AWS credentials keep working for real AWS.
"""
from __future__ import annotations

import json
import os
import secrets
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

KEY_FILE = ".gtwidgets-s3.key"
STATE_FILE = ".gtwidgets-s3.json"


@dataclass(frozen=True)
class LocalKey:
    access_key_id: str
    secret_access_key: str

    def as_client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.client("s3", ...)``."""
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}

    def __repr__(self) -> str:  # never print the secret by accident
        return f"LocalKey({self.access_key_id!r}, secret_access_key='...')"


def default_data_dir() -> Path:
    """``$GTWIDGETS_S3_DIR``, else ``~/.gtwidgets/s3``."""
    return Path(os.environ.get("GTWIDGETS_S3_DIR") or Path.home() / ".gtwidgets" / "s3")


def ensure_key(root: Path) -> LocalKey:
    """The folder's key, made on first use; its file is readable by its owner only."""
    path = root / KEY_FILE
    key = LocalKey("GTW" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        found = read_key(root)
        if found is None:
            raise OSError(f"{path}: unreadable or damaged; delete it to make a new key") from None
        return found
    with os.fdopen(fd, "w") as f:
        json.dump({"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key}, f)
    return key


def read_key(root: Path) -> LocalKey | None:
    """The folder's key, or None if it has none (yet) or is not ours to read."""
    path = root / KEY_FILE
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)  # copied or restored with loose permissions
        data = json.loads(path.read_text())
        return LocalKey(str(data["access_key_id"]), str(data["secret_access_key"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_state(root: Path) -> dict | None:
    """The running server's record (endpoint, port, pid), if any."""
    try:
        state = json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("endpoint"), str) else None


def key_for_endpoint(endpoint: str) -> LocalKey | None:
    """The key of the local S3 serving at ``endpoint``, from the current data folder."""
    root = default_data_dir().expanduser()
    state = read_state(root)
    if state is None or _normal(state["endpoint"]) != _normal(endpoint):
        return None
    return read_key(root)


def _normal(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    host = "127.0.0.1" if parts.hostname == "localhost" else (parts.hostname or "")
    return parts.scheme, host, parts.port
