"""The log-store interfaces the CloudWatch Logs API and the engine share.

``LogStore`` is the small part the engine writes through; ``QueryableLogStore`` adds what the Logs API
needs to manage groups and streams and to read events back.

Implementations: ``sql.SqlLogStore`` (default; rows in the metadata database). Every implementation
passes ``sageforge.testing.contracts.log_store``.

Times are integer milliseconds since the epoch. Events of a stream are ordered by (timestamp, sequence):
the sequence breaks ties in arrival order, so readers page through a stream with an ``EventPosition``.
Log groups form one namespace per store, shared by every account and region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from sageforge.store.logs.patterns import FilterPattern

T = TypeVar("T")

StreamOrder = Literal["LogStreamName", "LastEventTime"]

# CloudWatch counts 26 bytes of overhead per event when it sizes batches and responses.
EVENT_OVERHEAD_BYTES = 26


def event_size(message: str) -> int:
    """The bytes an event counts for against batch and response limits."""
    return len(message.encode()) + EVENT_OVERHEAD_BYTES


class LogStoreError(Exception):
    """Base of the store's own errors."""


class NoSuchLogGroup(LogStoreError):
    pass


class NoSuchLogStream(LogStoreError):
    pass


class LogGroupExists(LogStoreError):
    pass


class LogStreamExists(LogStoreError):
    pass


@dataclass(frozen=True)
class LogEvent:
    timestamp: int  # milliseconds since the epoch, as the writer stamped it
    message: str


@dataclass(frozen=True)
class StoredLogEvent:
    timestamp: int
    message: str
    ingestion_time: int
    sequence: int  # position within the stream, strictly increasing; pagination tokens derive from it
    stream: str

    @property
    def position(self) -> EventPosition:
        return EventPosition(self.timestamp, self.sequence)


@dataclass(frozen=True, order=True)
class EventPosition:
    """A point in the (timestamp, sequence) order of events; readers ask for events after or before it."""

    timestamp: int
    sequence: int


@dataclass(frozen=True)
class LogGroup:
    name: str
    creation_time: int
    stored_bytes: int  # UTF-8 bytes of the messages of every stream in the group
    log_group_class: str
    kms_key_id: str | None


@dataclass(frozen=True)
class LogStream:
    group: str
    name: str
    creation_time: int
    first_event_timestamp: int | None
    last_event_timestamp: int | None
    last_ingestion_time: int | None
    stored_bytes: int
    upload_sequence: int  # batches written so far; PutLogEvents' sequence tokens derive from it


@dataclass(frozen=True)
class StreamCursor:
    """Where a stream listing stopped: the last stream returned, in the listing's order."""

    name: str
    last_event_timestamp: int = 0


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    more: bool  # whether items exist past the last one returned


@dataclass(frozen=True)
class FilteredEvents:
    events: list[StoredLogEvent]
    searched_streams: list[str]
    # Where to resume when the search stopped early (limit, size or scan budget); None when it is complete.
    resume_after: EventPosition | None


class LogStore(Protocol):
    """The part of the log store the engine writes through; the Logs API uses ``QueryableLogStore``."""

    def ensure_log_stream(self, group: str, stream: str) -> None:
        """Create the group and the stream if either is missing (idempotent)."""
        ...

    def put_log_events(self, group: str, stream: str, events: Sequence[LogEvent]) -> None:
        """Append events in one transaction; raise ``NoSuchLogGroup``/``NoSuchLogStream`` if either is missing."""
        ...


class QueryableLogStore(LogStore, Protocol):
    """Everything the CloudWatch Logs API needs. Listings return at most ``limit`` items."""

    def create_log_group(
        self, name: str, *, log_group_class: str = "STANDARD", kms_key_id: str | None = None
    ) -> LogGroup: ...

    def delete_log_group(self, name: str) -> None:
        """Delete the group with its streams and events."""
        ...

    def describe_log_groups(
        self, *, prefix: str | None = None, contains: str | None = None, after: str | None = None, limit: int = 50
    ) -> Page[LogGroup]:
        """Groups by name; ``contains`` matches case-insensitively; ``after`` is the last name already seen."""
        ...

    def create_log_stream(self, group: str, name: str) -> LogStream: ...

    def delete_log_stream(self, group: str, name: str) -> None: ...

    def describe_log_stream(self, group: str, name: str) -> LogStream: ...

    def describe_log_streams(
        self,
        group: str,
        *,
        prefix: str | None = None,
        order_by: StreamOrder = "LogStreamName",
        descending: bool = False,
        after: StreamCursor | None = None,
        limit: int = 50,
    ) -> Page[LogStream]: ...

    def get_log_events(
        self,
        group: str,
        stream: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        after: EventPosition | None = None,
        before: EventPosition | None = None,
        from_head: bool = True,
        limit: int = 10_000,
        max_bytes: int = 1_048_576,
    ) -> list[StoredLogEvent]:
        """Events with ``start_time <= timestamp < end_time`` strictly between ``after`` and ``before``, in
        order: the first ``limit`` of them when ``from_head``, else the last ``limit``. A page stops before
        ``max_bytes`` of messages (each event counting 26 bytes more), but holds at least one event."""
        ...

    def filter_log_events(
        self,
        group: str,
        *,
        stream_names: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        pattern: FilterPattern | None = None,
        after: EventPosition | None = None,
        limit: int = 10_000,
        max_bytes: int = 1_048_576,
    ) -> FilteredEvents:
        """Matching events of the selected streams (all when neither names nor prefix are given), in
        (timestamp, sequence) order across streams."""
        ...
