"""PutLogEvents batch rules and GetLogEvents tokens, without a server."""

from __future__ import annotations

import pytest

from sageforge.services.logs.events import MAX_BATCH_BYTES, EventToken, InvalidParameter, accept_batch, page_tokens
from sageforge.store.logs.base import EventPosition, LogEvent, StoredLogEvent

NOW = 1_700_000_000_000
HOUR = 3_600_000


def test_batch_within_limits_is_accepted_whole() -> None:
    events = [LogEvent(NOW - HOUR, "a"), LogEvent(NOW, "b")]
    batch = accept_batch(events, NOW)
    assert list(batch.events) == events and batch.rejected == {}


def test_batch_rejects_old_and_new_ends() -> None:
    events = [LogEvent(NOW - 15 * 24 * HOUR, "old"), LogEvent(NOW, "ok"), LogEvent(NOW + 3 * HOUR, "new")]
    batch = accept_batch(events, NOW)
    assert [e.message for e in batch.events] == ["ok"]
    assert batch.rejected == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2}


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([LogEvent(NOW, "b"), LogEvent(NOW - 1, "a")], "chronological order"),
        ([LogEvent(NOW - 25 * HOUR, "a"), LogEvent(NOW, "b")], "cannot span more than 24 hours"),
        ([LogEvent(NOW, "x" * MAX_BATCH_BYTES)], "Upload too large"),
    ],
)
def test_invalid_batches(events: list[LogEvent], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        accept_batch(events, NOW)


def test_tokens_round_trip_and_reject_garbage() -> None:
    token = EventToken("b", EventPosition(NOW, 42))
    assert EventToken.parse(str(token)) == token
    with pytest.raises(InvalidParameter):
        EventToken.parse("x/1/2")


def test_page_tokens() -> None:
    events = [StoredLogEvent(NOW, "a", NOW, 7, "s"), StoredLogEvent(NOW + 1, "b", NOW, 9, "s")]
    assert page_tokens(events, None, None) == {"nextForwardToken": f"f/{NOW + 1}/9", "nextBackwardToken": f"b/{NOW}/7"}
    forward = EventToken("f", EventPosition(NOW, 9))
    assert page_tokens([], forward, None) == {"nextForwardToken": f"f/{NOW}/9", "nextBackwardToken": f"b/{NOW}/10"}
    backward = EventToken("b", EventPosition(NOW, 7))
    assert page_tokens([], backward, None) == {"nextForwardToken": f"f/{NOW}/6", "nextBackwardToken": f"b/{NOW}/7"}
    assert page_tokens([], None, 5) == {"nextForwardToken": "f/5/0", "nextBackwardToken": "b/5/0"}
