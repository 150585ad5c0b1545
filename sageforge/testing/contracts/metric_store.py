"""The contract every ``MetricStore`` implementation passes.

Use it by subclassing in a test module and providing a ``store`` fixture that returns an empty store::

    class TestMyMetricStore(MetricStoreContract):
        @pytest.fixture
        def store(self, tmp_path: Path) -> MetricStore:
            return MyMetricStore(tmp_path)
"""

from __future__ import annotations

import math
import threading

import pytest

from sageforge.store.metrics.base import (
    DimensionFilter,
    Metric,
    MetricDatum,
    MetricStore,
    PeriodStatistics,
    Sample,
    StatisticSet,
    dimensions_of,
)

T0 = 1_700_000_040  # a whole minute
ENDPOINT = {"EndpointName": "ep", "VariantName": "AllTraffic"}
LATENCY = Metric("AWS/SageMaker", "ModelLatency", dimensions_of(ENDPOINT))


def _value(metric: Metric, timestamp: float, value: float, unit: str = "None", count: float = 1) -> MetricDatum:
    return MetricDatum(metric, timestamp, unit, values=((value, count),))


def _summary(periods: list[PeriodStatistics]) -> list[tuple[int, float, float, float, float]]:
    return [(p.timestamp, p.sample_count, p.sum, p.minimum, p.maximum) for p in periods]


