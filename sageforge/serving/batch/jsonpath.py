"""The JSONPath subset of batch transform's InputFilter and OutputFilter, evaluated as SageMaker applies it.

Syntax (the developer guide's "Supported JSONPath Operators")::

    path     := "$" step*
    step     := "." name | "." "*" | ["."] "[" selector "]"
    selector := "*" | key ("," key)* | element ("," element)*
    key      := "'" text "'" | '"' text '"'
    element  := integer | [integer] ":" [integer]

Semantics -- a selection keeps the shape it selects from, so a filter on a CSV row (read as a JSON array)
gives a row, and a filter on a JSON object can give an object:

- ``.name``, ``['name']`` and ``[n]`` select one value; a negative ``n`` counts from the end (``-1`` is the last).
- ``['a','b']`` selects an object of those members; ``[n1,n2]``, ``[start:end]`` and mixes (``[0,5:]``) select
  a list of elements. A slice's end is inclusive, as SageMaker documents it for CSV columns (``$[1:4]`` is the
  second through fifth columns); an omitted start is the first element, an omitted end the last.
- ``*`` selects every member value of an object, or every element of a list.
- After a step that selects several values, the following steps apply to each of them.

A selection that finds nothing (a missing member, an index past the end, a step into a number) raises
``NoMatch``; ``parse`` raises ``InvalidJsonPath`` for text outside the subset. jsonpath-ng was considered and
not used: it answers ``['a','b']`` with a list of values, treats slice ends as exclusive, and cannot parse
``[0,5:]`` (the API's own example).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class InvalidJsonPath(ValueError):
    """Text that is not a JSONPath of the supported subset."""


class NoMatch(Exception):
    """The path selects nothing in the value it was applied to; the message says where it stopped."""


@dataclass(frozen=True)
class Member:
    name: str


@dataclass(frozen=True)
class Members:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    index: int


@dataclass(frozen=True)
class Slice:
    start: int | None
    end: int | None  # inclusive


@dataclass(frozen=True)
class Elements:
    parts: tuple[Index | Slice, ...]


@dataclass(frozen=True)
class Wildcard:
    pass


Step = Member | Members | Index | Elements | Wildcard
# Steps that select one value; the others select several, and the rest of the path applies to each.
_SINGLE = (Member, Index)

_NAME = re.compile(r"[^.\[\]'\"*\s]+")
_QUOTED = re.compile(r"\s*(?:'([^']*)'|\"([^\"]*)\")\s*")
_ELEMENT = re.compile(r"\s*(-?\d+)?\s*(:)?\s*(-?\d+)?\s*")


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    @property
    def selects_all(self) -> bool:
        """Whether the path is ``$``, which selects the value itself."""
        return not self.steps

    def apply(self, value: Any) -> Any:
        return _apply(self.steps, value, "$")


def parse(text: str) -> JsonPath:
    stripped = text.strip()
    if not stripped.startswith("$"):
        raise InvalidJsonPath(f"the JSONPath '{text}' must start with '$'.")
    steps: list[Step] = []
    position = 1
    while position < len(stripped):
        step, position = _step(stripped, position)
        steps.append(step)
    return JsonPath(text, tuple(steps))


def _step(text: str, position: int) -> tuple[Step, int]:
    if text.startswith(".", position):
        position += 1
        if text.startswith("*", position):
            return Wildcard(), position + 1
        if not text.startswith("[", position):
            name = _NAME.match(text, position)
            if name is None:
                raise InvalidJsonPath(f"the JSONPath '{text}' has no member name after the '.' at {position - 1}.")
            return Member(name.group()), name.end()
    if not text.startswith("[", position):
        raise InvalidJsonPath(f"the JSONPath '{text}' has an unsupported step at {position}: {text[position:]!r}.")
    close = text.find("]", position)
    if close < 0:
        raise InvalidJsonPath(f"the JSONPath '{text}' has a '[' at {position} that is never closed.")
    return _selector(text, text[position + 1 : close]), close + 1


def _selector(text: str, inside: str) -> Step:
    if inside.strip() == "*":
        return Wildcard()
    items = inside.split(",")
    if inside.lstrip().startswith(("'", '"')):
        names = []
        for item in items:
            quoted = _QUOTED.fullmatch(item)
            if quoted is None:
                raise InvalidJsonPath(f"the JSONPath '{text}' has a malformed member name in [{inside}].")
            names.append(quoted.group(1) if quoted.group(1) is not None else quoted.group(2))
        return Member(names[0]) if len(names) == 1 else Members(tuple(names))
    parts: list[Index | Slice] = []
    for item in items:
        element = _ELEMENT.fullmatch(item)
        if element is None or not any(element.groups()):
            raise InvalidJsonPath(f"the JSONPath '{text}' has a malformed index or slice in [{inside}].")
        start, colon, end = element.groups()
        if colon:
            parts.append(Slice(_int(start), _int(end)))
        elif end is None:
            parts.append(Index(int(start)))
        else:
            raise InvalidJsonPath(f"the JSONPath '{text}' has a malformed index in [{inside}].")
    if len(parts) == 1 and isinstance(parts[0], Index):
        return parts[0]
    return Elements(tuple(parts))


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _apply(steps: tuple[Step, ...], value: Any, where: str) -> Any:
    if not steps:
        return value
    step, rest = steps[0], steps[1:]
    if isinstance(step, Member):
        return _apply(rest, _member(value, step.name, where), f"{where}['{step.name}']")
    if isinstance(step, Index):
        return _apply(rest, _element(value, step.index, where), f"{where}[{step.index}]")
    if isinstance(step, Members):
        return {name: _apply(rest, _member(value, name, where), f"{where}['{name}']") for name in step.names}
    if isinstance(step, Wildcard):
        if isinstance(value, dict):
            return [_apply(rest, item, f"{where}['{key}']") for key, item in value.items()]
        return [_apply(rest, item, f"{where}[{n}]") for n, item in enumerate(_list(value, where))]
    selected = [n for part in step.parts for n in _positions(_list(value, where), part, where)]
    return [_apply(rest, value[n], f"{where}[{n}]") for n in selected]


def _member(value: Any, name: str, where: str) -> Any:
    if not isinstance(value, dict):
        raise NoMatch(f"{where} is {_kind(value)}, not an object with a member '{name}'")
    if name not in value:
        raise NoMatch(f"{where} has no member '{name}'")
    return value[name]


def _element(value: Any, index: int, where: str) -> Any:
    items = _list(value, where)
    if not -len(items) <= index < len(items):
        raise NoMatch(f"index {index} is out of range: {where} has {len(items)} elements")
    return items[index]


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise NoMatch(f"{where} is {_kind(value)}, not an array")
    return value


def _positions(items: list[Any], part: Index | Slice, where: str) -> range:
    if isinstance(part, Index):
        _element(items, part.index, where)
        return range(part.index % len(items), part.index % len(items) + 1)
    start = 0 if part.start is None else part.start
    end = len(items) - 1 if part.end is None else part.end
    for bound in (start, end):
        _element(items, bound, where)
    first, last = start % len(items), end % len(items)
    if first > last:
        raise NoMatch(f"the slice [{part.start}:{part.end}] of {where} ({len(items)} elements) selects nothing")
    return range(first, last + 1)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else f"the {type(value).__name__} {value!r}"[:80]
