"""``SqlMetricStore``: metrics and their per-second datapoints as rows in the metadata database.

Writes are one transaction: metrics not seen before are inserted with "on conflict do nothing" (so two
writers creating the same metric never fail), then one datapoint row per metric, unit and second. Metric
ids are cached, so the usual write is a single multi-row insert. ``record`` buffers in memory and writes
when its oldest sample is ``flush_interval`` old, from the thread that notices; readers flush first so
what was recorded is always visible.

Statistics without percentiles are aggregated by SQL (GROUP BY period); percentiles need the values'
distributions, which are merged per period in Python.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Table, exists, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from sageforge.store.metrics.aggregation import Aggregate, decode_distribution, encode_distribution
from sageforge.store.metrics.base import (
    DimensionFilter,
    Dimensions,
    Metric,
    MetricDatum,
    MetricPage,
    PeriodStatistics,
    StatisticSet,
    dimensions_of,
)
from sageforge.store.metrics.schema import metric_datapoints, metric_dimensions, metrics

log = logging.getLogger(__name__)

# One buffered aggregate: metric, unit and whole second.
_Key = tuple[Metric, str, int]
_Buffer = dict[_Key, Aggregate]

# Metric ids kept in memory; far more distinct metrics than any deployment records, so clearing it when
# full only bounds memory against a client that invents dimensions without end.
_ID_CACHE_LIMIT = 100_000


class SqlMetricStore:
    """Implements ``MetricStore`` on a SQLAlchemy engine whose schema is migrated (``open_database``)."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time, flush_interval: float = 1.0) -> None:
        self._engine = engine
        self._clock = clock
        self._flush_interval = flush_interval
        self._lock = threading.Lock()
        self._pending: _Buffer = {}
        self._pending_since = 0.0
        self._ids: dict[Metric, int] = {}

    # -- writes -----------------------------------------------------------------------------------------

    def record(
        self,
        namespace: str,
        dimensions: Mapping[str, str],
        samples: Iterable[tuple[str, float, str]],
        timestamp: float | None = None,
    ) -> None:
        now = self._clock()
        second = math.floor(now if timestamp is None else timestamp)
        canonical = dimensions_of(dimensions)
        due: _Buffer | None = None
        with self._lock:
            if not self._pending:
                self._pending_since = now
            for name, value, unit in samples:
                if not math.isfinite(value):
                    # A NaN would poison the period's sum (and SQLite stores it as NULL, failing the batch).
                    log.warning("ignored non-finite %s sample %s of %s", namespace, value, name)
                    continue
                key = (Metric(namespace, name, canonical), unit, second)
                aggregate = self._pending.get(key)
                if aggregate is None:
                    aggregate = self._pending[key] = Aggregate()
                aggregate.add(value)
            if now - self._pending_since >= self._flush_interval:
                due, self._pending = self._pending, {}
        if due:
            try:
                self._write(due)
            except Exception:
                # Metrics must never fail the request that records them; the loss is logged.
                log.exception("dropped %d buffered metric aggregates", len(due))

    def put(self, data: Sequence[MetricDatum]) -> None:
        buffer: _Buffer = {}
        for datum in data:
            # Values counted zero times were not observed: they must not move the minimum or maximum.
            values = [(value, count) for value, count in datum.values if count > 0]
            if datum.statistics is None and not values:
                continue
            key = (datum.metric, datum.unit, math.floor(datum.timestamp))
            aggregate = buffer.get(key)
            if aggregate is None:
                aggregate = buffer[key] = Aggregate()
            if datum.statistics is not None:
                aggregate.add_statistics(datum.statistics)
            for value, count in values:
                aggregate.add(value, count)
        self._write(buffer)

    def flush(self) -> None:
        with self._lock:
            due, self._pending = self._pending, {}
        self._write(due)

    def _write(self, buffer: _Buffer) -> None:
        if not buffer:
            return
        with self._engine.begin() as connection:
            ids, created = self._metric_ids(connection, {metric for metric, _, _ in buffer})
            rows = [
                {
                    "metric_id": ids[metric],
                    "timestamp": second,
                    "unit": unit,
                    "sample_count": aggregate.sample_count,
                    "sum": aggregate.sum,
                    "minimum": aggregate.minimum,
                    "maximum": aggregate.maximum,
                    "distribution": encode_distribution(aggregate.distribution),
                }
                for (metric, unit, second), aggregate in buffer.items()
            ]
            connection.execute(insert(metric_datapoints), rows)
        # Cached only once committed: a rolled-back transaction must not leave ids of metrics that do not exist.
        with self._lock:
            if len(self._ids) + len(created) > _ID_CACHE_LIMIT:
                self._ids.clear()
            self._ids.update(created)

    def _metric_ids(self, connection: Connection, wanted: set[Metric]) -> tuple[dict[Metric, int], dict[Metric, int]]:
        """The ids of ``wanted`` metrics, and those of them that were not cached (created here or by another writer)."""
        with self._lock:
            ids = {metric: self._ids[metric] for metric in wanted if metric in self._ids}
        # Sorted, so metrics first written together are listed in a stable order.
        missing = {_key(metric): metric for metric in sorted(wanted - ids.keys(), key=_sort_key)}
        if not missing:
            return ids, {}
        _insert_ignoring_conflicts(
            connection,
            metrics,
            [
                {"key": key, "namespace": m.namespace, "name": m.name, "dimensions": json.dumps(m.dimensions)}
                for key, m in missing.items()
            ],
        )
        found = dict(
            connection.execute(select(metrics.c.key, metrics.c.id).where(metrics.c.key.in_(list(missing)))).all()
        )
        dimension_rows = [
            {"metric_id": found[key], "name": name, "value": value}
            for key, metric in missing.items()
            for name, value in metric.dimensions
        ]
        if dimension_rows:
            _insert_ignoring_conflicts(connection, metric_dimensions, dimension_rows)
        new = {metric: found[key] for key, metric in missing.items()}
        return ids | new, new

    # -- reads ------------------------------------------------------------------------------------------

    def list_metrics(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        dimensions: Sequence[DimensionFilter] = (),
        active_since: int | None = None,
        after: int | None = None,
        limit: int = 500,
    ) -> MetricPage:
        self.flush()
        c = metrics.c
        conditions: list[ColumnElement[bool]] = []
        if namespace is not None:
            conditions.append(c.namespace == namespace)
        if name is not None:
            conditions.append(c.name == name)
        for wanted in dimensions:
            having = select(metric_dimensions.c.metric_id).where(metric_dimensions.c.name == wanted.name)
            if wanted.value is not None:
                having = having.where(metric_dimensions.c.value == wanted.value)
            conditions.append(c.id.in_(having))
        if active_since is not None:
            conditions.append(
                exists().where(metric_datapoints.c.metric_id == c.id, metric_datapoints.c.timestamp >= active_since)
            )
        if after is not None:
            conditions.append(c.id > after)
        statement = select(c.id, c.namespace, c.name, c.dimensions).where(*conditions).order_by(c.id).limit(limit + 1)
        with self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        found = [Metric(row.namespace, row.name, _dimensions(row.dimensions)) for row in rows[:limit]]
        return MetricPage(found, rows[limit - 1].id if len(rows) > limit else None)

    def statistics(
        self,
        metric: Metric,
        *,
        start: int,
        end: int,
        period: int,
        unit: str | None = None,
        percentiles: Sequence[float] = (),
        by_unit: bool = True,
    ) -> list[PeriodStatistics]:
        self.flush()
        d = metric_datapoints.c
        bucket = (d.timestamp - (d.timestamp - start) % period).label("bucket")
        conditions = [d.timestamp >= start, d.timestamp < end]
        if unit is not None:
            conditions.append(d.unit == unit)
        with self._engine.connect() as connection:
            metric_id = connection.execute(select(metrics.c.id).where(metrics.c.key == _key(metric))).scalar()
            if metric_id is None:
                return []
            conditions.append(d.metric_id == metric_id)
            if percentiles:
                rows = connection.execute(
                    select(bucket, d.unit, d.sample_count, d.sum, d.minimum, d.maximum, d.distribution)
                    .where(*conditions)
                    .order_by(bucket)
                ).all()
                return _merged(rows, percentiles, by_unit)
            grouped = [bucket, d.unit] if by_unit else [bucket]
            summary = connection.execute(
                select(
                    *grouped,
                    func.sum(d.sample_count).label("sample_count"),
                    func.sum(d.sum).label("sum"),
                    func.min(d.minimum).label("minimum"),
                    func.max(d.maximum).label("maximum"),
                    # Equal when the period holds one unit; always so when grouped by unit.
                    func.min(d.unit).label("first_unit"),
                    func.max(d.unit).label("last_unit"),
                )
                .where(*conditions)
                .group_by(*grouped)
                .order_by(*grouped)
            ).all()
        return [
            PeriodStatistics(
                timestamp=int(row.bucket),
                unit=row.first_unit if row.first_unit == row.last_unit else None,
                sample_count=row.sample_count,
                sum=row.sum,
                minimum=row.minimum,
                maximum=row.maximum,
            )
            for row in summary
        ]


