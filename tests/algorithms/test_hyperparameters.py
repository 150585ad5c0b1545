"""The shared hyperparameter declarations: each row type, the table's validation order, and both message styles."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from sageforge.algorithms.base import UserError
from sageforge.algorithms.hyperparameters import (
    JSON_SCHEMA_STYLE,
    TOOLKIT_STYLE,
    Categorical,
    Continuous,
    Flag,
    HyperparameterTable,
    Integer,
    Interval,
    InvalidValue,
    JsonList,
    MessageStyle,
    NotOfType,
    NotOneOf,
    OutOfRange,
    Value,
)

PREFIX = "Unable to initialize the algorithm. Failed to validate input hyperparameters (caused by ValidationError)"


def _requires_b_with_a(values: Mapping[str, Value]) -> None:
    if values.get("mode") == "fancy" and "extra" not in values:
        raise UserError("'extra' is a required property")


def table(style: MessageStyle) -> HyperparameterTable:
    return HyperparameterTable(
        (
            Integer("epochs", required=True, interval=Interval(low=1)),
            Integer("batch", default="auto", interval=Interval(low=1), keywords=("auto",)),
            Continuous("rate", default="0.1", interval=Interval(low=0, high=1, low_open=True)),
            Categorical("mode", default="plain", values=("plain", "fancy"), renamed=(("simple", "plain"),)),
            Flag("shuffle", default="true"),
            Flag("normalize", default="auto", keywords=("auto",)),
            JsonList("metrics", values=("msd", "ssd")),
            Integer("extra"),
        ),
        style,
        (_requires_b_with_a,),
    )


def test_values_are_typed_and_defaults_filled_in() -> None:
    values = table(JSON_SCHEMA_STYLE).parse(
        {"epochs": "3", "rate": "1e-2", "shuffle": "False", "mode": "simple", "metrics": '["msd", "ssd"]'}
    )
    assert values == {
        "epochs": 3,
        "batch": "auto",
        "rate": 0.01,
        "mode": "plain",
        "shuffle": "false",
        "normalize": "auto",
        "metrics": ("msd", "ssd"),
    }


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("AUTO", "auto"), ("12", 12)],
)
def test_keywords_stand_in_for_numbers_in_any_case(raw: str, parsed: Value) -> None:
    assert table(TOOLKIT_STYLE).parse({"epochs": "1", "batch": raw})["batch"] == parsed


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [('["msd"]', ("msd",)), ("['msd', 'ssd']", ("msd", "ssd")), ("ssd", ("ssd",)), ("[]", ())],
)
def test_json_lists_take_the_sdk_form_a_python_literal_and_a_bare_item(raw: str, parsed: tuple[str, ...]) -> None:
    assert JsonList("metrics", values=("msd", "ssd")).parse(raw) == parsed


@pytest.mark.parametrize(
    ("row", "raw", "problem"),
    [
        (Integer("n", interval=Interval(low=1)), "1.0", NotOfType("1.0", "integer")),
        (Integer("n", interval=Interval(low=1)), "0", OutOfRange(0, Interval(low=1))),
        (Continuous("x", interval=Interval(low=0, high=1)), "abc", NotOfType("abc", "number")),
        (Categorical("c", values=("a", "b")), "A", NotOneOf("A", ("a", "b"))),
        (Flag("f"), "yes", NotOneOf("yes", ("true", "false"))),
        (JsonList("l", values=("msd",)), '["msd", "x"]', NotOneOf("x", ("msd",))),
        (JsonList("l"), "[1, 2]", NotOfType("[1, 2]", "array")),
    ],
)
def test_rows_say_what_is_wrong(
    row: Integer | Continuous | Categorical | Flag | JsonList, raw: str, problem: object
) -> None:
    with pytest.raises(InvalidValue) as caught:
        row.parse(raw)
    assert caught.value.problem == problem


def test_nan_is_never_in_range() -> None:
    with pytest.raises(InvalidValue):
        Continuous("x").parse("nan")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "Missing required hyperparameter: epochs"),
        ({"epochs": "1", "foo": "1"}, "Extraneous hyperparameter found: foo"),
        ({"epochs": "x"}, "Hyperparameter epochs: could not parse value 'x' as an integer"),
        ({"epochs": "0"}, "Hyperparameter epochs: 0 is not in [1, +inf)"),
        ({"epochs": "1", "rate": "0"}, "Hyperparameter rate: 0.0 is not in (0, 1]"),
        ({"epochs": "1", "mode": "odd"}, "Hyperparameter mode: 'odd' is not one of: plain, fancy"),
        ({"epochs": "1", "mode": "fancy"}, "'extra' is a required property"),
    ],
)
def test_toolkit_style_messages(raw: dict[str, str], message: str) -> None:
    with pytest.raises(UserError) as caught:
        table(TOOLKIT_STYLE).parse(raw)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("raw", "cause", "validator"),
    [
        ({}, "'epochs' is a required property", "'required' in schema"),
        (
            {"epochs": "1", "foo": "1"},
            "Additional properties are not allowed ('foo' was unexpected)",
            "'additionalProperties' in schema",
        ),
        ({"epochs": "x"}, "'x' is not of type 'integer'", "'type' in schema['properties']['epochs']"),
        (
            {"epochs": "1", "batch": "x"},
            "'x' is not valid under any of the given schemas",
            "'oneOf' in schema['properties']['batch']",
        ),
        ({"epochs": "0"}, "0 is less than the minimum of 1", "'minimum' in schema['properties']['epochs']"),
        (
            {"epochs": "1", "rate": "0"},
            "0 is less than or equal to the minimum of 0",
            "'exclusiveMinimum' in schema['properties']['rate']",
        ),
        (
            {"epochs": "1", "rate": "2"},
            "2 is greater than the maximum of 1",
            "'maximum' in schema['properties']['rate']",
        ),
        (
            {"epochs": "1", "mode": "odd"},
            "'odd' is not one of ['plain', 'fancy']",
            "'enum' in schema['properties']['mode']",
        ),
        (
            {"epochs": "1", "shuffle": "yes"},
            "'yes' is not one of ['true', 'false']",
            "'enum' in schema['properties']['shuffle']",
        ),
    ],
)
def test_json_schema_style_messages(raw: dict[str, str], cause: str, validator: str) -> None:
    with pytest.raises(UserError) as caught:
        table(JSON_SCHEMA_STYLE).parse(raw)
    assert str(caught.value) == f"{PREFIX}\n\nCaused by: {cause}\n\nFailed validating {validator}"


def test_json_schema_style_words_rules_as_the_cause() -> None:
    with pytest.raises(UserError) as caught:
        table(JSON_SCHEMA_STYLE).parse({"epochs": "1", "mode": "fancy"})
    assert str(caught.value) == f"{PREFIX}\n\nCaused by: 'extra' is a required property"


def test_a_bad_declaration_fails_when_the_table_is_built() -> None:
    with pytest.raises(InvalidValue):
        HyperparameterTable((Integer("n", default="auto"),), TOOLKIT_STYLE)
    with pytest.raises(ValueError, match="unique"):
        HyperparameterTable((Flag("f"), Flag("f")), TOOLKIT_STYLE)
