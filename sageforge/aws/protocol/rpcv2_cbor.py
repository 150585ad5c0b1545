"""The ``smithy-rpc-v2-cbor`` protocol (CloudWatch, ...): ``POST /service/<Service>/operation/<Operation>``
with header ``smithy-protocol: rpc-v2-cbor`` and a CBOR body (RFC 8949). Timestamps travel as tag 1 (epoch
seconds, integer or float), blobs as byte strings; outputs are CBOR maps, and errors maps with ``__type`` and
``message``, every response carrying ``smithy-protocol: rpc-v2-cbor``.

botocore names the service by the model's ``targetPrefix`` in the path. Services that were query services
(``awsQueryCompatible``) send their query error code in ``x-amzn-query-error`` as well, as with json.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import cbor2
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from sageforge.aws.context import AwsRequest, RequestContext
from sageforge.aws.errors import AwsError, SerializationException, UnknownOperation
from sageforge.aws.http import HttpResponse

PROTOCOL_HEADER = "rpc-v2-cbor"
_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)$")


def is_rpc_v2_request(request: AwsRequest) -> bool:
    """Whether the request is shaped like an RPC v2 call (its header, or failing that its path)."""
    return request.headers.get("smithy-protocol") == PROTOCOL_HEADER or _PATH.search(request.raw_path) is not None


class RpcV2CborProtocol:
    validation_error_code = "ValidationException"
    signature_error_code = "InvalidSignatureException"
    unknown_key_error_code = "UnrecognizedClientException"

    def reads_whole_body(self, request: AwsRequest) -> bool:
        return True

    def operation_name(self, request: AwsRequest, service: ServiceModel) -> str:
        match = _PATH.search(request.raw_path)
        if match is None or request.method != "POST":
            raise UnknownOperation(f"{request.method} {request.raw_path} names no {service.service_name} operation.")
        prefix, name = match.groups()
        if prefix != service.metadata.get("targetPrefix") or name not in service.operation_names:
            raise UnknownOperation(f"The operation {prefix}.{name} is not known to {service.service_name}.")
        return name

    def parse(self, request: AwsRequest, operation: OperationModel) -> dict[str, Any]:
        raw = request.body.read()
        if not raw:
            return {}
        try:
            document = cbor2.loads(raw)
        except (cbor2.CBORDecodeError, ValueError) as exc:
            raise SerializationException(f"The request body is not valid CBOR: {exc}") from exc
        if not isinstance(document, dict):
            raise SerializationException("The request body must be a CBOR map.")
        shape = operation.input_shape
        return _decode(document, shape) if shape is not None else {}

    def serialize(self, output: dict[str, Any], operation: OperationModel, context: RequestContext) -> HttpResponse:
        # An output is always a map, even an empty one: botocore reads an empty body as no structure at all.
        body = cbor2.dumps(output, datetime_as_timestamp=True, timezone=UTC)
        return HttpResponse(200, self._headers(context), body)

    def serialize_error(self, error: AwsError, service: ServiceModel, context: RequestContext) -> HttpResponse:
        headers = self._headers(context)
        if "awsQueryCompatible" in service.metadata:
            fault = "Sender" if error.sender_fault else "Receiver"
            headers.append(("x-amzn-query-error", f"{error.code};{fault}"))
        document = {"__type": error.code, "message": error.message, **error.fields}
        return HttpResponse(error.status, headers, cbor2.dumps(document))

    @staticmethod
    def _headers(context: RequestContext) -> list[tuple[str, str]]:
        return [
            ("content-type", "application/cbor"),
            ("smithy-protocol", PROTOCOL_HEADER),
            ("x-amzn-requestid", context.request_id),
        ]


def _decode(value: Any, shape: Shape) -> Any:
    """Drop unknown members and read epoch numbers as timestamps; leave type errors to validation."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {k: _decode(v, shape.members[k]) for k, v in value.items() if k in shape.members and v is not None}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_decode(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _decode(v, shape.value) for k, v in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, ValueError, OSError) as exc:
            raise SerializationException(f"{value} is not a valid timestamp.") from exc
    return value
