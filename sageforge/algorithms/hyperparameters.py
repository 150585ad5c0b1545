"""Hyperparameter declarations shared by the built-ins: typed rows, the table that holds them, one parse function.

CreateTrainingJob's HyperParameters arrive as a map of strings. A built-in declares each name it takes as a
row -- `Integer`, `Continuous`, `Categorical`, `Flag`, `JsonList` -- with its range or values, its default and
whether it is required; numbers and flags may also take keywords in place of a value (`auto`, `balanced`).
A `HyperparameterTable` holds the rows, the rules that involve several of them, and the `MessageStyle` its
container words errors in. `HyperparameterTable.parse` is the one validation path: required names, then each
given name (unknown, wrong type, out of range), then defaults, then the rules; the first problem is a
`UserError` worded by the style.

Two styles exist because SageMaker's containers validate differently: `TOOLKIT_STYLE` is the XGBoost
container's `sagemaker_algorithm_toolkit` (`Extraneous hyperparameter found: foo`, `Hyperparameter eta: 2.0 is
not in [0, 1]`), `JSON_SCHEMA_STYLE` the first-party algorithms' JSON-schema validation (`'feature_dim' is a
required property`, `Additional properties are not allowed ('foo' was unexpected)`).
"""

from __future__ import annotations

import ast
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sageforge.algorithms.base import UserError

# What a row parses to. Keywords (`auto`) and flags (`true`/`false`) are lower-case strings; lists are tuples.
Value = int | float | str | tuple[str, ...]


@dataclass(frozen=True)
class Interval:
    """A numeric range; a missing bound is unbounded. Prints in interval notation, e.g. `(0, 1]`."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = self.low is None or value > self.low or (value == self.low and not self.low_open)
        below = self.high is None or value < self.high or (value == self.high and not self.high_open)
        return above and below

    def __str__(self) -> str:
        low = "(-inf" if self.low is None else f"{'(' if self.low_open else '['}{self.low}"
        high = "+inf)" if self.high is None else f"{self.high}{')' if self.high_open else ']'}"
        return f"{low}, {high}"


# What is wrong with one value; a style turns it into its container's message.


@dataclass(frozen=True)
class NotOfType:
    """`raw` does not parse as `expected` ("integer", "number" or "array")."""

    raw: str
    expected: str


@dataclass(frozen=True)
class OutOfRange:
    value: float
    interval: Interval


@dataclass(frozen=True)
class NotOneOf:
    raw: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Malformed:
    """Any other problem, already worded (the composite rows of one algorithm)."""

    detail: str


Problem = NotOfType | OutOfRange | NotOneOf | Malformed


class InvalidValue(Exception):
    """Raised by `Hyperparameter.parse`; the table words it in its style, naming the hyperparameter."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class Hyperparameter(ABC):
    """One row of a table. `default` is a raw string, parsed like a given value; None: absent unless given."""

    name: str
    required: bool = False
    default: str | None = None

    @abstractmethod
    def parse(self, raw: str) -> Value:
        """The typed value of `raw`, or `InvalidValue`."""


def _keyword(raw: str, keywords: tuple[str, ...]) -> str | None:
    word = raw.strip().lower()
    return word if word in keywords else None


@dataclass(frozen=True)
class Integer(Hyperparameter):
    """An integer parsed with `int()`, as the containers do (`"10.0"` is not one); `keywords` such as
    `("auto",)` are accepted in place of a number, in any case, and returned lower-cased."""

    interval: Interval = Interval()
    keywords: tuple[str, ...] = ()

    def parse(self, raw: str) -> Value:
        word = _keyword(raw, self.keywords)
        if word is not None:
            return word
        try:
            value = int(raw)
        except ValueError:
            raise InvalidValue(NotOfType(raw, "integer")) from None
        if value not in self.interval:
            raise InvalidValue(OutOfRange(value, self.interval))
        return value


