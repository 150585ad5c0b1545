"""CloudWatch metrics API: PutMetricData, GetMetricStatistics, GetMetricData and ListMetrics over a
``MetricStore``, on all three of CloudWatch's protocols (rpc-v2-cbor, json, query; the gateway picks).

Periods start at the request's StartTime rounded down as CloudWatch rounds it (to the minute for recent
data, to the period below a minute), and a period appears only when it holds data. GetMetricStatistics
returns one datapoint per period and unit; GetMetricData merges units unless ``MetricStat.Unit`` picks one.

LIMITATIONS (where sageforge differs from CloudWatch):
- Metrics are one namespace per server, shared by every region and account.
- Data is kept per second at full resolution forever: no retention tiers, no rolling up to 5-minute or
  1-hour periods, and ``StorageResolution`` is accepted but changes nothing (standard-resolution metrics
  can be read with periods under a minute).
- Percentiles are nearest-rank, exact while a period holds at most 1,000 distinct values, within 0.5%
  beyond; other extended statistics (``tm99``, ``wm``, ``TC``, ``TS``, ``PR``, ``IQM``) are rejected with
  InvalidParameterValue.
- GetMetricData evaluates no metric math or Metrics Insights ``Expression`` (rejected with
  InvalidParameterValue), and ignores ``LabelOptions`` and ``AccountId``; labels default to the metric name.
- ListMetrics lists metrics however long ago they last received data; ``RecentlyActive`` looks at
  datapoint timestamps, not arrival times; cross-account options answer for this account only.
- ``EntityMetricData`` is stored as plain metric data: entities are accepted and dropped.
- Over the json protocol, NaN and infinite values (which botocore sends as strings) fail validation with
  ValidationError instead of InvalidParameterValue.
- Alarms, dashboards, anomaly detectors, metric streams, Insights rules and tags are not implemented.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.pagination import decode_token, encode_token
from sageforge.services.cloudwatch.errors import (
    InvalidParameterCombination,
    InvalidParameterValue,
    MissingParameter,
)
from sageforge.services.cloudwatch.metric_data import metric_data
from sageforge.services.cloudwatch.periods import (
    check_period,
    metric_of,
    percentile,
    statistic_value,
    window,
)
from sageforge.services.cloudwatch.queries import DEFAULT_MAX_DATAPOINTS, Series, metric_queries, page
from sageforge.store.metrics.base import DimensionFilter, MetricStore, PeriodStatistics

Params = dict[str, Any]
Output = dict[str, Any]

MAX_STATISTICS_DATAPOINTS = 1440
LIST_METRICS_PAGE = 500
_RECENTLY_ACTIVE_SECONDS = 3 * 3600


class CloudWatchProvider:
    """The CloudWatch metric operations; ``clock`` (epoch seconds) dates data and rounds request windows."""

    def __init__(self, store: MetricStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    @operation("PutMetricData")
    def put_metric_data(self, context: RequestContext, params: Params) -> Output:
        self._store.put(metric_data(params, self._clock()))
        return {}

    @operation("GetMetricStatistics")
    def get_metric_statistics(self, context: RequestContext, params: Params) -> Output:
        statistics, extended = params.get("Statistics") or [], params.get("ExtendedStatistics") or []
        if statistics and extended:
            raise InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics, but not both.")
        if not statistics and not extended:
            raise MissingParameter("Must specify either Statistics or ExtendedStatistics.")
        percentiles = {name: percentile(name) for name in extended}
        for name, q in percentiles.items():
            if q is None:
                raise InvalidParameterValue(
                    f"The value {name} for parameter ExtendedStatistics is not supported: sageforge computes "
                    "percentiles, p0 to p100."
                )
        period = params["Period"]
        check_period(period)
        start, end = window(params["StartTime"], params["EndTime"], period, self._clock())
        requested = -(-(end - start) // period)
        if requested > MAX_STATISTICS_DATAPOINTS:
            raise InvalidParameterCombination(
                f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
                f"{MAX_STATISTICS_DATAPOINTS:,}. You may reduce the datapoints requested by increasing Period, "
                "or decreasing the time range."
            )
        metric = metric_of(params["Namespace"], params["MetricName"], params.get("Dimensions"))
        periods = self._store.statistics(
            metric,
            start=start,
            end=end,
            period=period,
            unit=params.get("Unit"),
            percentiles=[q for q in percentiles.values() if q is not None],
        )
        return {"Label": metric.name, "Datapoints": [_datapoint(p, statistics, extended) for p in periods]}

    @operation("GetMetricData")
    def get_metric_data(self, context: RequestContext, params: Params) -> Output:
        queries = metric_queries(params["MetricDataQueries"])
        max_datapoints = params.get("MaxDatapoints", DEFAULT_MAX_DATAPOINTS)
        if max_datapoints < 1:
            raise InvalidParameterValue(f"The value {max_datapoints} for parameter MaxDatapoints is invalid.")
        now = self._clock()
        descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        series: list[Series] = []
        for query in queries:
            start, end = window(params["StartTime"], params["EndTime"], query.period, now)
            q = percentile(query.stat)
            periods = self._store.statistics(
                query.metric,
                start=start,
                end=end,
                period=query.period,
                unit=query.unit,
                percentiles=[q] if q is not None else [],
                by_unit=False,
            )
            points = [(p.timestamp, statistic_value(p, query.stat)) for p in periods]
            present = [(timestamp, value) for timestamp, value in points if value is not None]
            series.append(present[::-1] if descending else present)
        return page(queries, series, params.get("NextToken"), max_datapoints)

    @operation("ListMetrics")
    def list_metrics(self, context: RequestContext, params: Params) -> Output:
        token = params.get("NextToken")
        after = decode_token(token, InvalidParameterValue).get("after") if token else None
        if token and not isinstance(after, int):
            raise InvalidParameterValue("The pagination token is invalid.")
        active = params.get("RecentlyActive") == "PT3H"
        found = self._store.list_metrics(
            namespace=params.get("Namespace"),
            name=params.get("MetricName"),
            dimensions=[DimensionFilter(d["Name"], d.get("Value")) for d in params.get("Dimensions") or []],
            active_since=int(self._clock()) - _RECENTLY_ACTIVE_SECONDS if active else None,
            after=after,
            limit=LIST_METRICS_PAGE,
        )
        output: Output = {
            "Metrics": [
                {
                    "Namespace": metric.namespace,
                    "MetricName": metric.name,
                    "Dimensions": [{"Name": name, "Value": value} for name, value in metric.dimensions],
                }
                for metric in found.metrics
            ]
        }
        if params.get("IncludeLinkedAccounts"):
            output["OwningAccounts"] = [context.account_id] * len(found.metrics)
        if found.next_after is not None:
            output["NextToken"] = encode_token({"after": found.next_after})
        return output


def _datapoint(period: PeriodStatistics, statistics: list[str], extended: list[str]) -> Output:
    datapoint: Output = {"Timestamp": datetime.fromtimestamp(period.timestamp, tz=UTC), "Unit": period.unit or "None"}
    for name in statistics:
        datapoint[name] = statistic_value(period, name)
    if extended:
        # Percentiles the period's data cannot give (statistic sets, negative values) are left out.
        values = {name: statistic_value(period, name) for name in extended}
        datapoint["ExtendedStatistics"] = {name: value for name, value in values.items() if value is not None}
    return datapoint
