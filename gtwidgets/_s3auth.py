"""AWS Signature V4 checked on the local S3, with botocore's own signer.

The signature is recomputed from the request as received (method, raw path, query,
the headers the client signed, the payload hash it declared) by botocore's
``S3SigV4Auth`` and compared in constant time, so the server accepts exactly what
boto3 and the AWS CLI send: ``Authorization`` headers and presigned URLs. The payload
hash is only declared here; the handler checks the body against it as it streams.
"""
from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message
from http import HTTPStatus

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.compat import HTTPHeaders

from ._s3key import LocalKey

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
SIGNED_CHUNKS = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
_ALGORITHM = "AWS4-HMAC-SHA256"
_MAX_SKEW = timedelta(minutes=15)  # S3's own limit; an old signed request cannot be replayed
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_HINT = ("The local S3 takes only its own key: in a notebook call gtwidgets.s3server.ensure_local_s3(); "
         "other tools find it in DATA_DIR/.gtwidgets-s3.key.")


class AuthError(Exception):
    """A refused request: HTTP status, S3 error code, message for the client."""

    def __init__(self, status: HTTPStatus, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Verified:
    """A request whose signature holds; ``payload_hash`` is what the body must hash to."""

    payload_hash: str  # hex SHA-256, UNSIGNED-PAYLOAD, or a STREAMING-... marker
    signer: _Signer
    request: AWSRequest
    seed_signature: str

    def chunk_signer(self):
        """For signed aws-chunked bodies: a function checking each chunk's signature in turn."""
        previous = self.seed_signature
        scope = self.signer.credential_scope(self.request)
        timestamp = self.request.context["timestamp"]

        def check(chunk_hash: str, signature: str) -> None:
            nonlocal previous
            sts = "\n".join([f"{_ALGORITHM}-PAYLOAD", timestamp, scope, previous, _EMPTY_SHA256, chunk_hash])
            if not hmac.compare_digest(self.signer.signature(sts, self.request), signature):
                raise AuthError(HTTPStatus.FORBIDDEN, "SignatureDoesNotMatch",
                                "A chunk's signature does not match its data.")
            previous = signature

        return check


def verify(method: str, raw_path: str, headers: Message, key: LocalKey,
           now: datetime | None = None) -> Verified:
    """Check the request's SigV4 signature against ``key``; raise AuthError if it fails."""
    now = now or datetime.now(timezone.utc)
    path, _, query = raw_path.partition("?")
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    authorization = headers.get("Authorization")
    if authorization:
        fields = _authorization_fields(authorization)
        credential, signed, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
        timestamp = headers.get("X-Amz-Date") or ""
        payload_hash = headers.get("X-Amz-Content-SHA256")
        if not payload_hash:
            raise AuthError(HTTPStatus.BAD_REQUEST, "InvalidRequest",
                            "Missing required header for this request: x-amz-content-sha256")
        expires = None
    elif "X-Amz-Signature" in params:
        if params.get("X-Amz-Algorithm") != _ALGORITHM:
            raise AuthError(HTTPStatus.BAD_REQUEST, "AuthorizationQueryParametersError",
                            f"X-Amz-Algorithm only supports {_ALGORITHM}.")
        credential, signed = params.get("X-Amz-Credential", ""), params.get("X-Amz-SignedHeaders", "")
        signature, timestamp = params["X-Amz-Signature"], params.get("X-Amz-Date", "")
        payload_hash = UNSIGNED_PAYLOAD
        try:
            expires = timedelta(seconds=int(params.get("X-Amz-Expires", "")))
        except ValueError:
            raise AuthError(HTTPStatus.BAD_REQUEST, "AuthorizationQueryParametersError",
                            "X-Amz-Expires must be a number of seconds.") from None
        query = "&".join(p for p in query.split("&") if not p.startswith("X-Amz-Signature="))
    elif "AWSAccessKeyId" in params:
        raise AuthError(HTTPStatus.BAD_REQUEST, "InvalidArgument",
                        "Only Signature Version 4 is supported; with boto3 pass "
                        "config=botocore.config.Config(signature_version='s3v4').")
    else:
        raise AuthError(HTTPStatus.FORBIDDEN, "AccessDenied", f"Access Denied: the request is not signed. {_HINT}")

    key_id, _, scope = credential.partition("/")
    date, region, service, terminator = (scope.split("/") + ["", "", "", ""])[:4]
    if not hmac.compare_digest(key_id.encode(), key.access_key_id.encode()):
        raise AuthError(HTTPStatus.FORBIDDEN, "InvalidAccessKeyId",
                        f"The AWS Access Key Id you provided does not exist in our records. {_HINT}")
    try:
        signed_at = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise AuthError(HTTPStatus.FORBIDDEN, "AccessDenied", "X-Amz-Date is missing or not a date.") from None
    if date != timestamp[:8] or service != "s3" or terminator != "aws4_request" or not region:
        raise AuthError(HTTPStatus.FORBIDDEN, "SignatureDoesNotMatch", "The credential scope is malformed.")
    if expires is None and abs(now - signed_at) > _MAX_SKEW:
        raise AuthError(HTTPStatus.FORBIDDEN, "RequestTimeTooSkewed",
                        "The difference between the request time and the server's time is too large.")
    if expires is not None and not signed_at - _MAX_SKEW <= now <= signed_at + expires:
        raise AuthError(HTTPStatus.FORBIDDEN, "AccessDenied", "Request has expired.")

    signer = _Signer(Credentials(key.access_key_id, key.secret_access_key), "s3", region,
                     signed_names=[n for n in signed.lower().split(";") if n], headers=headers)
    host = headers.get("Host", "")
    request = AWSRequest(method=method, url=f"http://{host}{path}" + (f"?{query}" if query else ""),
                         headers={"X-Amz-Content-SHA256": payload_hash})
    request.context["timestamp"] = timestamp
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, signature):
        raise AuthError(HTTPStatus.FORBIDDEN, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. "
                        "Check your key and signing method. " + _HINT)
    return Verified(payload_hash, signer, request, signature)


class _Signer(S3SigV4Auth):
    """botocore's S3 signer, told which of the request's headers the client signed."""

    def __init__(self, credentials: Credentials, service: str, region: str, *,
                 signed_names: list[str], headers: Message):
        super().__init__(credentials, service, region)
        self._signed_names, self._headers = signed_names, headers

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        out = HTTPHeaders()
        if "host" not in self._signed_names:
            raise AuthError(HTTPStatus.FORBIDDEN, "AccessDenied", "The Host header must be signed.")
        for name in self._signed_names:
            values = self._headers.get_all(name)
            if not values:
                raise AuthError(HTTPStatus.FORBIDDEN, "SignatureDoesNotMatch",
                                f"The signed header {name!r} is missing from the request.")
            for value in values:
                out[name] = value
        return out


def _authorization_fields(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != _ALGORITHM:
        raise AuthError(HTTPStatus.BAD_REQUEST, "InvalidArgument",
                        f"Only {_ALGORITHM} (Signature Version 4) is supported. {_HINT}")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    if not all(fields.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
        raise AuthError(HTTPStatus.BAD_REQUEST, "AuthorizationHeaderMalformed",
                        "The authorization header is malformed; it needs Credential, SignedHeaders "
                        "and Signature.")
    return fields
