"""Parsing CloudWatch filter patterns (matching is covered by the log-store contract)."""

from __future__ import annotations

import pytest

from sageforge.store.logs.patterns import FilterPattern, InvalidFilterPattern


@pytest.mark.parametrize(
    ("text", "required", "any_of", "excluded"),
    [
        ("", (), (), ()),
        ("ERROR  Exception ", ("ERROR", "Exception"), (), ()),
        ('"reset by peer" ?WARN ?"bad input" -Retrying', ("reset by peer",), ("WARN", "bad input"), ("Retrying",)),
        ("don't -", ("don't", "-"), (), ()),
    ],
)
def test_terms(text: str, required: tuple[str, ...], any_of: tuple[str, ...], excluded: tuple[str, ...]) -> None:
    assert FilterPattern.parse(text) == FilterPattern(required, any_of, excluded)


def test_regex() -> None:
    pattern = FilterPattern.parse(r"%error \d+%")
    assert pattern.matches("an error 42 here") and not pattern.matches("an error here")


@pytest.mark.parametrize("text", ['{ $.level = "ERROR" }', "[ip, user]", '"unbalanced', "%(unclosed%"])
def test_unsupported_or_malformed(text: str) -> None:
    with pytest.raises(InvalidFilterPattern):
        FilterPattern.parse(text)
