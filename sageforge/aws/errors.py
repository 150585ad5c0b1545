"""AWS-shaped errors raised anywhere above the wire and serialized by the protocol in use.

The tree::

    AwsError                      code, message, HTTP status, sender/receiver fault, extra fields
    ├── ValidationException       400, malformed or invalid parameters (json services)
    ├── ResourceNotFound          400, SageMaker's code for a missing resource
    ├── ResourceInUse             400, name taken or resource busy
    ├── ResourceLimitExceeded     400
    ├── ConflictException         409
    ├── AccessDenied              403, the principal may not do this
    ├── SignatureError            403, bad or missing credentials (service-specific code, see auth)
    ├── UnknownOperation          the operation exists in AWS but not here
    └── InternalFailure           500, a bug; the request id is logged

Services whose codes differ (S3's ``NoSuchKey``, Logs' ``ResourceNotFoundException``) raise ``AwsError``
with the code spelled out rather than growing a subclass per code.
"""

from __future__ import annotations

from collections.abc import Mapping


class AwsError(Exception):
    """An error a client sees as AWS would send it."""

    code: str = "InternalFailure"
    status: int = 400
    sender_fault: bool = True

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if self.status >= 500:
            self.sender_fault = False
        # Extra members some protocols carry beside Code/Message (S3's <Key>, <BucketName>, ...).
        self.fields: dict[str, str] = dict(fields or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, status={self.status})"


class ValidationException(AwsError):
    code = "ValidationException"


class SerializationException(AwsError):
    """A body that does not decode in the protocol's format (JSON, CBOR, gzip)."""

    code = "SerializationException"


class ResourceNotFound(AwsError):
    code = "ResourceNotFound"


class ResourceInUse(AwsError):
    code = "ResourceInUse"


class ResourceLimitExceeded(AwsError):
    code = "ResourceLimitExceeded"


class ConflictException(AwsError):
    code = "ConflictException"
    status = 409


class AccessDenied(AwsError):
    code = "AccessDeniedException"
    status = 403


class SignatureError(AwsError):
    """Authentication failed; ``reason`` picks the service's code (see ``auth.error_code``)."""

    status = 403

    def __init__(self, message: str, *, unknown_key: bool = False) -> None:
        super().__init__(message)
        self.unknown_key = unknown_key


class UnknownOperation(AwsError):
    code = "UnknownOperationException"


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500
