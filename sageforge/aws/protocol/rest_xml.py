"""The ``rest-xml`` protocol (S3): the method, the path and the query string name the operation; input
members come from where the model binds them (URI labels, query string, headers, a header prefix, the
payload); outputs go back as headers, a status code and an XML document or a streamed body.

botocore's models leave a few facts out: which request facts tell apart operations that share a method
and path (PutObject, CopyObject, UploadPart...), and the root element of output documents. They are data
in a ``RestXmlQuirks`` value (S3's live in ``s3.py``) read by the same generic mechanism.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.model import OperationModel, ServiceModel, Shape

from sageforge.aws.context import AwsRequest, BodyStream, Headers, RequestContext
from sageforge.aws.errors import AwsError
from sageforge.aws.http import HttpResponse
from sageforge.aws.protocol.chunked import AwsChunkedBody, decoded_headers, is_aws_chunked
from sageforge.aws.protocol.http_binding import (
    bind_output,
    bound_members,
    path_regex,
    query_lists,
    raw_payload,
    uri_labels,
)
from sageforge.aws.protocol.xml_reader import read_document
from sageforge.aws.protocol.xml_writer import XML_DECLARATION, element, escape

# XML payloads (a DeleteObjects list, a CompleteMultipartUpload part list) are read whole; S3 caps them too.
_MAX_XML_PAYLOAD = 20 * 1024 * 1024


@dataclass(frozen=True)
class RequestFact:
    """Something a request carries that singles out one operation among those sharing a method and path:
    a query parameter (with a given value, or any) or a header."""

    where: Literal["query", "header"]
    name: str
    value: str | None = None

    def holds(self, headers: Headers, query: Mapping[str, str]) -> bool:
        found = query.get(self.name) if self.where == "query" else headers.get(self.name)
        return found is not None and (self.value is None or found == self.value)


@dataclass(frozen=True)
class RestXmlQuirks:
    """What a rest-xml service does that its botocore model does not say."""

    # xmlns written on the root element of output documents.
    namespace: str | None = None
    # Facts beyond the requestUri's query markers that select an operation.
    request_facts: Mapping[str, tuple[RequestFact, ...]] = field(default_factory=dict)
    # Operations never matched from a request (served elsewhere, e.g. S3 Express's ListDirectoryBuckets).
    hidden_operations: frozenset[str] = frozenset()
    # Root elements of output documents without a payload member; by default "<Operation>Result".
    result_roots: Mapping[str, str] = field(default_factory=dict)
    # Outputs written as the root element's text rather than as child elements.
    text_results: frozenset[str] = frozenset()
    # An output header member whose presence makes the status 206 Partial Content.
    partial_content_member: str | None = None

    def result_root(self, operation: str) -> str:
        return self.result_roots.get(operation, f"{operation}Result")


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    facts: tuple[RequestFact, ...]
    deprecated: bool

    def matches(self, request: AwsRequest, query: Mapping[str, str]) -> bool:
        return self.path.fullmatch(request.raw_path) is not None and all(
            fact.holds(request.headers, query) for fact in self.facts
        )


class RestXmlProtocol:
    # rest-xml is served for S3 only, so these are S3's codes.
    validation_error_code = "InvalidArgument"
    signature_error_code = "SignatureDoesNotMatch"
    unknown_key_error_code = "InvalidAccessKeyId"

    def __init__(self, quirks: RestXmlQuirks | None = None) -> None:
        if quirks is None:
            # Imported here because the S3 module builds on this one's types.
            from sageforge.aws.protocol.s3 import S3_QUIRKS

            quirks = S3_QUIRKS
        self._quirks = quirks
        self._routes: dict[str, dict[str, _Route]] = {}

    def reads_whole_body(self, request: AwsRequest) -> bool:
        return False  # object bodies stream to the store; XML payloads are read when parsed

    def operation_name(self, request: AwsRequest, service: ServiceModel) -> str:
        query = request.query_dict()
        best: _Route | None = None
        for route in self._routes_of(service).values():
            if route.method != request.method or not route.matches(request, query):
                continue
            # The route naming the most facts wins (UploadPartCopy over UploadPart over PutObject).
            if best is None or (len(route.facts), not route.deprecated) > (len(best.facts), not best.deprecated):
                best = route
        if best is None:
            raise AwsError(
                "The specified method is not allowed against this resource.", code="MethodNotAllowed", status=405
            )
        return best.operation

    def parse(self, request: AwsRequest, operation: OperationModel) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        headers, body = request.headers, request.body
        if is_aws_chunked(headers):
            body = AwsChunkedBody(body, headers)
            headers = decoded_headers(headers)
        route = self._routes_of(operation.service_model)[operation.name]
        params = bound_members(shape, uri_labels(route.path, request.raw_path), query_lists(request), headers)
        payload = shape.serialization.get("payload")
        if payload:
            value = _payload(body, shape.members[payload])
            if value is not None:
                params[payload] = value
        return params

    def serialize(self, output: dict[str, Any], operation: OperationModel, context: RequestContext) -> HttpResponse:
        response = HttpResponse(int(operation.http.get("responseCode", 200)), self._headers(context))
        shape = operation.output_shape
        if shape is None:
            return response
        bind_output(response, output, shape)
        partial = self._quirks.partial_content_member
        if partial and output.get(partial) is not None:
            response.status = 206
        payload = shape.serialization.get("payload")
        if payload:
            member = shape.members[payload]
            value = output.get(payload)
            if value is not None and not raw_payload(response, value, member):
                self._document(response, member.serialization.get("name", payload), value, member)
        elif operation.name in self._quirks.text_results:
            self._text_document(response, operation.name, output, shape)
        elif any(output.get(n) is not None and "location" not in m.serialization for n, m in shape.members.items()):
            self._document(response, self._quirks.result_root(operation.name), output, shape)
        return response

    def serialize_error(self, error: AwsError, service: ServiceModel, context: RequestContext) -> HttpResponse:
        response = HttpResponse(error.status, self._headers(context))
        # HEAD responses carry no body, and a 304 must not have one; clients read the status alone.
        if context.request.method == "HEAD" or error.status == 304:
            return response
        fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in error.fields.items())
        document = (
            f"{XML_DECLARATION}<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
            f"{fields}<RequestId>{context.request_id}</RequestId></Error>"
        )
        response.header("content-type", "application/xml")
        response.body = document.encode()
        return response

    def _routes_of(self, service: ServiceModel) -> dict[str, _Route]:
        routes = self._routes.get(service.service_name)
        if routes is None:
            routes = {name: self._route(service.operation_model(name)) for name in service.operation_names}
            routes = {name: route for name, route in routes.items() if name not in self._quirks.hidden_operations}
            self._routes[service.service_name] = routes
        return routes

    def _route(self, operation: OperationModel) -> _Route:
        path, _, markers = operation.http["requestUri"].partition("?")
        facts = [RequestFact("query", *_marker(marker)) for marker in markers.split("&") if marker]
        facts += self._quirks.request_facts.get(operation.name, ())
        return _Route(operation.name, operation.http["method"], _path_pattern(path), tuple(facts), operation.deprecated)

    def _document(self, response: HttpResponse, root: str, value: Any, shape: Shape) -> None:
        text = element(root, value, shape, {"xmlns": self._quirks.namespace} if self._quirks.namespace else None)
        response.header("content-type", "application/xml")
        response.body = (XML_DECLARATION + text).encode()

    def _text_document(self, response: HttpResponse, operation: str, output: Mapping[str, Any], shape: Shape) -> None:
        """An output whose one member is the root element's text (S3's GetBucketLocation)."""
        value = output.get(next(iter(shape.members)))
        root = self._quirks.result_root(operation)
        namespace = f' xmlns="{self._quirks.namespace}"' if self._quirks.namespace else ""
        text = f"<{root}{namespace}/>" if value is None else f"<{root}{namespace}>{escape(str(value))}</{root}>"
        response.header("content-type", "application/xml")
        response.body = (XML_DECLARATION + text).encode()

    @staticmethod
    def _headers(context: RequestContext) -> list[tuple[str, str]]:
        return [("x-amz-request-id", context.request_id)]


def _marker(text: str) -> tuple[str, str | None]:
    """A requestUri query marker: ``uploads`` (present with any value) or ``list-type=2``."""
    name, _, value = text.partition("=")
    return name, value or None


def _path_pattern(template: str) -> re.Pattern[str]:
    regex = path_regex(template)
    if template.endswith("}") and not template.endswith("+}"):
        regex += "/?"  # "/bucket/" names the bucket
    return re.compile(regex)


def _payload(body: BodyStream, member: Shape) -> Any:
    if member.type_name == "blob":
        return body  # streams: the handler hands it to the store
    # Read to the end (not just the declared size): a body checked against x-amz-content-sha256 is verified
    # when its end is read.
    pieces: list[bytes] = []
    size = 0
    while piece := body.read(_MAX_XML_PAYLOAD + 1 - size):
        pieces.append(piece)
        size += len(piece)
        if size > _MAX_XML_PAYLOAD:
            raise AwsError("Your request was too big.", code="MaxMessageLengthExceeded")
    data = b"".join(pieces)
    if member.type_name == "string":
        return data.decode() if data else None
    return read_document(data, member) if data.strip() else None