class MetricStoreContract:
    @pytest.fixture
    def store(self) -> MetricStore:
        raise NotImplementedError("provide a `store` fixture returning an empty store")

    # -- statistics -------------------------------------------------------------------------------------

    def test_datapoints_aggregate_into_periods_from_start(self, store: MetricStore) -> None:
        store.put([_value(LATENCY, T0 + offset, value) for offset, value in [(0, 1), (5, 3), (59.9, 8), (60, 10)]])
        store.put([_value(LATENCY, T0 + 150, 20), _value(LATENCY, T0 + 180, 99)])
        periods = store.statistics(LATENCY, start=T0, end=T0 + 180, period=60)
        assert _summary(periods) == [(T0, 3, 12, 1, 8), (T0 + 60, 1, 10, 10, 10), (T0 + 120, 1, 20, 20, 20)]
        assert periods[0].average == 4 and periods[0].unit == "None"
        # Periods count from ``start``; the end is exclusive.
        shifted = store.statistics(LATENCY, start=T0 + 30, end=T0 + 90, period=30)
        assert _summary(shifted) == [(T0 + 30, 1, 8, 8, 8), (T0 + 60, 1, 10, 10, 10)]

    def test_statistic_sets_and_weighted_values(self, store: MetricStore) -> None:
        store.put(
            [
                MetricDatum(LATENCY, T0, "Microseconds", statistics=StatisticSet(4, 100, 10, 40)),
                MetricDatum(LATENCY, T0 + 1, "Microseconds", values=((5, 2), (50, 0.5), (1, 0))),
                MetricDatum(LATENCY, T0 + 2, "Microseconds", values=((0.5, 0),)),  # nothing observed
            ]
        )
        (period,) = store.statistics(LATENCY, start=T0, end=T0 + 60, period=60)
        assert (period.sample_count, period.sum, period.minimum, period.maximum) == (6.5, 135, 5, 50)
        assert period.unit == "Microseconds"

    def test_each_dimension_set_is_its_own_metric(self, store: MetricStore) -> None:
        other = Metric("AWS/SageMaker", "ModelLatency", dimensions_of({"EndpointName": "ep"}))
        store.put([_value(LATENCY, T0, 1), _value(other, T0, 100)])
        reordered = Metric(
            LATENCY.namespace, LATENCY.name, dimensions_of([("VariantName", "AllTraffic"), ("EndpointName", "ep")])
        )
        assert _summary(store.statistics(reordered, start=T0, end=T0 + 60, period=60)) == [(T0, 1, 1, 1, 1)]
        assert _summary(store.statistics(other, start=T0, end=T0 + 60, period=60)) == [(T0, 1, 100, 100, 100)]
        unknown = Metric("AWS/SageMaker", "ModelLatency", dimensions_of({"EndpointName": "nope"}))
        assert store.statistics(unknown, start=T0, end=T0 + 60, period=60) == []

    def test_units_are_separate_unless_merged(self, store: MetricStore) -> None:
        store.put([_value(LATENCY, T0, 1, "Milliseconds"), _value(LATENCY, T0 + 1, 1000, "Microseconds")])
        by_unit = store.statistics(LATENCY, start=T0, end=T0 + 60, period=60)
        assert [(p.unit, p.sum) for p in by_unit] == [("Microseconds", 1000), ("Milliseconds", 1)]
        (merged,) = store.statistics(LATENCY, start=T0, end=T0 + 60, period=60, by_unit=False)
        assert (merged.unit, merged.sample_count, merged.sum) == (None, 2, 1001)
        (only,) = store.statistics(LATENCY, start=T0, end=T0 + 60, period=60, unit="Milliseconds", by_unit=False)
        assert (only.unit, only.sum) == ("Milliseconds", 1)
        assert store.statistics(LATENCY, start=T0, end=T0 + 60, period=60, unit="Seconds") == []

    def test_percentiles_from_known_values(self, store: MetricStore) -> None:
        store.put([_value(LATENCY, T0 + i % 60, float(i)) for i in range(1, 101)])
        store.put([MetricDatum(LATENCY, T0 + 60, values=((7, 3), (9, 1)))])
        first, second = store.statistics(LATENCY, start=T0, end=T0 + 120, period=60, percentiles=[0, 50, 90, 99.5, 100])
        assert first.percentiles == {0: 1, 50: 50, 90: 90, 99.5: 100, 100: 100}
        assert second.percentiles == {0: 7, 50: 7, 90: 9, 99.5: 9, 100: 9}
        assert (first.sample_count, first.sum) == (100, 5050)

    def test_percentiles_need_every_value_and_no_negatives(self, store: MetricStore) -> None:
        store.put(
            [
                MetricDatum(LATENCY, T0, statistics=StatisticSet(3, 30, 5, 15)),
                _value(LATENCY, T0 + 1, 7),
                MetricDatum(LATENCY, T0 + 60, statistics=StatisticSet(4, 20, 5, 5)),
                _value(LATENCY, T0 + 120, -1),
                _value(LATENCY, T0 + 121, 4),
            ]
        )
        periods = store.statistics(LATENCY, start=T0, end=T0 + 180, period=60, percentiles=[50])
        assert [p.percentiles for p in periods] == [{}, {50: 5}, {}]
        assert [p.sample_count for p in periods] == [4, 4, 2]

    def test_many_distinct_values_keep_percentiles_close(self, store: MetricStore) -> None:
        values = [1000 + i * 7.31 for i in range(5000)]
        store.put([MetricDatum(LATENCY, T0, values=tuple((v, 1.0) for v in values))])
        (period,) = store.statistics(LATENCY, start=T0, end=T0 + 1, period=1, percentiles=[50, 99])
        exact = {50: values[2499], 99: values[4949]}
        for q, value in exact.items():
            assert abs(period.percentiles[q] - value) / value < 0.005
        assert period.sum == pytest.approx(sum(values)) and period.maximum == values[-1]

    # -- record -----------------------------------------------------------------------------------------

    def test_recorded_samples_are_visible_to_readers(self, store: MetricStore) -> None:
        for latency in (100, 200, 300):
            store.record(
                "AWS/SageMaker",
                ENDPOINT,
                [Sample("Invocations", 1), Sample("ModelLatency", latency, "Microseconds")],
                timestamp=T0 + 0.5,
            )
        store.record("AWS/SageMaker", ENDPOINT, [("ModelLatency", 400, "Microseconds")], timestamp=T0 + 61)
        store.record("AWS/SageMaker", ENDPOINT, [("ModelLatency", math.nan, "Microseconds")], timestamp=T0 + 62)
        periods = store.statistics(LATENCY, start=T0, end=T0 + 120, period=60, percentiles=[50])
        assert [(p.unit, p.sample_count, p.sum, p.percentiles[50]) for p in periods] == [
            ("Microseconds", 3, 600, 200),
            ("Microseconds", 1, 400, 400),
        ]
        invocations = Metric("AWS/SageMaker", "Invocations", LATENCY.dimensions)
        assert _summary(store.statistics(invocations, start=T0, end=T0 + 60, period=60)) == [(T0, 3, 3, 1, 1)]
        store.flush()
        store.flush()  # nothing left: a no-op

    def test_concurrent_recorders_lose_nothing(self, store: MetricStore) -> None:
        def invoke(thread: int) -> None:
            for i in range(250):
                store.record("Load", {"Thread": "all"}, [("Requests", 1, "Count"), ("Index", i, "None")], T0 + i % 3)

        threads = [threading.Thread(target=invoke, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        requests = Metric("Load", "Requests", dimensions_of({"Thread": "all"}))
        (period,) = store.statistics(requests, start=T0, end=T0 + 60, period=60)
        assert (period.sample_count, period.sum, period.unit) == (1000, 1000, "Count")

    # -- listing ----------------------------------------------------------------------------------------

    def test_metrics_are_listed_by_namespace_name_and_dimensions(self, store: MetricStore) -> None:
        a = Metric("App", "Latency", dimensions_of({"Host": "a", "Api": "get"}))
        b = Metric("App", "Latency", dimensions_of({"Host": "b"}))
        c = Metric("App", "Errors", dimensions_of({"Host": "a"}))
        d = Metric("Other", "Latency")
        for metric in (a, b, c, d):
            store.put([_value(metric, T0, 1)])
        store.put([_value(a, T0 + 5, 2)])  # a second datapoint does not list the metric twice

        def listed(**filters: object) -> list[Metric]:
            return store.list_metrics(**filters).metrics  # type: ignore[arg-type]

        assert listed() == [a, b, c, d]
        assert listed(namespace="App") == [a, b, c]
        assert listed(name="Latency") == [a, b, d]
        assert listed(namespace="App", name="Latency", dimensions=[DimensionFilter("Host")]) == [a, b]
        assert listed(dimensions=[DimensionFilter("Host", "a")]) == [a, c]
        assert listed(dimensions=[DimensionFilter("Host", "a"), DimensionFilter("Api")]) == [a]
        assert listed(dimensions=[DimensionFilter("Host", "c")]) == []
        assert listed(namespace="Nope") == []

    def test_metrics_list_in_pages_and_by_activity(self, store: MetricStore) -> None:
        created = [Metric("Paged", f"m{i}") for i in range(7)]
        store.put([_value(metric, T0 + i * 100, 1) for i, metric in enumerate(created)])
        seen: list[Metric] = []
        after: int | None = None
        while True:
            page = store.list_metrics(namespace="Paged", after=after, limit=3)
            seen += page.metrics
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == created
        assert store.list_metrics(namespace="Paged", limit=7).next_after is None
        assert store.list_metrics(active_since=T0 + 500).metrics == created[5:]
