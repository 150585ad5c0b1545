"""CloudWatch Logs groups and streams through boto3: lifecycle, errors, listings and their pagination."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Aws = Callable[..., Any]


@pytest.fixture
def group(logs: Any) -> Any:
    name = f"/test/{uuid.uuid4().hex}"
    logs.create_log_group(logGroupName=name)
    yield name
    try:
        logs.delete_log_group(logGroupName=name)
    except logs.exceptions.ResourceNotFoundException:
        pass


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_log_group_lifecycle(logs: Any, group: str) -> None:
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in described] == [group]
    assert described[0]["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
    assert described[0]["logGroupArn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"
    assert described[0]["storedBytes"] == 0 and described[0]["creationTime"] > 0
    with pytest.raises(ClientError) as exists:
        logs.create_log_group(logGroupName=group)
    assert _error(exists) == ("ResourceAlreadyExistsException", "The specified log group already exists")
    logs.delete_log_group(logGroupName=group)
    with pytest.raises(ClientError) as missing:
        logs.delete_log_group(logGroupName=group)
    assert _error(missing) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_arns_name_the_requests_region(aws: Aws, group: str) -> None:
    described = aws("logs", region="eu-west-1").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described[0]["logGroupArn"].startswith("arn:aws:logs:eu-west-1:000000000000:log-group:")


def test_log_groups_paginate(logs: Any) -> None:
    prefix = f"/paged/{uuid.uuid4().hex}/"
    names = [f"{prefix}{i}" for i in range(5)]
    for name in names:
        logs.create_log_group(logGroupName=name)
    first = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=2)
    assert len(first["logGroups"]) == 2 and "nextToken" in first
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix, limit=2)
    assert [g["logGroupName"] for page in pages for g in page["logGroups"]] == names
    last = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=5)
    assert "nextToken" not in last
    assert [
        g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePattern=names[3][1:].upper())["logGroups"]
    ] == [names[3]]
    for name in names:
        logs.delete_log_group(logGroupName=name)


def test_log_stream_lifecycle(logs: Any, group: str) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName="job/algo-1-1700000000")
    with pytest.raises(ClientError) as exists:
        logs.create_log_stream(logGroupName=group, logStreamName="job/algo-1-1700000000")
    assert _error(exists) == ("ResourceAlreadyExistsException", "The specified log stream already exists")
    stream = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert stream["logStreamName"] == "job/algo-1-1700000000"
    assert stream["arn"].endswith(f":log-group:{group}:log-stream:job/algo-1-1700000000")
    assert "lastEventTimestamp" not in stream and stream["storedBytes"] == 0
    logs.delete_log_stream(logGroupName=group, logStreamName="job/algo-1-1700000000")
    with pytest.raises(ClientError) as missing:
        logs.delete_log_stream(logGroupName=group, logStreamName="job/algo-1-1700000000")
    assert _error(missing) == ("ResourceNotFoundException", "The specified log stream does not exist.")


def test_streams_need_a_group(logs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        logs.create_log_stream(logGroupName="/missing/group", logStreamName="s")
    assert _error(caught) == ("ResourceNotFoundException", "The specified log group does not exist.")
    with pytest.raises(ClientError) as listing:
        logs.describe_log_streams(logGroupName="/missing/group", logStreamNamePrefix="job/")
    assert _error(listing)[0] == "ResourceNotFoundException"


def test_stream_listing_returns_next_token_only_when_more_exist(logs: Any, group: str) -> None:
    for name in ["job/algo-2-1", "job/algo-1-1", "job-other/algo-1-1"]:
        logs.create_log_stream(logGroupName=group, logStreamName=name)
    exact = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="job/", orderBy="LogStreamName", limit=2)
    assert [s["logStreamName"] for s in exact["logStreams"]] == ["job/algo-1-1", "job/algo-2-1"]
    assert "nextToken" not in exact
    partial = logs.describe_log_streams(logGroupName=group, limit=2, descending=True)
    assert [s["logStreamName"] for s in partial["logStreams"]] == ["job/algo-2-1", "job/algo-1-1"]
    rest = logs.describe_log_streams(logGroupName=group, limit=2, descending=True, nextToken=partial["nextToken"])
    assert [s["logStreamName"] for s in rest["logStreams"]] == ["job-other/algo-1-1"] and "nextToken" not in rest


def test_streams_order_by_last_event_time(logs: Any, group: str) -> None:
    base = int(time.time() * 1000)
    for offset, name in [(2, "late"), (0, "early"), (1, "middle")]:
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        logs.put_log_events(
            logGroupName=group, logStreamName=name, logEvents=[{"timestamp": base + offset, "message": name}]
        )
    streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["late", "middle", "early"]
    assert streams[0]["lastEventTimestamp"] == base + 2 and streams[0]["firstEventTimestamp"] == base + 2
    with pytest.raises(ClientError) as caught:
        logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", logStreamNamePrefix="l")
    assert _error(caught) == ("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")


def test_group_identifier_may_be_an_arn(logs: Any, group: str) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"
    streams = logs.describe_log_streams(logGroupIdentifier=arn)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["s"]
    with pytest.raises(ClientError) as both:
        logs.describe_log_streams(logGroupIdentifier=arn, logGroupName=group)
    assert _error(both)[0] == "InvalidParameterException"


def test_invalid_token_is_rejected(logs: Any, group: str) -> None:
    with pytest.raises(ClientError) as caught:
        logs.describe_log_streams(logGroupName=group, nextToken="not-a-token")
    assert _error(caught)[0] == "InvalidParameterException"
