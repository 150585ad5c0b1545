"""SigV4 verification, for the Authorization header and for presigned query strings.

The verifier rebuilds the canonical request from the request as it arrived and compares signatures in
constant time. The caller learns the account and region of the credential. Streaming S3 bodies are not
read here: when the signed payload hash is a real SHA-256, the body is wrapped so that a mismatch is
raised when the body has been read to its end (before anything the body wrote becomes visible).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sageforge.aws.context import AwsRequest, BodyStream
from sageforge.aws.errors import AccessDenied, AwsError, SignatureError

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_MAX_SKEW = timedelta(minutes=15)
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# SigV2 carries no region; requests signed with it are attributed to this one.
_V2_REGION = "us-east-1"
# Query parameters that are part of the resource S3 signs under SigV2.
_S3_V2_SUBRESOURCES = frozenset(
    {
        "acl",
        "cors",
        "delete",
        "lifecycle",
        "location",
        "logging",
        "notification",
        "partNumber",
        "policy",
        "requestPayment",
        "restore",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
    }
)


@dataclass(frozen=True)
class Credential:
    secret_key: str
    account_id: str


@dataclass(frozen=True)
class SignedRequestScope:
    """What the credential scope of a signed request says."""

    access_key: str
    date: str
    region: str
    service: str


@dataclass(frozen=True)
class Identity:
    access_key: str
    account_id: str
    region: str


@dataclass(frozen=True)
class _Signature:
    scope: SignedRequestScope
    amz_date: str
    signed_headers: list[str]
    signature: str
    presigned: bool
    expires: int | None


def credential_scope(request: AwsRequest) -> SignedRequestScope | None:
    """The scope a request was signed for, or None for an unsigned request."""
    signature = _read_signature(request)
    return signature.scope if signature else None


class SigV4Verifier:
    def __init__(self, credentials: Mapping[str, Credential], clock: type[datetime] = datetime) -> None:
        self._credentials = credentials
        self._clock = clock

    def verify(self, request: AwsRequest, body: bytes | None, service: str) -> Identity:
        """Check the signature; ``body`` is the whole body when it was read, None when it still streams."""
        signature = _read_signature(request)
        if signature is None:
            if service == "s3" and "AWSAccessKeyId" in request.query_dict():
                return self._verify_s3_v2_query(request)
            raise AccessDenied("Request is missing Authentication Token", code="MissingAuthenticationToken")
        credential = self._credentials.get(signature.scope.access_key)
        if credential is None:
            raise SignatureError("The security token included in the request is invalid.", unknown_key=True)
        self._check_time(signature)
        payload_hash = _payload_hash(request, body, signature.presigned)
        canonical = _canonical_request(request, signature, payload_hash, normalize_path=service != "s3")
        scope = signature.scope
        scope_text = f"{scope.date}/{scope.region}/{scope.service}/aws4_request"
        string_to_sign = "\n".join(
            [ALGORITHM, signature.amz_date, scope_text, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = _signing_key(credential.secret_key, scope.date, scope.region, scope.service)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.signature):
            raise SignatureError(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method."
            )
        if body is None and _is_sha256(payload_hash) and payload_hash != _EMPTY_SHA256:
            request.body = Sha256CheckingBody(request.body, payload_hash)
        return Identity(scope.access_key, credential.account_id, scope.region)

    def _verify_s3_v2_query(self, request: AwsRequest) -> Identity:
        """S3's legacy presigned URLs (boto3's default ``generate_presigned_url`` for S3): HMAC-SHA1 over
        the method, Content-MD5, Content-Type, Expires, x-amz-* headers and the resource."""
        query = request.query_dict()
        try:
            access_key, signature, expires = query["AWSAccessKeyId"], query["Signature"], int(query["Expires"])
        except (KeyError, ValueError) as exc:
            raise SignatureError(
                "The presigned URL is missing or has malformed AWSAccessKeyId/Signature/Expires."
            ) from exc
        credential = self._credentials.get(access_key)
        if credential is None:
            raise SignatureError("The AWS access key Id you provided does not exist in our records.", unknown_key=True)
        if self._clock.now(UTC).timestamp() > expires:
            raise AccessDenied("Request has expired", code="AccessDenied")
        amz_headers = sorted(
            (name.lower(), " ".join(value.split()))
            for name, value in request.headers.raw()
            if name.lower().startswith("x-amz-")
        )
        subresources = sorted((k, v) for k, v in request.query if k in _S3_V2_SUBRESOURCES)
        resource = request.raw_path + (
            "?" + "&".join(f"{k}={v}" if v else k for k, v in subresources) if subresources else ""
        )
        string_to_sign = "\n".join(
            [
                request.method,
                request.headers.get("content-md5", ""),
                request.headers.get("content-type", ""),
                str(expires),
                "".join(f"{name}:{value}\n" for name, value in amz_headers) + resource,
            ]
        )
        digest = hmac.new(credential.secret_key.encode(), string_to_sign.encode(), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), signature):
            raise SignatureError(
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method."
            )
        return Identity(access_key, credential.account_id, _V2_REGION)

    def _check_time(self, signature: _Signature) -> None:
        try:
            signed_at = datetime.strptime(signature.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise SignatureError(f"Invalid X-Amz-Date: {signature.amz_date}") from exc
        now = self._clock.now(UTC)
        if signature.presigned:
            if signature.expires is not None and now > signed_at + timedelta(seconds=signature.expires):
                raise AccessDenied("Request has expired", code="AccessDenied")
        elif abs(now - signed_at) > _MAX_SKEW:
            raise SignatureError(
                f"Signature expired: {signature.amz_date} is now earlier or later than the allowed 15 minutes."
            )


class Sha256CheckingBody:
    """Passes a streaming body through and raises at its end when its SHA-256 differs from the signed one."""

    def __init__(self, inner: BodyStream, expected_hex: str) -> None:
        self._inner = inner
        self._expected = expected_hex
        self._digest = hashlib.sha256()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        chunk = self._inner.read(size)
        self._digest.update(chunk)
        if (not chunk or size < 0) and not self._done:
            self._done = True
            computed = self._digest.hexdigest()
            if computed != self._expected:
                raise AwsError(
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    code="XAmzContentSHA256Mismatch",
                    fields={"ClientComputedContentSHA256": self._expected, "S3ComputedContentSHA256": computed},
                )
        return chunk


def _read_signature(request: AwsRequest) -> _Signature | None:
    header = request.headers.get("authorization")
    if header:
        algorithm, _, rest = header.partition(" ")
        if algorithm != ALGORITHM:
            raise SignatureError(f"Unsupported authorization type {algorithm}; only {ALGORITHM} is accepted.")
        parts = {}
        for item in rest.split(","):
            name, _, value = item.strip().partition("=")
            parts[name] = value
        try:
            scope = _scope(parts["Credential"])
            return _Signature(
                scope=scope,
                amz_date=request.headers.get("x-amz-date", ""),
                signed_headers=parts["SignedHeaders"].split(";"),
                signature=parts["Signature"],
                presigned=False,
                expires=None,
            )
        except KeyError as exc:
            raise SignatureError(f"Authorization header is missing {exc.args[0]}.") from exc
    query = request.query_dict()
    if query.get("X-Amz-Algorithm"):
        if query["X-Amz-Algorithm"] != ALGORITHM:
            raise SignatureError(f"Unsupported X-Amz-Algorithm {query['X-Amz-Algorithm']}.")
        try:
            return _Signature(
                scope=_scope(query["X-Amz-Credential"]),
                amz_date=query["X-Amz-Date"],
                signed_headers=query["X-Amz-SignedHeaders"].split(";"),
                signature=query["X-Amz-Signature"],
                presigned=True,
                expires=int(query["X-Amz-Expires"]) if "X-Amz-Expires" in query else None,
            )
        except (KeyError, ValueError) as exc:
            raise SignatureError("The presigned URL is missing or has malformed X-Amz-* parameters.") from exc
    return None


def _scope(credential: str) -> SignedRequestScope:
    pieces = credential.split("/")
    if len(pieces) != 5 or pieces[4] != "aws4_request":
        raise SignatureError(f"Credential should be scoped to a valid region and service: {credential}")
    return SignedRequestScope(*pieces[:4])


def _payload_hash(request: AwsRequest, body: bytes | None, presigned: bool) -> str:
    declared = request.headers.get("x-amz-content-sha256")
    if declared:
        return declared
    if presigned:
        return UNSIGNED_PAYLOAD
    return hashlib.sha256(body or b"").hexdigest()


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _canonical_request(request: AwsRequest, signature: _Signature, payload_hash: str, normalize_path: bool) -> str:
    path = request.raw_path or "/"
    if normalize_path:
        # Every service but S3 signs the path encoded once more, after removing dot segments.
        path = quote(_remove_dot_segments(path), safe="/~")
    pairs = []
    for key, value in request.query:
        if signature.presigned and key == "X-Amz-Signature":
            continue
        pairs.append((quote(key, safe="-_.~"), quote(value, safe="-_.~")))
    query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    raw_headers: dict[str, list[str]] = {}
    for name, value in request.headers.raw():
        raw_headers.setdefault(name.lower(), []).append(" ".join(value.split()))
    headers = "".join(f"{name}:{','.join(raw_headers.get(name, []))}\n" for name in signature.signed_headers)
    return "\n".join([request.method, path, query, headers, ";".join(signature.signed_headers), payload_hash])


def _remove_dot_segments(path: str) -> str:
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    normalized = "/".join(segments)
    return normalized if normalized.startswith("/") else "/" + normalized


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