@dataclass(frozen=True)
class Continuous(Hyperparameter):
    """A float parsed with `float()`; NaN is never in range. `keywords` as for `Integer`."""

    interval: Interval = Interval()
    keywords: tuple[str, ...] = ()

    def parse(self, raw: str) -> Value:
        word = _keyword(raw, self.keywords)
        if word is not None:
            return word
        try:
            value = float(raw)
        except ValueError:
            raise InvalidValue(NotOfType(raw, "number")) from None
        if math.isnan(value) or value not in self.interval:
            raise InvalidValue(OutOfRange(value, self.interval))
        return value


@dataclass(frozen=True)
class Categorical(Hyperparameter):
    """One of `values`, matched exactly; `renamed` maps accepted legacy or SDK spellings to a value."""

    values: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()

    def parse(self, raw: str) -> Value:
        value = dict(self.renamed).get(raw, raw)
        if value not in self.values:
            raise InvalidValue(NotOneOf(raw, self.values))
        return value


@dataclass(frozen=True)
class Flag(Hyperparameter):
    """`true`/`false` in any case (the SDK sends Python's `True`/`False`); the value is lower-cased.
    `keywords` (e.g. `("auto",)`) are further accepted words."""

    keywords: tuple[str, ...] = ()

    def parse(self, raw: str) -> Value:
        value = raw.strip().lower()
        if value not in ("true", "false", *self.keywords):
            raise InvalidValue(NotOneOf(raw, ("true", "false", *self.keywords)))
        return value


@dataclass(frozen=True)
class JsonList(Hyperparameter):
    """A list of strings, each one of `values` when given: JSON as the SDK sends lists (`'["msd", "ssd"]'`).

    Also read, as the containers' Python parsing does [INF]: a Python literal (`"['msd']"`, what `str(list)`
    gives) and a bare item (`msd`) for a list of one.
    """

    values: tuple[str, ...] = ()

    def parse(self, raw: str) -> Value:
        items = _list_literal(raw)
        if items is None:
            raise InvalidValue(NotOfType(raw, "array"))
        for item in items:
            if self.values and item not in self.values:
                raise InvalidValue(NotOneOf(item, self.values))
        return items


def _list_literal(raw: str) -> tuple[str, ...] | None:
    text = raw.strip()
    if not text.startswith("["):
        return (text,) if text else None
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return None
    return tuple(items)


class MessageStyle(Protocol):
    """How a container words a validation failure; the table raises `UserError` with what it returns."""

    def missing(self, name: str) -> str: ...

    def unexpected(self, name: str) -> str: ...

    def invalid(self, hyperparameter: Hyperparameter, problem: Problem) -> str: ...

    def rule(self, message: str) -> str:
        """A cross-field rule's message, as the container reports it."""
        ...


class ToolkitStyle:
    """The XGBoost container's `sagemaker_algorithm_toolkit` messages."""

    _ARTICLES = {"integer": "an integer", "number": "a number", "array": "a list"}

    def missing(self, name: str) -> str:
        return f"Missing required hyperparameter: {name}"

    def unexpected(self, name: str) -> str:
        return f"Extraneous hyperparameter found: {name}"

    def invalid(self, hyperparameter: Hyperparameter, problem: Problem) -> str:
        if isinstance(problem, NotOfType):
            detail = f"could not parse value {problem.raw!r} as {self._ARTICLES[problem.expected]}"
        elif isinstance(problem, OutOfRange):
            detail = f"{problem.value} is not in {problem.interval}"
        elif isinstance(problem, NotOneOf):
            detail = f"{problem.raw!r} is not one of: {', '.join(problem.choices)}"
        else:
            detail = problem.detail
        return f"Hyperparameter {hyperparameter.name}: {detail}"

    def rule(self, message: str) -> str:
        return message


