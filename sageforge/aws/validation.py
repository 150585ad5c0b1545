"""Check parsed parameters against a botocore input shape: required members, types, enums, lengths,
ranges and patterns -- the constraints botocore's own client-side validator leaves to the server.

Messages follow AWS's wording ("Value 'x' at 'trainingJobName' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

_INTEGER_TYPES = ("integer", "long")
_FLOAT_TYPES = ("float", "double")


def validate(params: Any, shape: Shape | None) -> list[str]:
    """All constraint violations in ``params``; an empty list means valid."""
    problems: list[str] = []
    if shape is not None:
        _check(params, shape, "", problems)
    return problems


def validation_message(problems: list[str]) -> str:
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)


def _member_path(parent: str, member: str) -> str:
    name = member[:1].lower() + member[1:]
    return f"{parent}.{name}" if parent else name


def _check(value: Any, shape: Shape, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be a structure")
            return
        for required in shape.required_members:
            if value.get(required) is None:
                problems.append(
                    f"Value null at '{_member_path(path, required)}' failed to satisfy constraint: Member must not be null"
                )
        for name, member_value in value.items():
            member_shape = shape.members.get(name)
            if member_shape is not None and member_value is not None:
                _check(member_value, member_shape, _member_path(path, name), problems)
        return
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be a list")
            return
        _check_length(value, len(value), shape, path, problems)
        for index, item in enumerate(value, start=1):
            _check(item, shape.member, f"{path}.{index}.member", problems)
        return
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            problems.append(f"Value at '{path}' failed to satisfy constraint: Member must be a map")
            return
        _check_length(value, len(value), shape, path, problems)
        for key, item in value.items():
            _check(key, shape.key, f"{path}.{key}.key", problems)
            _check(item, shape.value, f"{path}.{key}.value", problems)
        return
    if kind == "string":
        if not isinstance(value, str):
            problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be a string")
            return
        _check_length(value, len(value), shape, path, problems)
        enum = shape.enum
        if enum and value not in enum:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        pattern = shape.metadata.get("pattern")
        if pattern:
            compiled = _compile(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                problems.append(
                    f"Value '{value}' at '{path}' failed to satisfy constraint: "
                    f"Member must satisfy regular expression pattern: {pattern}"
                )
    elif kind in _INTEGER_TYPES or kind in _FLOAT_TYPES:
        numeric = (int,) if kind in _INTEGER_TYPES else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric):
            problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be a number")
            return
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {low}"
            )
        if high is not None and value > high:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {high}"
            )
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be a boolean")
    elif kind == "timestamp" and not isinstance(value, datetime):
        problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be a timestamp")


def _check_length(value: Any, length: int, shape: Shape, path: str, problems: list[str]) -> None:
    shown = value if isinstance(value, str) else "[...]"
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        problems.append(
            f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {low}"
        )
    if high is not None and length > high:
        problems.append(
            f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must have length less than or equal to {high}"
        )


@cache
def _compile(pattern: str) -> re.Pattern[str] | None:
    # AWS matches patterns against the whole value (Java semantics). A few models use Java-only constructs (\p{...}); those patterns are not enforced.
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None
