"""The metric-store interface the CloudWatch API and the serving data plane share.

A metric is a namespace, a name and a set of dimensions (name -> value); each distinct set is its own metric,
as in CloudWatch. Datapoints are kept per whole second (CloudWatch's finest resolution) as statistic sets
(sample count, sum, minimum, maximum) with the distribution of the values beside them where it is known, so
percentiles can be answered. Times are epoch seconds.

Two ways in:

* ``record`` is the hot path for the data plane: it aggregates in memory per metric, unit and second and
  writes at most about once per ``flush_interval`` (one transaction), so 1,000 invocations a second cost a
  handful of rows a second, not thousands. Buffered samples are written before any read and by ``flush``.
  Endpoint invocations are recorded with one call per request::

      metrics.record(
          "AWS/SageMaker",
          {"EndpointName": endpoint_name, "VariantName": variant_name},
          [
              Sample("Invocations", 1),
              Sample("Invocation4XXErrors", 0),
              Sample("Invocation5XXErrors", 0),
              Sample("InvocationModelErrors", 0),
              Sample("InvocationsPerInstance", 1 / instance_count),
              Sample("ModelLatency", model_microseconds, "Microseconds"),
              Sample("OverheadLatency", overhead_microseconds, "Microseconds"),
          ],
      )

* ``put`` writes a batch of ``MetricDatum`` (PutMetricData) in one transaction, visible when it returns.

Implementations: ``sql.SqlMetricStore`` (rows in the metadata database). Every implementation passes
``sageforge.testing.contracts.metric_store``. Metrics form one namespace per store, shared by every account
and region.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

# (name, value) pairs sorted by name: one metric's identity beside its namespace and name.
Dimensions = tuple[tuple[str, str], ...]


def dimensions_of(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> Dimensions:
    """Dimensions in their canonical (sorted) order."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted(items))


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Dimensions = ()  # sorted by name; build with ``dimensions_of``


class Sample(NamedTuple):
    """One observation of a metric, for ``record``; a plain ``(name, value, unit)`` tuple works as well."""

    name: str
    value: float
    unit: str = "None"


@dataclass(frozen=True)
class StatisticSet:
    sample_count: float
    sum: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class MetricDatum:
    """Values observed at ``timestamp``: ``values`` as (value, count) pairs, or an aggregate ``statistics``."""

    metric: Metric
    timestamp: float
    unit: str = "None"
    values: tuple[tuple[float, float], ...] = ()
    statistics: StatisticSet | None = None


@dataclass(frozen=True)
class DimensionFilter:
    """Metrics that have dimension ``name`` (with ``value``, when given), among any others."""

    name: str
    value: str | None = None


@dataclass(frozen=True)
class MetricPage:
    metrics: list[Metric]
    # Pass as ``after`` to continue the listing; None when nothing is left.
    next_after: int | None


@dataclass(frozen=True)
class PeriodStatistics:
    """The datapoints of one period, aggregated."""

    timestamp: int  # start of the period
    unit: str | None  # None when the period mixes units (only with ``by_unit=False``)
    sample_count: float
    sum: float
    minimum: float
    maximum: float
    # Requested percentile (0-100) -> value, for those the data allows: every value in the period must be
    # known (not summarised by a statistic set whose minimum and maximum differ) and none negative.
    percentiles: Mapping[float, float] = field(default_factory=dict)

    @property
    def average(self) -> float:
        return self.sum / self.sample_count if self.sample_count else 0.0


class MetricStore(Protocol):
    def record(
        self,
        namespace: str,
        dimensions: Mapping[str, str],
        samples: Iterable[tuple[str, float, str]],
        timestamp: float | None = None,
    ) -> None:
        """Add one observation per ``(name, value, unit)`` sample to the metrics ``namespace``/name/
        ``dimensions`` at ``timestamp`` (default: now). Cheap and thread-safe: samples are aggregated in
        memory and written within about a second by whichever call finds the buffer due; non-finite
        values are ignored, and a write that fails is logged and dropped rather than failing the caller."""
        ...

    def put(self, data: Sequence[MetricDatum]) -> None:
        """Write every datum in one transaction; readers see them when this returns."""
        ...

    def flush(self) -> None:
        """Write what ``record`` has buffered (call before shutdown)."""
        ...

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
        """Metrics matching every filter given, in creation order (those first written in one batch by
        namespace, name and dimensions); ``active_since`` keeps those with a datapoint timestamped at or
        after it."""
        ...

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
        """Datapoints with ``start <= timestamp < end`` (and ``unit``, when given) aggregated into periods
        ``[start + k * period, start + (k + 1) * period)``, oldest first, one entry per period with data
        (per period and unit when ``by_unit``). An unknown metric has no periods."""
        ...
