"""HTTP bindings shared by the REST protocols (rest-json, rest-xml): where botocore's model places a member
outside the body -- a URI label, the query string, a header, a header prefix, the status code -- and how its
value reads from and writes to text there.

Values that do not convert to their shape's type stay text, so validation reports them in AWS's words.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from botocore.model import ListShape, MapShape, Shape, StructureShape

from sageforge.aws.context import AwsRequest, Headers
from sageforge.aws.http import HttpResponse
from sageforge.aws.protocol.xml_writer import format_timestamp

_LABEL = re.compile(r"\{([A-Za-z0-9_]+\+?)\}")


def path_regex(template: str) -> str:
    """``/{Bucket}/{Key+}`` -> a regex with a named group per label; ``+`` labels span slashes."""
    pieces = _LABEL.split(template)
    regex = ""
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            regex += re.escape(piece)
        elif piece.endswith("+"):
            regex += f"(?P<{piece[:-1]}>.+)"
        else:
            regex += f"(?P<{piece}>[^/]+)"
    return regex


def literal_length(template: str) -> int:
    """How many characters of ``template`` are not labels: the more, the more specific the route."""
    return len(_LABEL.sub("", template))


def uri_labels(pattern: re.Pattern[str], path: str) -> dict[str, str]:
    match = pattern.fullmatch(path)
    return {name: unquote(value) for name, value in match.groupdict().items()} if match else {}


def query_lists(request: AwsRequest) -> dict[str, list[str]]:
    """Every query parameter with all of its values, in order."""
    query: dict[str, list[str]] = {}
    for name, value in request.query:
        query.setdefault(name, []).append(value)
    return query


def bound_members(
    shape: StructureShape, labels: Mapping[str, str], query: Mapping[str, list[str]], headers: Headers
) -> dict[str, Any]:
    """The input members bound outside the body, as Python values."""
    # A query-string map (Lambda's) takes only the parameters no other member names.
    named = {
        member.serialization.get("name", name)
        for name, member in shape.members.items()
        if member.serialization.get("location") == "querystring" and not isinstance(member, MapShape)
    }
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = _bound_value(member, name, labels, query, named, headers)
        if value is not None:
            params[name] = value
    return params


def bind_output(response: HttpResponse, output: Mapping[str, Any], shape: StructureShape) -> None:
    """Write the output members bound to headers and the status code onto ``response``."""
    for name, member in shape.members.items():
        value = output.get(name)
        location = member.serialization.get("location")
        if value is None or location is None:
            continue
        wire = member.serialization.get("name", name)
        if location == "header":
            response.header(wire, _header_text(value, member))
        elif location == "headers":
            response.headers.extend((wire + key, str(text)) for key, text in value.items())
        elif location == "statusCode":
            response.status = int(value)


def raw_payload(response: HttpResponse, value: Any, member: Shape) -> bool:
    """Write a blob or string payload as the body; False for a structured payload the protocol encodes."""
    if member.type_name == "blob":
        response.body = value  # bytes, or an iterator that streams
    elif member.type_name == "string":
        response.body = value.encode()
    else:
        return False
    return True


def _bound_value(
    member: Shape,
    name: str,
    labels: Mapping[str, str],
    query: Mapping[str, list[str]],
    named: set[str],
    headers: Headers,
) -> Any:
    serialization = member.serialization
    location = serialization.get("location")
    wire = serialization.get("name", name)
    if location == "uri":
        return labels.get(wire)
    if location == "querystring":
        if isinstance(member, MapShape):
            found = {key: values[-1] for key, values in query.items() if key not in named}
            return found or None
        values = query.get(wire)
        if not values:
            return None
        if isinstance(member, ListShape):
            return [_text_value(value, member.member) for value in values]
        return _text_value(values[-1], member)
    if location == "header":
        text = headers.get(wire)
        if text is None:
            return None
        if isinstance(member, ListShape):
            return [_text_value(item.strip(), member.member) for item in text.split(",")]
        return _text_value(text, member)
    if location == "headers":
        prefix = wire.lower()
        found = {key[len(prefix) :]: value for key, value in headers.items() if key.startswith(prefix)}
        return found or None
    return None


def _text_value(text: str, shape: Shape) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        return int(text) if re.fullmatch(r"-?\d+", text) else text
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if kind == "timestamp":
        return _timestamp(text)
    if kind == "string" and shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text))
        except (binascii.Error, ValueError):
            return text
    return text


def _timestamp(text: str) -> datetime | str:
    try:
        parsed = parsedate_to_datetime(text)  # RFC 822, what clients send in headers
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _header_text(value: Any, member: Shape) -> str:
    kind = member.type_name
    if kind == "timestamp":
        return format_timestamp(value, member.serialization.get("timestampFormat", "rfc822"))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "string" and member.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    if isinstance(member, ListShape) and isinstance(value, Iterable) and not isinstance(value, str):
        return ",".join(str(item) for item in value)
    return str(value)
