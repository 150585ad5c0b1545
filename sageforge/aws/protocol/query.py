"""The ``query`` protocol (STS, IAM, ...): form-encoded ``Action=Op&Version=..&Param.member.1=..`` requests
(``POST`` body, or the query string of a ``GET``), XML responses wrapped in ``<OpResponse><OpResult>``, and
``<ErrorResponse>`` errors.

Flat parameter names are read into a tree by their dots and decoded by the input shape: lists are
``Name.member.N`` (or ``Name.N`` when flattened), maps ``Name.entry.N.key``/``.value``, structures
``Name.Member``. Values that do not convert (``MaxItems=abc``) stay strings so validation reports them in
AWS's wording.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from sageforge.aws.context import AwsRequest, BytesBody, RequestContext
from sageforge.aws.errors import AwsError
from sageforge.aws.http import HttpResponse
from sageforge.aws.protocol.xml_writer import XML_DECLARATION, escape, members

_CONTENT_TYPE = "text/xml"


class QueryProtocol:
    validation_error_code = "ValidationError"
    signature_error_code = "SignatureDoesNotMatch"
    unknown_key_error_code = "InvalidClientTokenId"

    def reads_whole_body(self, request: AwsRequest) -> bool:
        return True

    def operation_name(self, request: AwsRequest, service: ServiceModel) -> str:
        form = _form(request)
        action = form.get("Action")
        if not action:
            raise AwsError("Could not find operation to perform.", code="MissingAction")
        if action not in service.operation_names:
            version = form.get("Version", "NO_VERSION_SPECIFIED")
            raise AwsError(f"Could not find operation {action} for version {version}", code="InvalidAction")
        return action

    def parse(self, request: AwsRequest, operation: OperationModel) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        tree = _Node()
        for key, value in _form(request).items():
            tree.insert(key.split("."), value)
        decoded = _decode(tree, shape)
        return decoded if isinstance(decoded, dict) else {}

    def serialize(self, output: dict[str, Any], operation: OperationModel, context: RequestContext) -> HttpResponse:
        name = operation.name
        namespace = escape(operation.service_model.metadata.get("xmlNamespace", ""))
        shape = operation.output_shape
        result = ""
        if isinstance(shape, StructureShape):
            wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
            result = f"<{wrapper}>{members(output, shape)}</{wrapper}>"
        body = (
            f'{XML_DECLARATION}<{name}Response xmlns="{namespace}">{result}'
            f"<ResponseMetadata><RequestId>{context.request_id}</RequestId></ResponseMetadata></{name}Response>"
        )
        return HttpResponse(200, self._headers(context), body.encode())

    def serialize_error(self, error: AwsError, service: ServiceModel, context: RequestContext) -> HttpResponse:
        namespace = escape(service.metadata.get("xmlNamespace", ""))
        extra = "".join(f"<{key}>{escape(value)}</{key}>" for key, value in error.fields.items())
        body = (
            f'{XML_DECLARATION}<ErrorResponse xmlns="{namespace}"><Error>'
            f"<Type>{'Sender' if error.sender_fault else 'Receiver'}</Type>"
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>{extra}"
            f"</Error><RequestId>{context.request_id}</RequestId></ErrorResponse>"
        )
        return HttpResponse(error.status, self._headers(context), body.encode())

    @staticmethod
    def _headers(context: RequestContext) -> list[tuple[str, str]]:
        return [("content-type", _CONTENT_TYPE), ("x-amzn-requestid", context.request_id)]


def _form(request: AwsRequest) -> dict[str, str]:
    """Query-string parameters overlaid with the form body's; the body is put back for the next reader."""
    raw = request.body.read()
    request.body = BytesBody(raw)
    params = dict(request.query)
    params.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    return params


@dataclass
class _Node:
    """One dotted segment of the flat parameter names; ``value`` is set where a name ends."""

    value: str | None = None
    children: dict[str, _Node] = field(default_factory=dict)

    def insert(self, path: list[str], value: str) -> None:
        node = self
        for segment in path:
            node = node.children.setdefault(segment, _Node())
        node.value = value

    def child(self, *names: str) -> _Node | None:
        for name in names:
            if name in self.children:
                return self.children[name]
        return None

    def numbered(self) -> list[_Node]:
        """Children named 1, 2, ... in numeric order (gaps are tolerated, as AWS does)."""
        indexed = [(int(name), node) for name, node in self.children.items() if name.isdigit()]
        return [node for _, node in sorted(indexed, key=lambda pair: pair[0])]


def _decode(node: _Node, shape: Shape) -> Any:
    if isinstance(shape, StructureShape):
        return _decode_structure(node, shape)
    if isinstance(shape, ListShape):
        if shape.serialization.get("flattened"):
            return [_decode(item, shape.member) for item in node.numbered()]
        items = node.child(shape.member.serialization.get("name", "member"), "member", "Member")
        return [_decode(item, shape.member) for item in items.numbered()] if items else []
    if isinstance(shape, MapShape):
        entries = node if shape.serialization.get("flattened") else node.child("entry", "Entry")
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        decoded: dict[Any, Any] = {}
        for entry in entries.numbered() if entries else []:
            key, value = entry.child(key_name), entry.child(value_name)
            if key is not None and key.value is not None:
                decoded[key.value] = _decode(value, shape.value) if value is not None else None
        return decoded
    return _scalar(node.value or "", shape)


def _decode_structure(node: _Node, shape: StructureShape) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for member_name, member_shape in shape.members.items():
        serialized = member_shape.serialization.get("name", member_name)
        if isinstance(member_shape, ListShape) and member_shape.serialization.get("flattened"):
            # A flattened list with a member name is sent under that name instead of the member's own.
            serialized = member_shape.member.serialization.get("name", serialized)
        child = node.child(serialized, member_name)
        if child is not None:
            decoded[member_name] = _decode(child, member_shape)
    return decoded


def _scalar(text: str, shape: Shape) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError:
        return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if kind == "timestamp":
        return _timestamp(text)
    if kind == "blob":
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            return text
    return text


def _timestamp(text: str) -> datetime | str:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return datetime.fromtimestamp(float(text), tz=UTC)
        except ValueError:
            return text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
