"""Write Python values as XML the way a botocore shape describes them; shared by the query and rest-xml protocols.

The rules mirror what botocore's XML response parsers read back:

* a structure member is an element named by its ``locationName`` (or the member name); members bound to an
  HTTP location (header, status code, ...) are skipped, and ``xmlAttribute`` members become attributes;
* a list is a wrapper element holding one ``<member>`` (or the member's ``locationName``) per item, or, when
  ``flattened``, one element per item named like the list itself;
* a map is a wrapper holding ``<entry><key/><value/></entry>`` per pair (key and value names from their
  ``locationName``), or, when ``flattened``, one ``<key/><value/>`` element per pair;
* timestamps follow the shape's ``timestampFormat`` (ISO 8601 with milliseconds by default), booleans are
  ``true``/``false``, blobs are base64.

Text is escaped for XML; carriage returns are written as ``&#13;`` so that XML parsers, which normalise
line ends, give back the exact string.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"})


def escape(text: str) -> str:
    """``text`` made safe as element content."""
    return text.translate(_TEXT_ESCAPES)


def element(name: str, value: Any, shape: Shape, attributes: Mapping[str, str] | None = None) -> str:
    """``value`` as one element named ``name`` (``attributes`` are added to its opening tag)."""
    attrs = dict(attributes or {})
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, dict) and namespace.get("uri"):
        prefix = namespace.get("prefix")
        attrs.setdefault(f"xmlns:{prefix}" if prefix else "xmlns", namespace["uri"])
    if isinstance(shape, StructureShape):
        attrs.update(_attribute_members(value, shape))
        return _tag(name, attrs, members(value, shape))
    if isinstance(shape, ListShape):
        return _tag(name, attrs, "".join(_list_items(value, shape, shape.member.serialization.get("name", "member"))))
    if isinstance(shape, MapShape):
        return _tag(name, attrs, "".join(f"<entry>{pair}</entry>" for pair in _map_pairs(value, shape)))
    return _tag(name, attrs, escape(scalar_text(value, shape)))


def members(value: Mapping[str, Any], shape: StructureShape) -> str:
    """The child elements of a structure, in model order, for callers that write the wrapper themselves."""
    parts: list[str] = []
    for member_name, member_shape in shape.members.items():
        member_value = value.get(member_name)
        serialization = member_shape.serialization
        if member_value is None or "location" in serialization or serialization.get("xmlAttribute"):
            continue
        if isinstance(member_shape, ListShape) and member_shape.serialization.get("flattened"):
            item_name = member_shape.member.serialization.get("name") or serialization.get("name", member_name)
            parts.extend(_list_items(member_value, member_shape, item_name))
        elif isinstance(member_shape, MapShape) and member_shape.serialization.get("flattened"):
            name = serialization.get("name", member_name)
            parts.extend(f"<{name}>{pair}</{name}>" for pair in _map_pairs(member_value, member_shape))
        else:
            parts.append(element(serialization.get("name", member_name), member_value, member_shape))
    return "".join(parts)


def scalar_text(value: Any, shape: Shape) -> str:
    """The text form of a scalar value of ``shape``."""
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", "iso8601"))
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode()
    if kind in ("float", "double") and isinstance(value, float):
        return repr(value)
    return str(value)


def format_timestamp(value: datetime | float, timestamp_format: str = "iso8601") -> str:
    """A datetime (naive means UTC) or epoch seconds in ``iso8601``, ``rfc822`` or ``unixTimestamp`` form."""
    moment = _as_utc(value)
    if timestamp_format == "unixTimestamp":
        seconds = moment.timestamp()
        return str(int(seconds)) if seconds.is_integer() else f"{seconds:.3f}"
    if timestamp_format == "rfc822":
        return format_datetime(moment, usegmt=True)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


def _as_utc(value: datetime | float) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromtimestamp(value, tz=UTC)


def _attribute_members(value: Mapping[str, Any], shape: StructureShape) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for member_name, member_shape in shape.members.items():
        if member_shape.serialization.get("xmlAttribute") and value.get(member_name) is not None:
            name = member_shape.serialization.get("name", member_name)
            attrs[name] = scalar_text(value[member_name], member_shape)
    return attrs


def _list_items(value: Any, shape: ListShape, item_name: str) -> list[str]:
    return [element(item_name, item, shape.member) for item in value]


def _map_pairs(value: Mapping[Any, Any], shape: MapShape) -> list[str]:
    key_name = shape.key.serialization.get("name") or "key"
    value_name = shape.value.serialization.get("name") or "value"
    return [element(key_name, k, shape.key) + element(value_name, v, shape.value) for k, v in value.items()]


def _tag(name: str, attributes: Mapping[str, str], content: str) -> str:
    opening = name + "".join(f' {key}="{text.translate(_ATTRIBUTE_ESCAPES)}"' for key, text in attributes.items())
    return f"<{opening}>{content}</{name}>" if content else f"<{opening}/>"
