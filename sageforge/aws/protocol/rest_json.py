"""The ``rest-json`` protocol (SageMaker Runtime, Lambda): the method and the path name the operation; input
members come from where the model binds them (URI labels, query string, headers, a header prefix) and the
rest from the body -- either the one member bound as the payload (a blob passed through as bytes, or a JSON
document) or a JSON object of the unbound members. Outputs go back the same way. Errors carry their code in
``x-amzn-errortype`` and a JSON body with ``message`` and the error shape's own members, typed as modelled
(SageMaker Runtime's ``ModelError`` has an integer ``OriginalStatusCode``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

from sageforge.aws.context import AwsRequest, RequestContext
from sageforge.aws.errors import AwsError, SerializationException, UnknownOperation
from sageforge.aws.http import HttpResponse
from sageforge.aws.protocol.http_binding import (
    bind_output,
    bound_members,
    literal_length,
    path_regex,
    query_lists,
    raw_payload,
    uri_labels,
)

# The json protocol's rules for values inside a JSON document (epoch-second timestamps, base64 blobs) are
# the same in rest-json bodies.
from sageforge.aws.protocol.json import _decode as decode_document
from sageforge.aws.protocol.json import _encode as encode_value

# Bodies are read whole before authentication; nothing rest-json serves takes more in one request (InvokeEndpoint
# and Lambda's Invoke both stop at 6 MiB). A larger declared body is refused before it is read.
MAX_BODY_BYTES = 6 * 1024 * 1024


class PayloadTooLarge(AwsError):
    """What the AWS front end answers for a body over the limit: a bare 413, which SDKs report as code "413"."""

    code = "413"
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"HTTP content length exceeded {limit} bytes.")


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    query_markers: tuple[str, ...]
    literal_length: int


class RestJsonProtocol:
    validation_error_code = "ValidationException"
    signature_error_code = "InvalidSignatureException"
    unknown_key_error_code = "UnrecognizedClientException"

    def __init__(self) -> None:
        self._routes: dict[str, list[_Route]] = {}

    def reads_whole_body(self, request: AwsRequest) -> bool:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise PayloadTooLarge(MAX_BODY_BYTES)
        return True

    def operation_name(self, request: AwsRequest, service: ServiceModel) -> str:
        query = request.query_dict()
        for route in self._routes_of(service):
            if (
                route.method == request.method
                and route.path.fullmatch(request.raw_path)
                and all(marker in query for marker in route.query_markers)
            ):
                return route.operation
        raise UnknownOperation(
            f"No operation of {service.service_name} matches {request.method} {request.raw_path}.", status=404
        )

    def parse(self, request: AwsRequest, operation: OperationModel) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        route = next(r for r in self._routes_of(operation.service_model) if r.operation == operation.name)
        labels = uri_labels(route.path, request.raw_path)
        params = bound_members(shape, labels, query_lists(request), request.headers)
        body = request.body.read()
        payload = shape.serialization.get("payload")
        if payload:
            value = _payload(body, shape.members[payload])
            if value is not None:
                params[payload] = value
        elif body.strip():
            unbound = {
                name: value
                for name, value in _document(body).items()
                if name in shape.members and "location" not in shape.members[name].serialization
            }
            params.update(decode_document(unbound, shape))
        return params

    def serialize(self, output: dict[str, Any], operation: OperationModel, context: RequestContext) -> HttpResponse:
        response = HttpResponse(int(operation.http.get("responseCode", 200)), _headers(context))
        shape = operation.output_shape
        if shape is None:
            return response
        bind_output(response, output, shape)
        payload = shape.serialization.get("payload")
        if payload:
            value = output.get(payload)
            if value is not None and not raw_payload(response, value, shape.members[payload]):
                _json_body(response, value)
        else:
            body = {
                name: output[name]
                for name, member in shape.members.items()
                if output.get(name) is not None and "location" not in member.serialization
            }
            _json_body(response, body)
        return response

    def serialize_error(self, error: AwsError, service: ServiceModel, context: RequestContext) -> HttpResponse:
        response = HttpResponse(error.status, _headers(context))
        response.header("x-amzn-errortype", error.code)
        document: dict[str, Any] = {"message": error.message}
        members = _error_members(service, error.code)
        for name, text in error.fields.items():
            member = members.get(name)
            document[name] = int(text) if member is not None and member.type_name in ("integer", "long") else text
        _json_body(response, document)
        return response

    def _routes_of(self, service: ServiceModel) -> list[_Route]:
        routes = self._routes.get(service.service_name)
        if routes is None:
            routes = [_route(service.operation_model(name)) for name in service.operation_names]
            # The most specific template first: "/functions/{F}/invocations" before "/functions/{F}".
            routes.sort(key=lambda route: (len(route.query_markers), route.literal_length), reverse=True)
            self._routes[service.service_name] = routes
        return routes


def _route(operation: OperationModel) -> _Route:
    template, _, markers = operation.http["requestUri"].partition("?")
    names = tuple(marker.partition("=")[0] for marker in markers.split("&") if marker)
    pattern = re.compile(path_regex(template) + "/?")
    return _Route(operation.name, operation.http["method"], pattern, names, literal_length(template))


def _payload(body: bytes, member: Shape) -> Any:
    if member.type_name == "blob":
        limit = member.metadata.get("max")
        if limit is not None and len(body) > limit:
            raise PayloadTooLarge(int(limit))
        return body
    if not body.strip():
        return None
    if member.type_name == "string":
        return body.decode()
    return decode_document(_document(body), member)


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise SerializationException(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a JSON object.")
    return document


def _json_body(response: HttpResponse, document: Mapping[str, Any]) -> None:
    if not any(name.lower() == "content-type" for name, _ in response.headers):
        response.header("content-type", "application/json")
    response.body = json.dumps(document, default=encode_value, separators=(",", ":")).encode()


def _error_members(service: ServiceModel, code: str) -> Mapping[str, Shape]:
    for shape in service.error_shapes:
        if shape.name == code and isinstance(shape, StructureShape):
            members: Mapping[str, Shape] = shape.members
            return members
    return {}


def _headers(context: RequestContext) -> list[tuple[str, str]]:
    return [("x-amzn-requestid", context.request_id)]
