from __future__ import annotations

from collections.abc import Sequence

from sageforge.engine.logs import TRAINING_LOG_GROUP, JobLogWriter, training_log_stream
from sageforge.store.logs.base import LogEvent
from sageforge.store.logs.sql import SqlLogStore
from tests.engine.support import eventually, messages


def test_stream_name() -> None:
    assert training_log_stream("job", "algo-2", 1700000000.9) == "job/algo-2-1700000000"


def test_lines_are_batched_and_flushed_on_close(logs: SqlLogStore) -> None:
    writer = JobLogWriter(logs, flush_interval=3600)
    writer.open_stream("job/algo-1-1")
    for n in range(5):
        writer.write("job/algo-1-1", f"line {n}", 1.5 + n)
    writer.write("job/algo-1-1", "", 9.0)  # CloudWatch refuses empty events
    assert messages(logs, "job/algo-1-1") == []
    writer.close()
    events = logs.get_log_events(TRAINING_LOG_GROUP, "job/algo-1-1")
    assert [(event.timestamp, event.message) for event in events] == [(1500 + 1000 * n, f"line {n}") for n in range(5)]
    assert logs.describe_log_stream(TRAINING_LOG_GROUP, "job/algo-1-1").upload_sequence == 1


def test_lines_are_flushed_while_running(logs: SqlLogStore) -> None:
    writer = JobLogWriter(logs, flush_interval=0.01)
    writer.open_stream("s")
    writer.write("s", "live", 1.0)
    eventually(lambda: messages(logs, "s") == ["live"])
    writer.close()


def test_a_failing_log_store_does_not_raise(logs: SqlLogStore) -> None:
    class Broken:
        def ensure_log_stream(self, group: str, stream: str) -> None:
            pass

        def put_log_events(self, group: str, stream: str, events: Sequence[LogEvent]) -> None:
            raise RuntimeError("disk full")

    writer = JobLogWriter(Broken(), flush_interval=3600)
    writer.open_stream("s")
    writer.write("s", "lost", 1.0)
    writer.close()
