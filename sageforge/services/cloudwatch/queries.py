"""GetMetricData: its ``MetricDataQueries`` checked and read as series, and the series paged.

Every query with a ``MetricStat`` is a series of (period start, statistic) pairs in ``ScanBy`` order.
Pages hold at most ``MaxDatapoints`` values across all queries, filled query by query: page N holds
positions ``[offset, offset + MaxDatapoints)`` of the concatenated series, and every query appears on
every page (with the values of its own that fall there), ``PartialData`` while some of its values are on
later pages. The NextToken is that offset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sageforge.aws.pagination import decode_token, encode_token
from sageforge.services.cloudwatch.errors import (
    InvalidNextToken,
    InvalidParameterValue,
    MissingParameter,
    ValidationError,
)
from sageforge.services.cloudwatch.periods import BASIC_STATISTICS, check_period, metric_of, percentile
from sageforge.store.metrics.base import Metric

MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800
_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class MetricQuery:
    id: str
    label: str
    metric: Metric
    period: int
    stat: str
    unit: str | None


def metric_queries(queries: Sequence[Mapping[str, Any]]) -> list[MetricQuery]:
    """The queries whose data is returned (``ReturnData`` is not false), checked."""
    if len(queries) > MAX_QUERIES:
        raise InvalidParameterValue(
            f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )
    ids = [query["Id"] for query in queries]
    if len(set(ids)) != len(ids):
        raise ValidationError("The values for parameter id in MetricDataQueries are not unique.")
    return [
        _metric_query(query, f"MetricDataQueries.member.{index}")
        for index, query in enumerate(queries, start=1)
        if query.get("ReturnData", True)
    ]


def _metric_query(query: Mapping[str, Any], path: str) -> MetricQuery:
    if _ID.fullmatch(query["Id"]) is None:
        raise ValidationError(
            f"The value for parameter {path}.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$."
        )
    stat, expression = query.get("MetricStat"), query.get("Expression")
    if stat is not None and expression is not None:
        raise ValidationError(
            f"The parameters {path}.Expression and {path}.MetricStat are mutually exclusive and you have specified both."
        )
    if expression is not None:
        raise InvalidParameterValue(
            f"The parameter {path}.Expression is not supported: sageforge evaluates no metric math or "
            "Metrics Insights queries; ask for each metric with MetricStat."
        )
    if stat is None:
        raise ValidationError(f"The parameter {path} must specify either Expression or MetricStat.")
    if query.get("Period") is not None:
        raise ValidationError(
            f"The parameters {path}.Period and {path}.MetricStat are mutually exclusive and you have specified both."
        )
    metric = stat["Metric"]
    for member in ("Namespace", "MetricName"):
        if not metric.get(member):
            raise MissingParameter(f"The parameter {path}.MetricStat.Metric.{member} is required.")
    check_period(stat["Period"], f"{path}.MetricStat.Period")
    if stat["Stat"] not in BASIC_STATISTICS and percentile(stat["Stat"]) is None:
        raise InvalidParameterValue(
            f"The value {stat['Stat']} for parameter {path}.MetricStat.Stat is not supported: sageforge computes "
            "SampleCount, Average, Sum, Minimum, Maximum and percentiles (p0 to p100)."
        )
    return MetricQuery(
        id=query["Id"],
        label=query.get("Label") or metric["MetricName"],
        metric=metric_of(metric["Namespace"], metric["MetricName"], metric.get("Dimensions")),
        period=stat["Period"],
        stat=stat["Stat"],
        unit=stat.get("Unit"),
    )


Series = list[tuple[int, float]]


def page(
    queries: Sequence[MetricQuery], series: Sequence[Series], token: str | None, max_datapoints: int
) -> dict[str, Any]:
    """The GetMetricData output for the page ``token`` names (the first when None)."""
    offset = _offset(token) if token else 0
    end = offset + max_datapoints
    results = []
    position = 0
    for query, points in zip(queries, series, strict=True):
        shown = points[max(offset - position, 0) : max(end - position, 0)]
        position += len(points)
        results.append(
            {
                "Id": query.id,
                "Label": query.label,
                "Timestamps": [datetime.fromtimestamp(timestamp, tz=UTC) for timestamp, _ in shown],
                "Values": [value for _, value in shown],
                "StatusCode": "PartialData" if position > end else "Complete",
            }
        )
    output: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
    if position > end:
        output["NextToken"] = encode_token({"offset": end})
    return output


def _offset(token: str) -> int:
    offset = decode_token(token, InvalidNextToken).get("offset")
    if not isinstance(offset, int) or offset < 0:
        raise InvalidNextToken("The pagination token is invalid.")
    return offset