class JsonSchemaStyle:
    """The first-party (MXNet-framework) algorithms' messages: a JSON-schema `ValidationError` behind the
    framework's `Unable to initialize the algorithm` line, with the schema path that failed.

    The leading line and the `Failed validating <validator> in schema[...]` tail are as job logs show them;
    the schema excerpt jsonschema prints after that tail is left out [INF]. Values are quoted as the
    strings they arrived as, since the containers validate the raw map.
    """

    PREFIX = "Unable to initialize the algorithm. Failed to validate input hyperparameters (caused by ValidationError)"

    def missing(self, name: str) -> str:
        return self._message(f"'{name}' is a required property", "required", "")

    def unexpected(self, name: str) -> str:
        return self._message(
            f"Additional properties are not allowed ('{name}' was unexpected)", "additionalProperties", ""
        )

    def invalid(self, hyperparameter: Hyperparameter, problem: Problem) -> str:
        where = f"['properties']['{hyperparameter.name}']"
        keywords = getattr(hyperparameter, "keywords", ())
        if isinstance(problem, NotOfType) and keywords:
            # A number-or-keyword is a oneOf of two schemas; the value fits neither.
            return self._message(f"'{problem.raw}' is not valid under any of the given schemas", "oneOf", where)
        if isinstance(problem, NotOfType):
            return self._message(f"'{problem.raw}' is not of type '{problem.expected}'", "type", where)
        if isinstance(problem, NotOneOf):
            return self._message(f"'{problem.raw}' is not one of {list(problem.choices)}", "enum", where)
        if isinstance(problem, OutOfRange):
            return self._message(*_bound_violation(problem), where)
        return self._message(problem.detail, "format", where)

    def rule(self, message: str) -> str:
        return f"{self.PREFIX}\n\nCaused by: {message}"

    def _message(self, cause: str, validator: str, where: str) -> str:
        return f"{self.PREFIX}\n\nCaused by: {cause}\n\nFailed validating '{validator}' in schema{where}"


def _bound_violation(problem: OutOfRange) -> tuple[str, str]:
    """jsonschema's wording for the bound `problem.value` breaks, and the validator's name."""
    value, interval = _number(problem.value), problem.interval
    if math.isnan(problem.value):
        return f"{value} is not a number", "type"
    if interval.low is not None and (
        problem.value < interval.low or (problem.value == interval.low and interval.low_open)
    ):
        if interval.low_open:
            return f"{value} is less than or equal to the minimum of {_number(interval.low)}", "exclusiveMinimum"
        return f"{value} is less than the minimum of {_number(interval.low)}", "minimum"
    high = _number(interval.high if interval.high is not None else math.inf)
    if interval.high_open:
        return f"{value} is greater than or equal to the maximum of {high}", "exclusiveMaximum"
    return f"{value} is greater than the maximum of {high}", "maximum"


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


TOOLKIT_STYLE = ToolkitStyle()
JSON_SCHEMA_STYLE = JsonSchemaStyle()

# A rule over several parsed values (all given ones plus the defaults); it raises UserError with its message,
# which the table words in its style.
Rule = Callable[[Mapping[str, Value]], None]


class HyperparameterTable:
    """An algorithm's hyperparameters, the rules across them and its message style.

    Every default is parsed when the table is built, so a bad declaration fails at import, not in a job.
    """

    def __init__(self, hyperparameters: tuple[Hyperparameter, ...], style: MessageStyle, rules: tuple[Rule, ...] = ()):
        self.hyperparameters = hyperparameters
        self.style = style
        self.rules = rules
        self._by_name = {hyperparameter.name: hyperparameter for hyperparameter in hyperparameters}
        if len(self._by_name) != len(hyperparameters):
            raise ValueError("hyperparameter names must be unique within a table")
        self._defaults = {
            hyperparameter.name: hyperparameter.parse(hyperparameter.default)
            for hyperparameter in hyperparameters
            if hyperparameter.default is not None
        }

    def __getitem__(self, name: str) -> Hyperparameter:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def parse(self, raw: Mapping[str, str]) -> dict[str, Value]:
        """The typed value of every given name, plus each default not given; UserError on the first problem."""
        for hyperparameter in self.hyperparameters:
            if hyperparameter.required and hyperparameter.name not in raw:
                raise UserError(self.style.missing(hyperparameter.name))
        values: dict[str, Value] = {}
        for name, text in raw.items():
            row = self._by_name.get(name)
            if row is None:
                raise UserError(self.style.unexpected(name))
            try:
                values[name] = row.parse(text)
            except InvalidValue as error:
                raise UserError(self.style.invalid(row, error.problem)) from None
        values = {**self._defaults, **values}
        for rule in self.rules:
            try:
                rule(values)
            except UserError as error:
                raise UserError(self.style.rule(str(error))) from None
        return values
