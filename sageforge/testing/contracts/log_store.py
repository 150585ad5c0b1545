"""The contract every ``QueryableLogStore`` implementation passes.

Use it by subclassing in a test module and providing a ``store`` fixture that returns an empty store::

    class TestMyLogStore(LogStoreContract):
        @pytest.fixture
        def store(self, tmp_path: Path) -> QueryableLogStore:
            return MyLogStore(tmp_path)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from sageforge.store.logs.base import (
    EventPosition,
    LogEvent,
    LogGroupExists,
    LogStreamExists,
    NoSuchLogGroup,
    NoSuchLogStream,
    QueryableLogStore,
    StoredLogEvent,
    StreamCursor,
)
from sageforge.store.logs.patterns import FilterPattern

GROUP = "/aws/sagemaker/TrainingJobs"


def _messages(events: Sequence[StoredLogEvent]) -> list[str]:
    return [event.message for event in events]


class LogStoreContract:
    @pytest.fixture
    def store(self) -> QueryableLogStore:
        raise NotImplementedError("provide a `store` fixture returning an empty store")

    @pytest.fixture
    def stream(self, store: QueryableLogStore) -> str:
        store.ensure_log_stream(GROUP, "job/algo-1-1700000000")
        return "job/algo-1-1700000000"

    # -- groups -----------------------------------------------------------------------------------------

    def test_log_groups_are_created_listed_and_deleted(self, store: QueryableLogStore) -> None:
        before = int(time.time() * 1000)
        created = store.create_log_group("/a/one", log_group_class="INFREQUENT_ACCESS", kms_key_id="key")
        assert created.creation_time >= before
        store.create_log_group("/a/two")
        store.create_log_group("/b/three")
        with pytest.raises(LogGroupExists):
            store.create_log_group("/a/one")
        assert [g.name for g in store.describe_log_groups().items] == ["/a/one", "/a/two", "/b/three"]
        page = store.describe_log_groups(prefix="/a/")
        assert [g.name for g in page.items] == ["/a/one", "/a/two"] and not page.more
        assert page.items[0] == created
        assert [g.name for g in store.describe_log_groups(contains="THR").items] == ["/b/three"]
        store.delete_log_group("/a/one")
        with pytest.raises(NoSuchLogGroup):
            store.delete_log_group("/a/one")
        assert [g.name for g in store.describe_log_groups().items] == ["/a/two", "/b/three"]

    def test_log_groups_page_by_name(self, store: QueryableLogStore) -> None:
        names = [f"/g/{i:02d}" for i in range(7)]
        for name in reversed(names):
            store.create_log_group(name)
        seen: list[str] = []
        after: str | None = None
        while True:
            page = store.describe_log_groups(after=after, limit=3)
            seen += [g.name for g in page.items]
            if not page.more:
                break
            after = page.items[-1].name
        assert seen == names

    def test_prefixes_are_literal(self, store: QueryableLogStore) -> None:
        store.create_log_group("/a_b")
        store.create_log_group("/axb")
        store.create_log_group("/a%c")
        assert [g.name for g in store.describe_log_groups(prefix="/a_").items] == ["/a_b"]
        assert [g.name for g in store.describe_log_groups(prefix="/a%").items] == ["/a%c"]

    def test_deleting_a_group_deletes_its_streams_and_events(self, store: QueryableLogStore, stream: str) -> None:
        store.put_log_events(GROUP, stream, [LogEvent(1, "x")])
        store.delete_log_group(GROUP)
        store.create_log_group(GROUP)
        assert store.describe_log_streams(GROUP).items == []
        with pytest.raises(NoSuchLogStream):
            store.get_log_events(GROUP, stream)

    def test_group_bytes_sum_its_streams(self, store: QueryableLogStore, stream: str) -> None:
        store.ensure_log_stream(GROUP, "other")
        store.put_log_events(GROUP, stream, [LogEvent(1, "héllo")])
        store.put_log_events(GROUP, "other", [LogEvent(1, "abc")])
        assert store.describe_log_groups(prefix=GROUP).items[0].stored_bytes == 9

    # -- streams ----------------------------------------------------------------------------------------

    def test_streams_need_their_group_and_unique_names(self, store: QueryableLogStore) -> None:
        with pytest.raises(NoSuchLogGroup):
            store.create_log_stream("/missing", "s")
        store.create_log_group("/g")
        created = store.create_log_stream("/g", "s")
        assert (created.group, created.name, created.stored_bytes, created.last_event_timestamp) == ("/g", "s", 0, None)
        with pytest.raises(LogStreamExists):
            store.create_log_stream("/g", "s")
        assert store.describe_log_stream("/g", "s") == created
        store.delete_log_stream("/g", "s")
        with pytest.raises(NoSuchLogStream):
            store.describe_log_stream("/g", "s")
        with pytest.raises(NoSuchLogStream):
            store.delete_log_stream("/g", "s")

    def test_ensure_log_stream_is_idempotent(self, store: QueryableLogStore) -> None:
        store.ensure_log_stream("/new/group", "s")
        store.ensure_log_stream("/new/group", "s")
        store.ensure_log_stream("/new/group", "t")
        assert [s.name for s in store.describe_log_streams("/new/group").items] == ["s", "t"]

    def test_streams_list_by_name_prefix_and_page(self, store: QueryableLogStore) -> None:
        for name in ["job-b/algo-1", "job-a/algo-2", "job-a/algo-1", "job-a/algo-3", "job-ab/algo-1"]:
            store.ensure_log_stream(GROUP, name)
        listed = store.describe_log_streams(GROUP, prefix="job-a/")
        assert [s.name for s in listed.items] == ["job-a/algo-1", "job-a/algo-2", "job-a/algo-3"]
        assert not listed.more
        descending = store.describe_log_streams(GROUP, descending=True, limit=2)
        assert [s.name for s in descending.items] == ["job-b/algo-1", "job-ab/algo-1"] and descending.more
        rest = store.describe_log_streams(GROUP, descending=True, after=StreamCursor(descending.items[-1].name))
        assert [s.name for s in rest.items] == ["job-a/algo-3", "job-a/algo-2", "job-a/algo-1"] and not rest.more
        with pytest.raises(NoSuchLogGroup):
            store.describe_log_streams("/missing")

    def test_streams_list_by_last_event_time(self, store: QueryableLogStore) -> None:
        for name, timestamp in [("a", 300), ("b", 100), ("c", 200), ("d", 100)]:
            store.ensure_log_stream(GROUP, name)
            store.put_log_events(GROUP, name, [LogEvent(timestamp, name)])
        store.ensure_log_stream(GROUP, "empty")
        newest_first = store.describe_log_streams(GROUP, order_by="LastEventTime", descending=True, limit=2)
        assert [s.name for s in newest_first.items] == ["a", "c"] and newest_first.more
        last = newest_first.items[-1]
        cursor = StreamCursor(last.name, last.last_event_timestamp or 0)
        rest = store.describe_log_streams(GROUP, order_by="LastEventTime", descending=True, after=cursor)
        assert [s.name for s in rest.items] == ["d", "b", "empty"]

    def test_writes_maintain_the_stream_summary(self, store: QueryableLogStore, stream: str) -> None:
        before = int(time.time() * 1000)
        store.put_log_events(GROUP, stream, [LogEvent(500, "héllo"), LogEvent(700, "b")])
        store.put_log_events(GROUP, stream, [LogEvent(100, "c")])
        summary = store.describe_log_stream(GROUP, stream)
        assert (summary.first_event_timestamp, summary.last_event_timestamp) == (100, 700)
        assert summary.last_ingestion_time is not None and summary.last_ingestion_time >= before
        assert summary.stored_bytes == len("héllo".encode()) + 2
        assert summary.upload_sequence == 2

    def test_writes_need_the_stream(self, store: QueryableLogStore) -> None:
        with pytest.raises(NoSuchLogGroup):
            store.put_log_events("/missing", "s", [LogEvent(1, "x")])
        store.create_log_group("/g")
        with pytest.raises(NoSuchLogStream):
            store.put_log_events("/g", "s", [LogEvent(1, "x")])

    def test_concurrent_writers_lose_nothing(self, store: QueryableLogStore) -> None:
        def write(worker: int) -> None:
            store.ensure_log_stream(GROUP, "shared")
            for batch in range(5):
                store.put_log_events(GROUP, "shared", [LogEvent(batch, f"{worker}-{batch}-{i}") for i in range(20)])

        threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        events = store.get_log_events(GROUP, "shared")
        assert sorted(_messages(events)) == sorted(
            f"{w}-{b}-{i}" for w in range(4) for b in range(5) for i in range(20)
        )
        assert store.describe_log_stream(GROUP, "shared").upload_sequence == 20

    # -- reading one stream -----------------------------------------------------------------------------

    def test_events_read_in_timestamp_then_arrival_order(self, store: QueryableLogStore, stream: str) -> None:
        store.put_log_events(GROUP, stream, [LogEvent(20, "b1"), LogEvent(20, "b2"), LogEvent(30, "c")])
        store.put_log_events(GROUP, stream, [LogEvent(10, "a"), LogEvent(20, "b3")])
        events = store.get_log_events(GROUP, stream)
        assert _messages(events) == ["a", "b1", "b2", "b3", "c"]
        assert all(e.stream == stream and e.ingestion_time > 0 for e in events)
        assert len({e.sequence for e in events}) == 5

    def test_head_tail_and_positions(self, store: QueryableLogStore, stream: str) -> None:
        store.put_log_events(GROUP, stream, [LogEvent(t, f"m{t}") for t in range(10)])
        head = store.get_log_events(GROUP, stream, limit=3)
        assert _messages(head) == ["m0", "m1", "m2"]
        tail = store.get_log_events(GROUP, stream, from_head=False, limit=3)
        assert _messages(tail) == ["m7", "m8", "m9"]
        after = store.get_log_events(GROUP, stream, after=head[-1].position, limit=2)
        assert _messages(after) == ["m3", "m4"]
        before = store.get_log_events(GROUP, stream, before=tail[0].position, from_head=False, limit=2)
        assert _messages(before) == ["m5", "m6"]
        assert store.get_log_events(GROUP, stream, after=tail[-1].position) == []
        assert store.get_log_events(GROUP, stream, after=EventPosition(-1, 0), limit=1)[0].message == "m0"

    def test_time_window_includes_start_and_excludes_end(self, store: QueryableLogStore, stream: str) -> None:
        store.put_log_events(GROUP, stream, [LogEvent(t, f"m{t}") for t in range(10)])
        window = store.get_log_events(GROUP, stream, start_time=3, end_time=6)
        assert _messages(window) == ["m3", "m4", "m5"]
        tail = store.get_log_events(GROUP, stream, start_time=3, end_time=6, from_head=False, limit=2)
        assert _messages(tail) == ["m4", "m5"]

    def test_pages_stop_at_the_byte_limit_but_hold_one_event(self, store: QueryableLogStore, stream: str) -> None:
        store.put_log_events(GROUP, stream, [LogEvent(t, "x" * 100) for t in range(5)])
        assert len(store.get_log_events(GROUP, stream, max_bytes=3 * 126)) == 3
        assert len(store.get_log_events(GROUP, stream, max_bytes=10)) == 1
        tail = store.get_log_events(GROUP, stream, from_head=False, max_bytes=2 * 126)
        assert [e.timestamp for e in tail] == [3, 4]

    def test_reads_need_the_stream(self, store: QueryableLogStore) -> None:
        with pytest.raises(NoSuchLogGroup):
            store.get_log_events("/missing", "s")
        store.create_log_group("/g")
        with pytest.raises(NoSuchLogStream):
            store.get_log_events("/g", "s")

    # -- searching a group ------------------------------------------------------------------------------

    @pytest.fixture
    def endpoint_group(self, store: QueryableLogStore) -> str:
        group = "/aws/sagemaker/Endpoints/ep"
        lines = {
            "AllTraffic/i-1": [(10, "INFO starting"), (30, "ERROR connection reset by peer"), (50, "WARN slow")],
            "AllTraffic/i-2": [(20, "error lower case"), (40, "ERROR Exception: boom"), (60, "INFO done")],
            "Other/i-3": [(25, "ERROR elsewhere")],
        }
        for stream, events in lines.items():
            store.ensure_log_stream(group, stream)
            store.put_log_events(group, stream, [LogEvent(t, m) for t, m in events])
        return group

    def _filter(self, store: QueryableLogStore, group: str, pattern: str) -> list[str]:
        result = store.filter_log_events(group, pattern=FilterPattern.parse(pattern))
        return _messages(result.events)

    def test_filter_interleaves_streams_by_time(self, store: QueryableLogStore, endpoint_group: str) -> None:
        result = store.filter_log_events(endpoint_group, stream_prefix="AllTraffic/")
        assert [e.timestamp for e in result.events] == [10, 20, 30, 40, 50, 60]
        assert result.events[1].stream == "AllTraffic/i-2"
        assert result.searched_streams == ["AllTraffic/i-1", "AllTraffic/i-2"]
        assert result.resume_after is None
        named = store.filter_log_events(endpoint_group, stream_names=["Other/i-3", "AllTraffic/i-1"])
        assert [e.timestamp for e in named.events] == [10, 25, 30, 50]
        assert [e.timestamp for e in store.filter_log_events(endpoint_group, start_time=25, end_time=50).events] == [
            25,
            30,
            40,
        ]

    def test_filter_patterns(self, store: QueryableLogStore, endpoint_group: str) -> None:
        assert self._filter(store, endpoint_group, "ERROR") == [
            "ERROR elsewhere",
            "ERROR connection reset by peer",
            "ERROR Exception: boom",
        ]
        assert self._filter(store, endpoint_group, "ERROR Exception") == ["ERROR Exception: boom"]
        assert self._filter(store, endpoint_group, '"reset by peer"') == ["ERROR connection reset by peer"]
        assert self._filter(store, endpoint_group, "?WARN ?error") == ["error lower case", "WARN slow"]
        assert self._filter(store, endpoint_group, "ERROR -Exception -elsewhere") == ["ERROR connection reset by peer"]
        assert self._filter(store, endpoint_group, "%^INFO (starting|done)$%") == ["INFO starting", "INFO done"]
        assert self._filter(store, endpoint_group, "") == self._filter(store, endpoint_group, "  ")
        assert len(self._filter(store, endpoint_group, "")) == 7

    def test_filter_pages_return_every_match_once(self, store: QueryableLogStore, endpoint_group: str) -> None:
        seen: list[int] = []
        after: EventPosition | None = None
        while True:
            page = store.filter_log_events(endpoint_group, pattern=FilterPattern.parse("-WARN"), after=after, limit=2)
            assert len(page.events) <= 2
            seen += [e.timestamp for e in page.events]
            if page.resume_after is None:
                break
            after = page.resume_after
        assert seen == [10, 20, 25, 30, 40, 60]

    def test_filter_needs_the_group(self, store: QueryableLogStore) -> None:
        with pytest.raises(NoSuchLogGroup):
            store.filter_log_events("/missing")
