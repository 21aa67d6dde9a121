"""The boto3 S3 client of ``gtwidgets.storage``, one a configuration, and its errors in a user's words.

The client honours the standard AWS configuration (profiles, region, ``AWS_ENDPOINT_URL``)
and botocore's retries; against gtwidgets' own local S3 (``gtwidgets s3server``) it signs with
that server's key. ``s3_errors`` turns botocore's exceptions into one-line errors that say
what to do next.
"""
from __future__ import annotations

import os
import threading
import urllib.parse

from .errors import BucketNotFoundError, ConflictError, NotFoundError, PermanentStorageError, StorageError

__all__ = ["endpoint_url", "s3_client", "s3_errors"]

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def endpoint_url() -> str | None:
    """The S3 endpoint from the environment (``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``)."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def s3_client():
    """A cached boto3 S3 client for the current environment (thread-safe)."""
    endpoint = endpoint_url()
    profile = os.environ.get("AWS_PROFILE")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    local_key = None
    if endpoint and _is_loopback(endpoint):
        from ._s3key import key_for_endpoint

        local_key = key_for_endpoint(endpoint)  # gtwidgets' local S3: sign with its own key
    cache_key = (endpoint, profile, region, os.environ.get("AWS_ACCESS_KEY_ID"), local_key)
    client = _clients.get(cache_key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            client = _clients[cache_key] = _make_client(endpoint, profile, region, local_key)
        return client


def _make_client(endpoint: str | None, profile: str | None, region: str | None, local_key=None):
    import boto3
    from botocore.config import Config

    import botocore.session

    local = bool(endpoint) and _is_loopback(endpoint)
    core = botocore.session.get_session()
    if local:
        # Finding no credentials must not cost a 1-2 s probe of the EC2 metadata service.
        providers = core.get_component("credential_provider")
        for name in ("container-role", "iam-role"):
            providers.remove(name)
    session = boto3.session.Session(botocore_session=core, profile_name=profile)
    region = region or session.region_name or "us-east-1"
    config = Config(
        # A refused loopback connection means the local server is not running: say so at once.
        retries={"mode": "standard", "max_attempts": 2 if local else 4},
        connect_timeout=5, read_timeout=30,
        max_pool_connections=16,
        s3={"addressing_style": "path"} if endpoint else {},
        signature_version="s3v4",  # botocore would presign with SigV2, which AWS retires and the local S3 refuses
    )
    creds = {}
    if local_key is not None:
        # Only this client, for this endpoint: AWS credentials stay as they are for AWS.
        creds = local_key.as_client_kwargs()
    elif local and session.get_credentials() is None:
        # Another local S3 (moto) checks no signature: let people without an AWS
        # account use it without inventing credentials.
        creds = {"aws_access_key_id": "gtwidgets", "aws_secret_access_key": "gtwidgets"}
    return session.client("s3", endpoint_url=endpoint, region_name=region, config=config, **creds)


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


class s3_errors:
    """Turn botocore's exceptions into one-line errors that say what to do."""

    def __init__(self, uri: str):
        self.uri = uri

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, StorageError):
            return False
        from botocore import exceptions as bx

        uri = self.uri
        if isinstance(exc, bx.NoCredentialsError):
            raise StorageError(
                f"{uri}: no AWS credentials found. Run `aws configure` or set AWS_PROFILE; "
                "without an AWS account, run `gtwidgets s3 serve` and set the AWS_ENDPOINT_URL it prints."
            ) from None
        if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError)):
            raise StorageError(
                f"{uri}: cannot reach the S3 endpoint {endpoint_url() or 'of AWS'}; "
                "check the network, or start the local store with `gtwidgets s3 serve`."
            ) from None
        if isinstance(exc, bx.ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
                raise ConflictError(f"{uri}: someone else wrote this object first; read it again and retry.") from None
            if code == "NoSuchBucket":
                bucket = uri[5:].partition("/")[0]  # s3://bucket/key
                raise BucketNotFoundError(f"{uri}: bucket {bucket!r} does not exist; create it or check its name and region.") from None
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFoundError(f"{uri}: no such object; check the key.") from None
            if code in ("AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                server = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("server", "")
                if server.startswith("gtwidgets-s3"):
                    raise PermanentStorageError(
                        f"{uri}: the local S3 at {endpoint_url()} refused the request ({code}): it takes only "
                        "its own key. Call gtwidgets.s3server.ensure_local_s3() (or set GTWIDGETS_S3_DIR "
                        "to its data folder) so gtwidgets signs with it."
                    ) from None
                raise PermanentStorageError(
                    f"{uri}: access denied ({code}); check that your credentials (AWS_PROFILE) "
                    "may read and write this bucket."
                ) from None
            raise StorageError(f"{uri}: S3 said {code or status}: {err.get('Message', '')}".rstrip(": ")) from None
        if isinstance(exc, bx.BotoCoreError):
            raise StorageError(f"{uri}: {exc}") from None
        return False
