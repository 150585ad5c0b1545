"""Read an XML request payload into Python values the way a botocore shape describes it -- the inverse of
``xml_writer`` and of botocore's rest-xml request serializer.

Element names come from ``locationName`` (or the member name); flattened lists repeat their item element
in the parent; namespaces are ignored; unknown elements are dropped, as AWS does. Text that does not fit
its shape (a number that is not one) is a ``MalformedXML`` error, S3's code for a payload it cannot read.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from botocore.model import ListShape, MapShape, Shape, StructureShape

from sageforge.aws.errors import AwsError

_MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema."


class MalformedXML(AwsError):
    code = "MalformedXML"


def read_document(body: bytes, shape: Shape) -> Any:
    """The value of the document's root element, read as ``shape`` (its own name is not checked)."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise MalformedXML(_MALFORMED) from error
    return _value(root, shape)


def _value(node: ElementTree.Element, shape: Shape) -> Any:
    if isinstance(shape, StructureShape):
        return _structure(node, shape)
    if isinstance(shape, ListShape):
        return [_value(child, shape.member) for child in node]
    if isinstance(shape, MapShape):
        return dict(_map_entry(entry, shape) for entry in node)
    return scalar(node.text or "", shape)


def _structure(node: ElementTree.Element, shape: StructureShape) -> dict[str, Any]:
    children: dict[str, list[ElementTree.Element]] = {}
    for child in node:
        children.setdefault(_local(child.tag), []).append(child)
    parsed: dict[str, Any] = {}
    for name, member in shape.members.items():
        serialization = member.serialization
        if "location" in serialization:
            continue
        if serialization.get("xmlAttribute"):
            attribute = serialization.get("name", name)
            if attribute in node.attrib:
                parsed[name] = scalar(node.attrib[attribute], member)
            continue
        if isinstance(member, ListShape) and serialization.get("flattened"):
            items = children.get(member.member.serialization.get("name") or serialization.get("name", name))
            if items:
                parsed[name] = [_value(item, member.member) for item in items]
            continue
        found = children.get(serialization.get("name", name))
        if found:
            parsed[name] = _value(found[0], member)
    return parsed


def _map_entry(entry: ElementTree.Element, shape: MapShape) -> tuple[Any, Any]:
    key_name = shape.key.serialization.get("name") or "key"
    value_name = shape.value.serialization.get("name") or "value"
    key = value = None
    for child in entry:
        if _local(child.tag) == key_name:
            key = _value(child, shape.key)
        elif _local(child.tag) == value_name:
            value = _value(child, shape.value)
    return key, value


def scalar(text: str, shape: Shape) -> Any:
    """The Python value of one element's (or attribute's) text."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if kind == "timestamp":
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as error:
        raise MalformedXML(_MALFORMED) from error
    return text


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
