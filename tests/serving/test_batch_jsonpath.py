"""The JSONPath subset of InputFilter and OutputFilter: every documented form, and what does not match."""

from __future__ import annotations

from typing import Any

import pytest

from sageforge.serving.batch.jsonpath import InvalidJsonPath, NoMatch, parse

ROW = ["id", "c1", "c2", "c3", "c4", "c5"]
RECORD = {"id": 7, "features": [1.5, 2.5, 3.5], "meta": {"a": 1, "b": [10, 20]}, "SageMakerOutput": {"score": 0.25}}


@pytest.mark.parametrize(
    ("path", "value", "selected"),
    [
        ("$", ROW, ROW),
        ("$[0]", ROW, "id"),
        ("$[-1]", ROW, "c5"),
        ("$[1,3,5]", ROW, ["c1", "c3", "c5"]),
        ("$[0,-1]", ROW, ["id", "c5"]),
        # Slices include their end, as SageMaker documents for CSV columns.
        ("$[1:4]", ROW, ["c1", "c2", "c3", "c4"]),
        ("$[1:]", ROW, ["c1", "c2", "c3", "c4", "c5"]),
        ("$[:2]", ROW, ["id", "c1", "c2"]),
        ("$[-2:]", ROW, ["c4", "c5"]),
        ("$[0,4:]", ROW, ["id", "c4", "c5"]),
        ("$[*]", ROW, ROW),
        ("$.features", RECORD, [1.5, 2.5, 3.5]),
        ("$['features']", RECORD, [1.5, 2.5, 3.5]),
        ("$.features[1]", RECORD, 2.5),
        ("$.meta.b[-1]", RECORD, 20),
        ("$['id','SageMakerOutput']", RECORD, {"id": 7, "SageMakerOutput": {"score": 0.25}}),
        ('$.meta.["a","b"]', RECORD, {"a": 1, "b": [10, 20]}),
        ("$.meta.*", RECORD, [1, [10, 20]]),
        ("$.features[*]", RECORD, [1.5, 2.5, 3.5]),
        # After a step that selects several values, the rest of the path applies to each.
        ("$[*][0]", [[1, 2], [3, 4]], [1, 3]),
    ],
)
def test_each_supported_form_selects_as_sagemaker_documents(path: str, value: Any, selected: Any) -> None:
    assert parse(path).apply(value) == selected


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("$[6]", ROW, "index 6 is out of range: $ has 6 elements"),
        ("$[2:9]", ROW, "index 9 is out of range"),
        ("$[4:1]", ROW, "selects nothing"),
        ("$.missing", RECORD, "$ has no member 'missing'"),
        ("$.id.x", RECORD, "$['id'] is the int 7, not an object"),
        ("$.features.x", RECORD, "is an array, not an object"),
        ("$[0]", RECORD, "$ is an object, not an array"),
    ],
)
def test_a_path_that_selects_nothing_says_where_it_stopped(path: str, value: Any, message: str) -> None:
    with pytest.raises(NoMatch, match=message.replace("[", r"\[").replace("$", r"\$")):
        parse(path).apply(value)


@pytest.mark.parametrize("path", ["features", "$..features", "$[a]", "$[1", "$.a b", "$[?(@.a)]", "$[1::2]"])
def test_text_outside_the_subset_is_refused(path: str) -> None:
    with pytest.raises(InvalidJsonPath):
        parse(path)


def test_only_dollar_selects_all() -> None:
    assert parse("$").selects_all and not parse("$[0]").selects_all
