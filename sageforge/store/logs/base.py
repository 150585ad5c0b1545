"""The log-store interface the CloudWatch Logs API and the engine share.

Implementations: ``sql.SqlLogStore`` (default; rows in the metadata database). Every implementation
passes ``sageforge.testing.contracts.log_store``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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


class LogStore(Protocol):
    """The part of the log store the engine writes through; the Logs API uses the full implementation."""

    def ensure_log_stream(self, group: str, stream: str) -> None:
        """Create the group and the stream if either is missing (idempotent)."""
        ...

    def put_log_events(self, group: str, stream: str, events: Sequence[LogEvent]) -> None: ...
