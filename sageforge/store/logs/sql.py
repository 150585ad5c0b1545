"""``SqlLogStore``: log groups, streams and events as rows in the metadata database (SQLite or PostgreSQL).

Writers are cheap: a batch of events is one transaction (look up the stream, insert the events, update the
stream's summary). Readers page with keyset conditions on (timestamp, id), never offsets, so a page costs
the same at the end of a long stream as at its start. ``filter_log_events`` narrows candidates in SQL with
LIKE on the pattern's terms (a superset: SQLite's LIKE ignores case) and decides exactly in Python.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from sageforge.store.logs.base import (
    EventPosition,
    FilteredEvents,
    LogEvent,
    LogGroup,
    LogGroupExists,
    LogStream,
    LogStreamExists,
    NoSuchLogGroup,
    NoSuchLogStream,
    Page,
    StoredLogEvent,
    StreamCursor,
    StreamOrder,
    event_size,
)
from sageforge.store.logs.patterns import FilterPattern
from sageforge.store.logs.schema import log_events, log_groups, log_streams

# Rows a single filter call examines before it returns what it found with a resume position, so one
# request never scans a whole large group.
_FILTER_SCAN_BUDGET = 100_000
_ROWS_PER_FETCH = 256

_group_bytes = (
    select(func.coalesce(func.sum(log_streams.c.stored_bytes), 0))
    .where(log_streams.c.group_id == log_groups.c.id)
    .scalar_subquery()
)
_stream_columns = (log_groups.c.name.label("group_name"), *log_streams.c)
_event_columns = (
    log_events.c.timestamp,
    log_events.c.message,
    log_events.c.ingestion_time,
    log_events.c.id,
    log_streams.c.name.label("stream_name"),
)


class SqlLogStore:
    """Implements ``QueryableLogStore`` on a SQLAlchemy engine whose schema is migrated (``open_database``)."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    # -- writes (the engine's path) ---------------------------------------------------------------------

    def ensure_log_stream(self, group: str, stream: str) -> None:
        with self._engine.connect() as connection:
            exists = connection.execute(
                select(log_streams.c.id)
                .join(log_groups, log_groups.c.id == log_streams.c.group_id)
                .where(log_groups.c.name == group, log_streams.c.name == stream)
            ).first()
        if exists is not None:
            return
        try:
            self.create_log_group(group)
        except LogGroupExists:
            pass
        try:
            self.create_log_stream(group, stream)
        except LogStreamExists:
            pass

    def put_log_events(self, group: str, stream: str, events: Sequence[LogEvent]) -> None:
        now = self._now()
        try:
            with self._engine.begin() as connection:
                group_id, stream_id = self._stream_ids(connection, group, stream)
                if not events:
                    return
                rows = [
                    {
                        "group_id": group_id,
                        "stream_id": stream_id,
                        "timestamp": e.timestamp,
                        "ingestion_time": now,
                        "message": e.message,
                    }
                    for e in events
                ]
                connection.execute(insert(log_events), rows)
                c = log_streams.c
                connection.execute(
                    update(log_streams)
                    .where(c.id == stream_id)
                    .values(
                        first_event_timestamp=_widened(
                            c.first_event_timestamp, min(e.timestamp for e in events), earlier=True
                        ),
                        last_event_timestamp=_widened(
                            c.last_event_timestamp, max(e.timestamp for e in events), earlier=False
                        ),
                        last_ingestion_time=now,
                        stored_bytes=c.stored_bytes + sum(len(e.message.encode()) for e in events),
                        upload_sequence=c.upload_sequence + 1,
                    )
                )
        except IntegrityError as error:
            # The stream was deleted between the lookup and the insert.
            raise NoSuchLogStream(stream) from error

    # -- groups -----------------------------------------------------------------------------------------

    def create_log_group(
        self, name: str, *, log_group_class: str = "STANDARD", kms_key_id: str | None = None
    ) -> LogGroup:
        now = self._now()
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(log_groups).values(
                        name=name, creation_time=now, log_group_class=log_group_class, kms_key_id=kms_key_id
                    )
                )
        except IntegrityError as error:
            raise LogGroupExists(name) from error
        return LogGroup(name, now, 0, log_group_class, kms_key_id)

    def delete_log_group(self, name: str) -> None:
        with self._engine.begin() as connection:
            group_id = self._group_id(connection, name)
            connection.execute(delete(log_events).where(log_events.c.group_id == group_id))
            connection.execute(delete(log_streams).where(log_streams.c.group_id == group_id))
            connection.execute(delete(log_groups).where(log_groups.c.id == group_id))

    def describe_log_groups(
        self, *, prefix: str | None = None, contains: str | None = None, after: str | None = None, limit: int = 50
    ) -> Page[LogGroup]:
        conditions: list[ColumnElement[bool]] = []
        if prefix:
            conditions.append(log_groups.c.name.startswith(prefix, autoescape=True))
        if contains:
            conditions.append(func.lower(log_groups.c.name).contains(contains.lower(), autoescape=True))
        if after is not None:
            conditions.append(log_groups.c.name > after)
        statement = (
            select(log_groups, _group_bytes.label("stored_bytes"))
            .where(*conditions)
            .order_by(log_groups.c.name)
            .limit(limit + 1)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        groups = [
            LogGroup(row.name, row.creation_time, int(row.stored_bytes), row.log_group_class, row.kms_key_id)
            for row in rows[:limit]
        ]
        return Page(groups, more=len(rows) > limit)

    # -- streams ----------------------------------------------------------------------------------------

    def create_log_stream(self, group: str, name: str) -> LogStream:
        now = self._now()
        try:
            with self._engine.begin() as connection:
                group_id = self._group_id(connection, group)
                connection.execute(
                    insert(log_streams).values(
                        group_id=group_id,
                        name=name,
                        creation_time=now,
                        stored_bytes=0,
                        upload_sequence=0,
                    )
                )
        except IntegrityError as error:
            raise LogStreamExists(name) from error
        return LogStream(group, name, now, None, None, None, 0, 0)

    def delete_log_stream(self, group: str, name: str) -> None:
        with self._engine.begin() as connection:
            _, stream_id = self._stream_ids(connection, group, name)
            connection.execute(delete(log_events).where(log_events.c.stream_id == stream_id))
            connection.execute(delete(log_streams).where(log_streams.c.id == stream_id))

    def describe_log_stream(self, group: str, name: str) -> LogStream:
        with self._engine.connect() as connection:
            _, stream_id = self._stream_ids(connection, group, name)
            row = connection.execute(
                select(*_stream_columns)
                .join(log_groups, log_groups.c.id == log_streams.c.group_id)
                .where(log_streams.c.id == stream_id)
            ).one()
        return _log_stream(row)

    def describe_log_streams(
        self,
        group: str,
        *,
        prefix: str | None = None,
        order_by: StreamOrder = "LogStreamName",
        descending: bool = False,
        after: StreamCursor | None = None,
        limit: int = 50,
    ) -> Page[LogStream]:
        c = log_streams.c
        if order_by == "LastEventTime":
            keys: list[ColumnElement[Any]] = [func.coalesce(c.last_event_timestamp, 0), c.name]
            cursor: tuple[Any, ...] = (after.last_event_timestamp, after.name) if after else ()
        else:
            keys, cursor = [c.name], (after.name,) if after else ()
        with self._engine.connect() as connection:
            conditions: list[ColumnElement[bool]] = [c.group_id == self._group_id(connection, group)]
            if prefix:
                conditions.append(c.name.startswith(prefix, autoescape=True))
            if cursor:
                position, seen = tuple_(*keys), tuple_(*cursor)
                conditions.append(position < seen if descending else position > seen)
            statement = (
                select(*_stream_columns)
                .join(log_groups, log_groups.c.id == c.group_id)
                .where(*conditions)
                .order_by(*(key.desc() if descending else key.asc() for key in keys))
                .limit(limit + 1)
            )
            rows = connection.execute(statement).all()
        return Page([_log_stream(row) for row in rows[:limit]], more=len(rows) > limit)

    # -- reads ------------------------------------------------------------------------------------------

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
        with self._engine.connect() as connection:
            _, stream_id = self._stream_ids(connection, group, stream)
            conditions = [log_events.c.stream_id == stream_id, *_window(start_time, end_time, after, before)]
            statement = (
                select(*_event_columns)
                .join(log_streams, log_streams.c.id == log_events.c.stream_id)
                .where(*conditions)
                .order_by(*_position_order(descending=not from_head))
                .limit(limit)
            )
            events = [_stored_event(row) for row in _within_bytes(_rows(connection, statement), max_bytes)]
        return events if from_head else events[::-1]

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
        pattern = pattern or FilterPattern()
        with self._engine.connect() as connection:
            group_id = self._group_id(connection, group)
            selection: list[ColumnElement[bool]] = [log_streams.c.group_id == group_id]
            if stream_names:
                selection.append(log_streams.c.name.in_(list(stream_names)))
            if stream_prefix:
                selection.append(log_streams.c.name.startswith(stream_prefix, autoescape=True))
            searched = list(
                connection.execute(select(log_streams.c.name).where(*selection).order_by(log_streams.c.name)).scalars()
            )
            statement = (
                select(*_event_columns)
                .join(log_streams, log_streams.c.id == log_events.c.stream_id)
                .where(log_events.c.group_id == group_id, *selection[1:])
                .where(*_window(start_time, end_time, after, None), *_candidates(pattern))
                .order_by(*_position_order(descending=False))
                .limit(_FILTER_SCAN_BUDGET)
            )
            found, resume_after = _scan(_rows(connection, statement), pattern, limit, max_bytes)
        return FilteredEvents(found, searched, resume_after)

    # -- helpers ----------------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock() * 1000)

    @staticmethod
    def _group_id(connection: Connection, name: str) -> int:
        group_id = connection.execute(select(log_groups.c.id).where(log_groups.c.name == name)).scalar()
        if group_id is None:
            raise NoSuchLogGroup(name)
        return int(group_id)

    @staticmethod
    def _stream_ids(connection: Connection, group: str, stream: str) -> tuple[int, int]:
        joined = log_groups.outerjoin(
            log_streams, and_(log_streams.c.group_id == log_groups.c.id, log_streams.c.name == stream)
        )
        row = connection.execute(
            select(log_groups.c.id, log_streams.c.id).select_from(joined).where(log_groups.c.name == group)
        ).first()
        if row is None:
            raise NoSuchLogGroup(group)
        if row[1] is None:
            raise NoSuchLogStream(stream)
        return int(row[0]), int(row[1])


def _widened(column: ColumnElement[Any], value: int, *, earlier: bool) -> ColumnElement[Any]:
    """A stream-summary timestamp moved to ``value`` when unset or when ``value`` is earlier (later) than it."""
    beyond = column > value if earlier else column < value
    return case((or_(column.is_(None), beyond), value), else_=column)


def _window(
    start_time: int | None, end_time: int | None, after: EventPosition | None, before: EventPosition | None
) -> list[ColumnElement[bool]]:
    position = tuple_(log_events.c.timestamp, log_events.c.id)
    conditions: list[ColumnElement[bool]] = []
    if start_time is not None:
        conditions.append(log_events.c.timestamp >= start_time)
    if end_time is not None:
        conditions.append(log_events.c.timestamp < end_time)
    if after is not None:
        conditions.append(position > tuple_(after.timestamp, after.sequence))
    if before is not None:
        conditions.append(position < tuple_(before.timestamp, before.sequence))
    return conditions


def _position_order(descending: bool) -> list[ColumnElement[Any]]:
    columns = (log_events.c.timestamp, log_events.c.id)
    return [column.desc() if descending else column.asc() for column in columns]


def _candidates(pattern: FilterPattern) -> list[ColumnElement[bool]]:
    """SQL conditions every match satisfies (possibly matching more); exclusions and regexes are left to
    Python because a case-insensitive LIKE could wrongly drop rows for them."""
    message = log_events.c.message
    conditions: list[ColumnElement[bool]] = [message.contains(term, autoescape=True) for term in pattern.required]
    if pattern.any_of and pattern.regex is None:
        conditions.append(or_(*(message.contains(term, autoescape=True) for term in pattern.any_of)))
    return conditions


def _rows(connection: Connection, statement: Select[Any]) -> Iterable[Row[Any]]:
    # Stream rows so a page of large messages is never held twice in memory.
    return connection.execute(statement.execution_options(yield_per=_ROWS_PER_FETCH))


def _within_bytes(rows: Iterable[Row[Any]], max_bytes: int) -> Iterable[Row[Any]]:
    total = 0
    for index, row in enumerate(rows):
        total += event_size(row.message)
        if total > max_bytes and index > 0:
            return
        yield row


def _scan(
    rows: Iterable[Row[Any]], pattern: FilterPattern, limit: int, max_bytes: int
) -> tuple[list[StoredLogEvent], EventPosition | None]:
    """The first matches within ``limit`` and ``max_bytes``, and where to resume if rows may remain."""
    found: list[StoredLogEvent] = []
    total = examined = 0
    last: EventPosition | None = None
    iterator = iter(rows)
    for row in iterator:
        examined += 1
        last = EventPosition(row.timestamp, row.id)
        if not pattern.matches(row.message):
            continue
        total += event_size(row.message)
        if found and (len(found) >= limit or total > max_bytes):
            return found, found[-1].position
        found.append(_stored_event(row))
    if examined >= _FILTER_SCAN_BUDGET and last is not None:
        return found, last
    return found, None


def _stored_event(row: Row[Any]) -> StoredLogEvent:
    return StoredLogEvent(row.timestamp, row.message, row.ingestion_time, row.id, row.stream_name)


def _log_stream(row: Row[Any]) -> LogStream:
    return LogStream(
        group=row.group_name,
        name=row.name,
        creation_time=row.creation_time,
        first_event_timestamp=row.first_event_timestamp,
        last_event_timestamp=row.last_event_timestamp,
        last_ingestion_time=row.last_ingestion_time,
        stored_bytes=row.stored_bytes,
        upload_sequence=row.upload_sequence,
    )
