"""``SqlMetricStore`` against the metric-store contract, on migrated SQLite and PostgreSQL databases, plus what only the
SQL store promises: recorded samples become one row per metric, unit and second, written when due."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from sageforge.store.metadata.database import open_database
from sageforge.store.metrics.base import Metric, MetricStore, dimensions_of
from sageforge.store.metrics.schema import metric_datapoints
from sageforge.store.metrics.sql import SqlMetricStore
from sageforge.testing.contracts.metric_store import ENDPOINT, T0, MetricStoreContract


class TestSqlMetricStore(MetricStoreContract):
    @pytest.fixture
    def store(self, database_url: str) -> Iterator[MetricStore]:
        engine = open_database(database_url)
        yield SqlMetricStore(engine)
        engine.dispose()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(metric_datapoints)).scalar_one())


def _invoke(store: SqlMetricStore, latency: float) -> None:
    store.record(
        "AWS/SageMaker",
        ENDPOINT,
        [
            ("Invocations", 1, "None"),
            ("ModelLatency", latency, "Microseconds"),
            ("OverheadLatency", 20, "Microseconds"),
        ],
    )


def test_recorded_samples_are_written_once_due_as_one_row_per_metric_and_second(engine: Engine) -> None:
    clock = Clock(T0)
    store = SqlMetricStore(engine, clock=clock, flush_interval=1.0)
    for i in range(1000):
        clock.now = T0 + i / 1000
        _invoke(store, 100 + i)
    assert _rows(engine) == 0  # still buffered: the first sample is not a second old yet
    clock.now = T0 + 1.0
    _invoke(store, 5000)
    assert _rows(engine) == 6  # three metrics, two seconds
    latency = Metric("AWS/SageMaker", "ModelLatency", dimensions_of(ENDPOINT))
    (period,) = store.statistics(latency, start=T0, end=T0 + 60, period=60, percentiles=[50])
    assert (period.sample_count, period.minimum, period.maximum, period.percentiles[50]) == (1001, 100, 5000, 600)


def test_a_failed_write_is_dropped_without_failing_the_recorder(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(T0)
    store = SqlMetricStore(engine, clock=clock, flush_interval=0.0)
    with engine.begin() as connection:
        metric_datapoints.drop(connection)
    _invoke(store, 1)
    assert "dropped 3 buffered metric aggregates" in caplog.text