def _merged(rows: Sequence[Any], percentiles: Sequence[float], by_unit: bool) -> list[PeriodStatistics]:
    periods: dict[tuple[int, str | None], tuple[Aggregate, set[str]]] = {}
    for row in rows:
        aggregate, units = periods.setdefault((int(row.bucket), row.unit if by_unit else None), (Aggregate(), set()))
        aggregate.add_statistics(
            StatisticSet(row.sample_count, row.sum, row.minimum, row.maximum), decode_distribution(row.distribution)
        )
        units.add(row.unit)
    return [
        PeriodStatistics(
            timestamp=timestamp,
            unit=next(iter(units)) if len(units) == 1 else None,
            sample_count=aggregate.sample_count,
            sum=aggregate.sum,
            minimum=aggregate.minimum,
            maximum=aggregate.maximum,
            percentiles=aggregate.percentiles(percentiles),
        )
        for (timestamp, _), (aggregate, units) in sorted(
            periods.items(), key=lambda item: (item[0][0], item[0][1] or "")
        )
    ]


def _insert_ignoring_conflicts(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows that violate no unique constraint (the metadata database is SQLite or PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        connection.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    else:
        connection.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)


def _key(metric: Metric) -> str:
    identity = json.dumps([metric.namespace, metric.name, metric.dimensions], separators=(",", ":"))
    return hashlib.sha256(identity.encode()).hexdigest()


def _sort_key(metric: Metric) -> tuple[str, str, Dimensions]:
    return metric.namespace, metric.name, metric.dimensions


def _dimensions(text: str) -> Dimensions:
    return tuple((name, value) for name, value in json.loads(text))
