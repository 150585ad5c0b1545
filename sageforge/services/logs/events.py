"""The rules of CloudWatch Logs events the store does not know: what a PutLogEvents batch may hold, and how
GetLogEvents' forward and backward tokens name positions in a stream.

A GetLogEvents token is ``f/<timestamp>/<sequence>`` ("events after this position") or
``b/<timestamp>/<sequence>`` ("events before it"). When a page is empty the forward token names the same
position as the request's, so a reader following forward tokens until an empty page (what the SageMaker
SDK does) stops exactly at the end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sageforge.aws.errors import AwsError
from sageforge.store.logs.base import EventPosition, LogEvent, StoredLogEvent, event_size

MAX_BATCH_BYTES = 1_048_576
_HOUR_MS = 3_600_000
_TOO_NEW_MS = 2 * _HOUR_MS
_TOO_OLD_MS = 14 * 24 * _HOUR_MS
_MAX_SPAN_MS = 24 * _HOUR_MS
_TOKEN = re.compile(r"([fb])/(-?\d+)/(-?\d+)")


class InvalidParameter(AwsError):
    code = "InvalidParameterException"


@dataclass(frozen=True)
class AcceptedBatch:
    events: Sequence[LogEvent]
    rejected: dict[str, int]  # RejectedLogEventsInfo; empty when every event was accepted


def accept_batch(events: Sequence[LogEvent], now: int) -> AcceptedBatch:
    """The events of a PutLogEvents batch CloudWatch would store at ``now`` (ms), and what it would reject."""
    if any(later.timestamp < earlier.timestamp for earlier, later in zip(events, events[1:], strict=False)):
        raise InvalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
    size = sum(event_size(event.message) for event in events)
    if size > MAX_BATCH_BYTES:
        raise InvalidParameter(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
    # The batch is sorted, so too-old events form a prefix and too-new ones a suffix.
    old_end = sum(1 for event in events if event.timestamp < now - _TOO_OLD_MS)
    new_start = next((i for i, event in enumerate(events) if event.timestamp > now + _TOO_NEW_MS), len(events))
    accepted = events[old_end:new_start]
    if accepted and accepted[-1].timestamp - accepted[0].timestamp > _MAX_SPAN_MS:
        raise InvalidParameter(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        )
    rejected: dict[str, int] = {}
    if old_end:
        rejected["tooOldLogEventEndIndex"] = old_end
    if new_start < len(events):
        rejected["tooNewLogEventStartIndex"] = new_start
    return AcceptedBatch(accepted, rejected)


def sequence_token(upload_sequence: int) -> str:
    """A PutLogEvents sequence token in CloudWatch's 56-digit form (clients send it back; it is ignored)."""
    return f"{upload_sequence:056d}"


@dataclass(frozen=True)
class EventToken:
    direction: Literal["f", "b"]
    position: EventPosition

    def __str__(self) -> str:
        return f"{self.direction}/{self.position.timestamp}/{self.position.sequence}"

    @classmethod
    def parse(cls, token: str) -> EventToken:
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise InvalidParameter("The specified nextToken is invalid.")
        direction: Literal["f", "b"] = "f" if match.group(1) == "f" else "b"
        return cls(direction, EventPosition(int(match.group(2)), int(match.group(3))))


@dataclass(frozen=True)
class StreamRead:
    """Which events of a stream one GetLogEvents call reads (the store's ``after``/``before``/``from_head``)."""

    from_head: bool
    after: EventPosition | None = None
    before: EventPosition | None = None

    @classmethod
    def of(cls, token: EventToken | None, start_from_head: bool) -> StreamRead:
        if token is None:
            return cls(from_head=start_from_head)
        if token.direction == "f":
            return cls(from_head=True, after=token.position)
        return cls(from_head=False, before=token.position)


def page_tokens(events: Sequence[StoredLogEvent], token: EventToken | None, start_time: int | None) -> dict[str, str]:
    """``nextForwardToken`` and ``nextBackwardToken`` for a page: around its events, or where the request
    stood when the page is empty."""
    if events:
        forward, backward = events[-1].position, events[0].position
    elif token is None:
        # Before every event of the window: events at start_time have sequences of 1 and more.
        forward = backward = EventPosition(start_time or 0, 0)
    elif token.direction == "f":
        forward = token.position
        backward = EventPosition(forward.timestamp, forward.sequence + 1)
    else:
        backward = token.position
        forward = EventPosition(backward.timestamp, backward.sequence - 1)
    return {"nextForwardToken": str(EventToken("f", forward)), "nextBackwardToken": str(EventToken("b", backward))}
