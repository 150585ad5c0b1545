"""The ``json`` protocol (SageMaker, CloudWatch Logs, ...): ``POST /`` with ``X-Amz-Target: Prefix.Operation``
and a JSON body; outputs are JSON with epoch-second timestamps; errors carry ``__type`` and ``message``."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from sageforge.aws.context import AwsRequest, RequestContext
from sageforge.aws.errors import AwsError, SerializationException, UnknownOperation
from sageforge.aws.http import HttpResponse

_NON_FINITE = ("NaN", "Infinity", "-Infinity")


class JsonProtocol:
    validation_error_code = "ValidationException"
    signature_error_code = "InvalidSignatureException"
    unknown_key_error_code = "UnrecognizedClientException"

    def reads_whole_body(self, request: AwsRequest) -> bool:
        return True

    def operation_name(self, request: AwsRequest, service: ServiceModel) -> str:
        target = request.headers.get("x-amz-target", "")
        prefix, _, name = target.partition(".")
        if prefix != service.metadata.get("targetPrefix") or name not in service.operation_names:
            raise UnknownOperation(f"The operation {target or '(none)'} is not known to {service.service_name}.")
        return name

    def parse(self, request: AwsRequest, operation: OperationModel) -> dict[str, Any]:
        raw = request.body.read()
        if not raw.strip():
            return {}
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise SerializationException(f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise SerializationException("The request body must be a JSON object.")
        shape = operation.input_shape
        return _decode(document, shape) if shape is not None else {}

    def serialize(self, output: dict[str, Any], operation: OperationModel, context: RequestContext) -> HttpResponse:
        body = json.dumps(output, default=_encode, separators=(",", ":")).encode()
        return HttpResponse(200, self._headers(operation.service_model, context), body)

    def serialize_error(self, error: AwsError, service: ServiceModel, context: RequestContext) -> HttpResponse:
        headers = self._headers(service, context)
        headers.append(("x-amzn-errortype", error.code))
        if "awsQueryCompatible" in service.metadata:
            fault = "Sender" if error.sender_fault else "Receiver"
            headers.append(("x-amzn-query-error", f"{error.code};{fault}"))
        document: dict[str, str] = {"__type": error.code, "message": error.message, **error.fields}
        return HttpResponse(error.status, headers, json.dumps(document).encode())

    @staticmethod
    def _headers(service: ServiceModel, context: RequestContext) -> list[tuple[str, str]]:
        version = service.metadata.get("jsonVersion", "1.1")
        return [("content-type", f"application/x-amz-json-{version}"), ("x-amzn-requestid", context.request_id)]


def _decode(value: Any, shape: Shape) -> Any:
    """Turn JSON values into the Python types handlers expect (timestamps, blobs); leave type errors to
    validation so they are reported with AWS's wording."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        # Unknown members are dropped, as AWS does.
        return {k: _decode(v, shape.members[k]) for k, v in value.items() if k in shape.members and v is not None}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_decode(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _decode(v, shape.value) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return _timestamp(value)
    if shape.type_name in ("float", "double") and value in _NON_FINITE:
        # JSON has no NaN or infinity; botocore sends them as these strings.
        return float(value)
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise SerializationException("A blob member is not valid base64.") from exc
    return value


def _timestamp(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                return datetime.fromtimestamp(float(value), tz=UTC)
            except ValueError as exc:
                raise SerializationException(f"'{value}' is not a valid timestamp.") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialize {type(value).__name__}")
