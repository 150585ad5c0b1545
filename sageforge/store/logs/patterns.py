"""CloudWatch Logs filter patterns for unstructured events: which messages a ``FilterLogEvents`` pattern keeps.

Supported syntax (terms are case-sensitive substrings, as in CloudWatch)::

    ERROR Exception        every term must appear
    "connection reset"     a quoted phrase is one term, spaces included
    ?ERROR ?WARN           at least one of the ?-terms must appear
    ERROR -Retrying        no -term may appear
    %[Ee]rror \\d+%         the whole pattern is a regular expression (Python syntax)

JSON (``{ $.level = "ERROR" }``) and space-delimited (``[ip, user, ...]``) patterns are rejected with
``InvalidFilterPattern``: they are not supported yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# An optional ?/- operator, then a "quoted phrase" or a run of non-space characters.
_TERM = re.compile(r'\s*([?-]?)(?:"([^"]*)"|([^\s"]+))')


class InvalidFilterPattern(ValueError):
    """The pattern is malformed or uses syntax this store does not support."""


@dataclass(frozen=True)
class FilterPattern:
    required: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, text: str | None) -> FilterPattern:
        """The pattern ``text`` describes; empty or None matches every event."""
        text = (text or "").strip()
        if not text:
            return cls()
        if text[0] in "{[":
            raise InvalidFilterPattern(
                "JSON and space-delimited filter patterns are not supported by sageforge; "
                "use terms, quoted phrases, ?alternatives, -exclusions or a %regex%."
            )
        if len(text) >= 2 and text[0] == "%" and text[-1] == "%":
            try:
                return cls(regex=re.compile(text[1:-1]))
            except re.error as exc:
                raise InvalidFilterPattern(f"Invalid regular expression in filter pattern: {exc}") from exc
        groups: dict[str, list[str]] = {"": [], "?": [], "-": []}
        position = 0
        while position < len(text):
            match = _TERM.match(text, position)
            if match is None:
                raise InvalidFilterPattern(f"Invalid filter pattern {text!r}: unbalanced double quote.")
            operator, phrase, word = match.groups()
            groups[operator].append(phrase if phrase is not None else word)
            position = match.end()
        return cls(tuple(groups[""]), tuple(groups["?"]), tuple(groups["-"]))

    def matches(self, message: str) -> bool:
        if self.regex is not None:
            return self.regex.search(message) is not None
        return (
            all(term in message for term in self.required)
            and (not self.any_of or any(term in message for term in self.any_of))
            and not any(term in message for term in self.excluded)
        )
