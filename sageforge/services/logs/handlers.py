"""CloudWatch Logs API: log groups, log streams, and their events, over a ``QueryableLogStore``.

What the SageMaker SDK relies on (it follows training and endpoint logs with these calls): DescribeLogStreams
returns ``nextToken`` only when more streams exist; GetLogEvents always returns both tokens and, at the end
of a stream, an empty page whose forward token equals the one sent; FilterLogEvents interleaves streams.

LIMITATIONS (where sageforge differs from CloudWatch Logs):
- Log groups are one namespace per server, shared by every region and account; ARNs name the request's.
- Filter patterns: terms, "quoted phrases", ?alternatives, -exclusions and %regex% only; JSON
  (``{ $.x = 1 }``) and space-delimited (``[a, b]``) patterns are rejected with InvalidParameterException.
- Tags, KMS keys, log group classes and deletion protection are accepted but not enforced; there are no
  retention policies (events never expire), metric filters, subscriptions, Insights queries or Live Tail.
- Sequence tokens are issued but ignored, as CloudWatch itself now does.
- ``storedBytes`` counts the UTF-8 bytes of messages, uncompressed.
- Cross-account options (``accountIdentifiers``, ``includeLinkedAccounts``) and ``unmask`` are ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.errors import AwsError
from sageforge.aws.pagination import decode_token, encode_token
from sageforge.services.logs.events import (
    EventToken,
    InvalidParameter,
    StreamRead,
    accept_batch,
    page_tokens,
    sequence_token,
)
from sageforge.store.logs.base import (
    EventPosition,
    LogEvent,
    LogGroup,
    LogGroupExists,
    LogStream,
    LogStreamExists,
    NoSuchLogGroup,
    NoSuchLogStream,
    QueryableLogStore,
    StreamCursor,
)
from sageforge.store.logs.patterns import FilterPattern, InvalidFilterPattern

Params = dict[str, Any]
Output = dict[str, Any]


class ResourceNotFound(AwsError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExists(AwsError):
    code = "ResourceAlreadyExistsException"


@contextmanager
def _store_errors() -> Iterator[None]:
    """Translate the store's exceptions into the errors CloudWatch Logs sends."""
    try:
        yield
    except NoSuchLogGroup as error:
        raise ResourceNotFound("The specified log group does not exist.") from error
    except NoSuchLogStream as error:
        raise ResourceNotFound("The specified log stream does not exist.") from error
    except LogGroupExists as error:
        raise ResourceAlreadyExists("The specified log group already exists") from error
    except LogStreamExists as error:
        raise ResourceAlreadyExists("The specified log stream already exists") from error
    except InvalidFilterPattern as error:
        raise InvalidParameter(str(error)) from error


