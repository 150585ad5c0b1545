"""The log store's tables on the shared ``metadata``: groups, their streams, and the streams' events.

Stream rows carry the summary DescribeLogStreams reports (first/last event time, last ingestion, bytes),
updated in the same transaction as each batch of events so reading it costs nothing. Events carry their
group as well as their stream so that a search across a group's streams reads one index range.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from sageforge.store.metadata.schema import metadata

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere event ids need 64 bits.
_EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")

log_groups = Table(
    "log_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(512), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("log_group_class", String(32), nullable=False),
    Column("kms_key_id", String(256), nullable=True),
    UniqueConstraint("name", name="uq_log_groups_name"),
)

log_streams = Table(
    "log_streams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", Integer, ForeignKey("log_groups.id", name="fk_log_streams_group"), nullable=False),
    Column("name", String(512), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("first_event_timestamp", BigInteger, nullable=True),
    Column("last_event_timestamp", BigInteger, nullable=True),
    Column("last_ingestion_time", BigInteger, nullable=True),
    Column("stored_bytes", BigInteger, nullable=False),
    Column("upload_sequence", BigInteger, nullable=False),
    UniqueConstraint("group_id", "name", name="uq_log_streams_name"),
    Index("ix_log_streams_last_event", "group_id", "last_event_timestamp"),
)

log_events = Table(
    "log_events",
    metadata,
    Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
    Column("group_id", Integer, nullable=False),
    Column("stream_id", Integer, ForeignKey("log_streams.id", name="fk_log_events_stream"), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("ingestion_time", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_log_events_stream_position", "stream_id", "timestamp", "id"),
    Index("ix_log_events_group_position", "group_id", "timestamp", "id"),
)
