"""CloudWatch Logs events through boto3, including the exact loops the SageMaker SDK runs to follow logs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sagemaker.logs
import sagemaker.session
from botocore.exceptions import ClientError

Aws = Callable[..., Any]
# The SDK's modules, untyped: what the tests call is exactly what `Session.logs_for_job` calls.
SDK_LOGS: Any = sagemaker.logs
SDK_SESSION: Any = sagemaker.session
TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def group(logs: Any) -> Iterator[str]:
    name = f"/test/{uuid.uuid4().hex}"
    logs.create_log_group(logGroupName=name)
    yield name
    logs.delete_log_group(logGroupName=name)


@pytest.fixture
def stream(logs: Any, group: str) -> str:
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    return "s"


def _now() -> int:
    return int(time.time() * 1000)


def _put(logs: Any, group: str, stream: str, events: list[tuple[int, str]]) -> dict[str, Any]:
    batch = [{"timestamp": timestamp, "message": message} for timestamp, message in events]
    response: dict[str, Any] = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
    return response


def _code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


# -- PutLogEvents ---------------------------------------------------------------------------------------


def test_put_and_read_back(logs: Any, group: str, stream: str) -> None:
    now = _now()
    first = _put(logs, group, stream, [(now, "one"), (now + 1, "twö")])
    second = _put(logs, group, stream, [(now + 2, "three")])
    assert int(second["nextSequenceToken"]) == int(first["nextSequenceToken"]) + 1
    assert "rejectedLogEventsInfo" not in first
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    assert [(e["timestamp"], e["message"]) for e in events] == [(now, "one"), (now + 1, "twö"), (now + 2, "three")]
    assert all(e["ingestionTime"] >= now - 1000 for e in events)
    summary = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert (summary["firstEventTimestamp"], summary["lastEventTimestamp"]) == (now, now + 2)
    assert summary["lastIngestionTime"] >= now - 1000 and summary["storedBytes"] == len("onetwöthree".encode())
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"] == summary["storedBytes"]


def test_too_old_and_too_new_events_are_rejected(logs: Any, group: str, stream: str) -> None:
    now = _now()
    response = _put(logs, group, stream, [(now - 15 * DAY_MS, "old"), (now, "ok"), (now + DAY_MS, "future")])
    assert response["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2}
    events = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
    assert [e["message"] for e in events] == ["ok"]


def test_batches_must_be_chronological(logs: Any, group: str, stream: str) -> None:
    now = _now()
    with pytest.raises(ClientError) as caught:
        _put(logs, group, stream, [(now, "b"), (now - 1, "a")])
    assert _code(caught) == "InvalidParameterException"
    assert "chronological order" in caught.value.response["Error"]["Message"]


def test_put_needs_the_stream(logs: Any, group: str) -> None:
    with pytest.raises(ClientError) as caught:
        _put(logs, group, "missing", [(_now(), "x")])
    assert caught.value.response["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "The specified log stream does not exist.",
    }


# -- GetLogEvents ---------------------------------------------------------------------------------------


def test_empty_stream_returns_both_tokens(logs: Any, group: str, stream: str) -> None:
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert page["events"] == [] and page["nextForwardToken"] and page["nextBackwardToken"]
    again = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=page["nextForwardToken"])
    assert again["events"] == [] and again["nextForwardToken"] == page["nextForwardToken"]


def test_forward_pages_end_with_an_empty_page_and_the_same_token(logs: Any, group: str, stream: str) -> None:
    now = _now()
    _put(logs, group, stream, [(now + i // 2, f"m{i}") for i in range(7)])
    seen: list[str] = []
    token = None
    while True:
        extra: dict[str, str] = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=3, **extra)
        seen += [e["message"] for e in page["events"]]
        if not page["events"]:
            assert page["nextForwardToken"] == token
            break
        token = page["nextForwardToken"]
    assert seen == [f"m{i}" for i in range(7)]


def test_backward_pages_from_the_tail(logs: Any, group: str, stream: str) -> None:
    now = _now()
    _put(logs, group, stream, [(now + i, f"m{i}") for i in range(5)])
    tail = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=2)
    assert [e["message"] for e in tail["events"]] == ["m3", "m4"]
    before = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=2, nextToken=tail["nextBackwardToken"])
    assert [e["message"] for e in before["events"]] == ["m1", "m2"]
    first = logs.get_log_events(
        logGroupName=group, logStreamName=stream, limit=2, nextToken=before["nextBackwardToken"]
    )
    assert [e["message"] for e in first["events"]] == ["m0"]
    end = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=first["nextBackwardToken"])
    assert end["events"] == [] and end["nextBackwardToken"] == first["nextBackwardToken"]
    forward = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=end["nextForwardToken"], limit=1)
    assert [e["message"] for e in forward["events"]] == ["m0"]


def test_time_window(logs: Any, group: str, stream: str) -> None:
    now = _now()
    _put(logs, group, stream, [(now + i, f"m{i}") for i in range(5)])
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, startTime=now + 1, endTime=now + 3)
    assert [e["message"] for e in page["events"]] == ["m1", "m2"]


def test_invalid_event_token(logs: Any, group: str, stream: str) -> None:
    with pytest.raises(ClientError) as caught:
        logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken="garbage")
    assert caught.value.response["Error"] == {
        "Code": "InvalidParameterException",
        "Message": "The specified nextToken is invalid.",
    }


# -- the SageMaker SDK's loops --------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_sdk_log_stream_reads_every_page_once(logs: Any, group: str, stream: str) -> None:
    now = _now()
    for batch in range(2):
        _put(logs, group, stream, [(now, f"{batch}-{i}") for i in range(6_000)])
    events = list(SDK_LOGS.log_stream(logs, group, stream, start_time=0, skip=0))
    assert [e["message"] for e in events] == [f"{b}-{i}" for b in range(2) for i in range(6_000)]


@pytest.mark.timeout(60)
def test_sdk_follows_training_logs_like_logs_for_job(
    logs: Any, aws: Aws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    job = f"job-{uuid.uuid4().hex[:12]}"
    positions: dict[str, Any] = {}
    color_wrap = SDK_LOGS.ColorWrap()

    def flush(log_group: str = TRAINING_GROUP) -> list[str]:
        # The SDK passes a fresh stream list each time (it never keeps the one it looked up) and keeps positions.
        SDK_SESSION._flush_log_streams([], 2, logs, log_group, job, positions, False, color_wrap)
        return [line for line in capsys.readouterr().out.splitlines() if line.strip(".")]

    assert flush(log_group=f"/missing/{job}") == []  # ResourceNotFoundException is tolerated
    try:
        logs.create_log_group(logGroupName=TRAINING_GROUP)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    assert flush() == []
    now = _now()
    algo1, algo2 = f"{job}/algo-1-1700000000", f"{job}/algo-2-1700000000"
    for name in (algo1, algo2):
        logs.create_log_stream(logGroupName=TRAINING_GROUP, logStreamName=name)
    _put(logs, TRAINING_GROUP, algo1, [(now, "a1"), (now, "a2"), (now + 2, "a3")])
    _put(logs, TRAINING_GROUP, algo2, [(now + 1, "b1")])
    assert flush() == ["a1", "a2", "b1", "a3"]
    # New lines, some at a timestamp already read: each is printed once, nothing is repeated.
    _put(logs, TRAINING_GROUP, algo1, [(now + 2, "a4"), (now + 3, "a5")])
    _put(logs, TRAINING_GROUP, algo2, [(now + 1, "b2")])
    assert flush() == ["b2", "a4", "a5"]
    assert flush() == []
    for name in (algo1, algo2):
        logs.delete_log_stream(logGroupName=TRAINING_GROUP, logStreamName=name)


# -- FilterLogEvents ------------------------------------------------------------------------------------


@pytest.fixture
def endpoint_logs(logs: Any, group: str) -> str:
    now = _now()
    lines = {
        "AllTraffic/i-1": [(now, "INFO loading model"), (now + 2, "ERROR out of memory"), (now + 4, "WARN slow")],
        "AllTraffic/i-2": [(now + 1, "INFO ping"), (now + 3, "ERROR Exception: bad input")],
        "data-log/i-1": [(now + 1, "ERROR not traffic")],
    }
    for name, events in lines.items():
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        _put(logs, group, name, events)
    return group


def test_filter_by_prefix_and_pattern(logs: Any, endpoint_logs: str) -> None:
    result = logs.filter_log_events(
        logGroupName=endpoint_logs, logStreamNamePrefix="AllTraffic/", filterPattern="ERROR"
    )
    assert [(e["logStreamName"], e["message"]) for e in result["events"]] == [
        ("AllTraffic/i-1", "ERROR out of memory"),
        ("AllTraffic/i-2", "ERROR Exception: bad input"),
    ]
    assert all(e["eventId"] and e["ingestionTime"] for e in result["events"])
    assert {s["logStreamName"] for s in result["searchedLogStreams"]} == {"AllTraffic/i-1", "AllTraffic/i-2"}
    assert "nextToken" not in result
    alternatives = logs.filter_log_events(logGroupName=endpoint_logs, filterPattern='?WARN ?"bad input"')
    assert [e["message"] for e in alternatives["events"]] == ["ERROR Exception: bad input", "WARN slow"]
    named = logs.filter_log_events(logGroupName=endpoint_logs, logStreamNames=["data-log/i-1"])
    assert [e["message"] for e in named["events"]] == ["ERROR not traffic"]


def test_filter_paginates(logs: Any, endpoint_logs: str) -> None:
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=endpoint_logs, PaginationConfig={"PageSize": 2}
    )
    messages = [e["message"] for page in pages for e in page["events"]]
    assert len(messages) == 6 and len(set(messages)) == 6


@pytest.mark.parametrize("pattern", ['{ $.level = "ERROR" }', "[ip, user, status=500]"])
def test_structured_filter_patterns_are_rejected(logs: Any, endpoint_logs: str, pattern: str) -> None:
    with pytest.raises(ClientError) as caught:
        logs.filter_log_events(logGroupName=endpoint_logs, filterPattern=pattern)
    assert _code(caught) == "InvalidParameterException"
    assert "not supported" in caught.value.response["Error"]["Message"]


def test_filter_names_and_prefix_are_exclusive(logs: Any, endpoint_logs: str) -> None:
    with pytest.raises(ClientError) as caught:
        logs.filter_log_events(logGroupName=endpoint_logs, logStreamNames=["a"], logStreamNamePrefix="b")
    assert _code(caught) == "InvalidParameterException"