class LogsProvider:
    """The CloudWatch Logs operations; ``clock`` (epoch seconds) decides which PutLogEvents events are too old."""

    def __init__(self, store: QueryableLogStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    # -- groups -----------------------------------------------------------------------------------------

    @operation("CreateLogGroup")
    def create_log_group(self, context: RequestContext, params: Params) -> Output:
        with _store_errors():
            self._store.create_log_group(
                params["logGroupName"],
                log_group_class=params.get("logGroupClass", "STANDARD"),
                kms_key_id=params.get("kmsKeyId"),
            )
        return {}

    @operation("DeleteLogGroup")
    def delete_log_group(self, context: RequestContext, params: Params) -> Output:
        with _store_errors():
            self._store.delete_log_group(params["logGroupName"])
        return {}

    @operation("DescribeLogGroups")
    def describe_log_groups(self, context: RequestContext, params: Params) -> Output:
        prefix, pattern = params.get("logGroupNamePrefix"), params.get("logGroupNamePattern")
        if prefix and pattern:
            raise InvalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        token = params.get("nextToken")
        after = _token_state(token, after=str)["after"] if token else None
        page = self._store.describe_log_groups(
            prefix=prefix, contains=pattern, after=after, limit=params.get("limit", 50)
        )
        output: Output = {"logGroups": [_log_group(context, group) for group in page.items]}
        if page.more:
            output["nextToken"] = encode_token({"after": page.items[-1].name})
        return output

    # -- streams ----------------------------------------------------------------------------------------

    @operation("CreateLogStream")
    def create_log_stream(self, context: RequestContext, params: Params) -> Output:
        with _store_errors():
            self._store.create_log_stream(params["logGroupName"], params["logStreamName"])
        return {}

    @operation("DeleteLogStream")
    def delete_log_stream(self, context: RequestContext, params: Params) -> Output:
        with _store_errors():
            self._store.delete_log_stream(params["logGroupName"], params["logStreamName"])
        return {}

    @operation("DescribeLogStreams")
    def describe_log_streams(self, context: RequestContext, params: Params) -> Output:
        group = _group_name(params)
        order_by = params.get("orderBy", "LogStreamName")
        prefix = params.get("logStreamNamePrefix")
        if order_by == "LastEventTime" and prefix:
            raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        token = params.get("nextToken")
        state = _token_state(token, name=str, time=int) if token else None
        after = StreamCursor(state["name"], state["time"]) if state else None
        with _store_errors():
            page = self._store.describe_log_streams(
                group,
                prefix=prefix,
                order_by=order_by,
                descending=params.get("descending", False),
                after=after,
                limit=params.get("limit", 50),
            )
        output: Output = {"logStreams": [_log_stream(context, stream) for stream in page.items]}
        # Only when more streams exist: the SageMaker SDK re-requests while a nextToken is present.
        if page.more:
            last = page.items[-1]
            output["nextToken"] = encode_token({"name": last.name, "time": last.last_event_timestamp or 0})
        return output

    # -- events -----------------------------------------------------------------------------------------

    @operation("PutLogEvents")
    def put_log_events(self, context: RequestContext, params: Params) -> Output:
        group, stream = params["logGroupName"], params["logStreamName"]
        events = [LogEvent(event["timestamp"], event["message"]) for event in params["logEvents"]]
        batch = accept_batch(events, now=int(self._clock() * 1000))
        with _store_errors():
            self._store.put_log_events(group, stream, batch.events)
            summary = self._store.describe_log_stream(group, stream)
        output: Output = {"nextSequenceToken": sequence_token(summary.upload_sequence)}
        if batch.rejected:
            output["rejectedLogEventsInfo"] = batch.rejected
        return output

    @operation("GetLogEvents")
    def get_log_events(self, context: RequestContext, params: Params) -> Output:
        group = _group_name(params)
        raw_token = params.get("nextToken")
        token = EventToken.parse(raw_token) if raw_token else None
        start_time = params.get("startTime")
        read = StreamRead.of(token, params.get("startFromHead", False))
        with _store_errors():
            events = self._store.get_log_events(
                group,
                params["logStreamName"],
                start_time=start_time,
                end_time=params.get("endTime"),
                after=read.after,
                before=read.before,
                from_head=read.from_head,
                limit=params.get("limit", 10_000),
            )
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time} for e in events
            ],
            **page_tokens(events, token, start_time),
        }

    @operation("FilterLogEvents")
    def filter_log_events(self, context: RequestContext, params: Params) -> Output:
        group = _group_name(params)
        names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
        if names and prefix:
            raise InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        token = params.get("nextToken")
        state = _token_state(token, timestamp=int, sequence=int) if token else None
        after = EventPosition(state["timestamp"], state["sequence"]) if state else None
        with _store_errors():
            result = self._store.filter_log_events(
                group,
                stream_names=names,
                stream_prefix=prefix,
                start_time=params.get("startTime"),
                end_time=params.get("endTime"),
                pattern=FilterPattern.parse(params.get("filterPattern")),
                after=after,
                limit=params.get("limit", 10_000),
            )
        complete = result.resume_after is None
        output: Output = {
            "events": [
                {
                    "logStreamName": e.stream,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": str(e.sequence),
                }
                for e in result.events
            ],
            "searchedLogStreams": [
                {"logStreamName": name, "searchedCompletely": complete} for name in result.searched_streams
            ],
        }
        if result.resume_after is not None:
            position = result.resume_after
            output["nextToken"] = encode_token({"timestamp": position.timestamp, "sequence": position.sequence})
        return output


def _group_name(params: Params) -> str:
    """The group named by ``logGroupName`` or ``logGroupIdentifier`` (a name or an ARN), exactly one of them."""
    name, identifier = params.get("logGroupName"), params.get("logGroupIdentifier")
    if name and identifier:
        raise InvalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier and identifier.startswith("arn:"):
        # arn:aws:logs:<region>:<account>:log-group:<name>[:*]
        parts = identifier.split(":")
        if len(parts) < 7 or parts[5] != "log-group":
            raise InvalidParameter(f"Invalid log group ARN: {identifier}")
        return str(parts[6])
    if identifier:
        return str(identifier)
    if not name:
        raise InvalidParameter("Either logGroupName or logGroupIdentifier must be specified.")
    return str(name)


def _token_state(token: str, **members: type) -> dict[str, Any]:
    """The state a listing token carries, checked to hold ``members`` of the given types."""
    state = decode_token(token, InvalidParameter)
    if any(not isinstance(state.get(name), kind) for name, kind in members.items()):
        raise InvalidParameter("The specified nextToken is invalid.")
    return state


def _group_arn(context: RequestContext, name: str) -> str:
    return f"arn:aws:logs:{context.region}:{context.account_id}:log-group:{name}"


def _log_group(context: RequestContext, group: LogGroup) -> Output:
    arn = _group_arn(context, group.name)
    output: Output = {
        "logGroupName": group.name,
        "creationTime": group.creation_time,
        "metricFilterCount": 0,
        "arn": f"{arn}:*",
        "logGroupArn": arn,
        "storedBytes": group.stored_bytes,
        "logGroupClass": group.log_group_class,
    }
    if group.kms_key_id:
        output["kmsKeyId"] = group.kms_key_id
    return output


def _log_stream(context: RequestContext, stream: LogStream) -> Output:
    optional = {
        "firstEventTimestamp": stream.first_event_timestamp,
        "lastEventTimestamp": stream.last_event_timestamp,
        "lastIngestionTime": stream.last_ingestion_time,
    }
    return {
        "logStreamName": stream.name,
        "creationTime": stream.creation_time,
        **{key: value for key, value in optional.items() if value is not None},
        "uploadSequenceToken": sequence_token(stream.upload_sequence),
        "arn": f"{_group_arn(context, stream.group)}:log-stream:{stream.name}",
        "storedBytes": stream.stored_bytes,
    }
