"""A job's instance output, written to the log store in batches while it runs.

Group ``/aws/sagemaker/TrainingJobs``, one stream per instance named ``<job>/algo-<n>-<epoch seconds at start>``,
as SageMaker names them (the SDK's ``logs=True`` looks them up by the ``<job>/`` prefix). Lines are buffered and
written at least every ``flush_interval`` seconds, so the logs can be followed live without one store write
per line.
"""

from __future__ import annotations

import logging
import threading

from sageforge.store.logs.base import LogEvent, LogStore

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# PutLogEvents' limit per call; the store may not care, but batches stay within what CloudWatch accepts.
_MAX_BATCH = 10_000

_log = logging.getLogger(__name__)


def training_log_stream(job_name: str, host: str, started: float) -> str:
    return f"{job_name}/{host}-{int(started)}"


class JobLogWriter:
    """Buffers lines per stream and flushes them from a background thread until ``close``."""

    def __init__(self, store: LogStore, group: str = TRAINING_LOG_GROUP, flush_interval: float = 0.5) -> None:
        self._store = store
        self._group = group
        self._interval = flush_interval
        self._pending: dict[str, list[LogEvent]] = {}
        self._lock = threading.Lock()
        # Flushes must not overlap: two batches of one stream written concurrently could land out of order.
        self._flush_lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_periodically, name="sageforge-log-flusher", daemon=True)
        self._flusher.start()

    def open_stream(self, stream: str) -> None:
        self._store.ensure_log_stream(self._group, stream)
        with self._lock:
            self._pending.setdefault(stream, [])

    def write(self, stream: str, message: str, at: float) -> None:
        """Queue one line of ``stream`` (opened before) stamped ``at`` (epoch seconds)."""
        # CloudWatch rejects empty messages.
        if message:
            with self._lock:
                self._pending[stream].append(LogEvent(int(at * 1000), message))

    def flush(self) -> None:
        with self._flush_lock:
            with self._lock:
                batches = {stream: events for stream, events in self._pending.items() if events}
                for stream in batches:
                    self._pending[stream] = []
            for stream, events in batches.items():
                for start in range(0, len(events), _MAX_BATCH):
                    try:
                        self._store.put_log_events(self._group, stream, events[start : start + _MAX_BATCH])
                    except Exception:
                        # Losing log lines must not fail the training job that wrote them.
                        _log.exception("could not write %d log events to %s", len(events), stream)

    def close(self) -> None:
        """Stop the background flushes and write what is left."""
        self._closed.set()
        self._flusher.join()
        self.flush()

    def _flush_periodically(self) -> None:
        while not self._closed.wait(self._interval):
            self.flush()
