"""What GetMetricStatistics and GetMetricData share: periods, the time window as CloudWatch rounds it, and
statistic names (SampleCount, Average, Sum, Minimum, Maximum, and percentiles ``p0`` to ``p100``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sageforge.services.cloudwatch.errors import InvalidParameterValue
from sageforge.store.metrics.base import Metric, PeriodStatistics, dimensions_of

BASIC_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

_HIGH_RESOLUTION_PERIODS = (1, 5, 10, 20, 30)
_PERCENTILE = re.compile(r"p(\d{1,3}(?:\.\d+)?)")
_DAY = 86_400


def check_period(period: int, parameter: str = "Period") -> None:
    if period not in _HIGH_RESOLUTION_PERIODS and period % 60:
        raise InvalidParameterValue(
            f"The parameter {parameter} must be a value in the set [ 1, 5, 10, 20, 30 ] or a multiple of 60."
        )


def window(start: datetime, end: datetime, period: int, now: float) -> tuple[int, int]:
    """``[start, end)`` in whole seconds, the start rounded down as CloudWatch does: to the period below a
    minute, else to the minute, 5 minutes or hour as the start is under 15 days, 63 days or older."""
    first, last = start.timestamp(), end.timestamp()
    if first >= last:
        raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    age = now - first
    if period < 60:
        step = period
    elif age < 15 * _DAY:
        step = 60
    elif age < 63 * _DAY:
        step = 300
    else:
        step = 3600
    # Datapoints are kept per whole second, so the end is rounded up to keep the second it falls in.
    return math.floor(first / step) * step, math.ceil(last)


def percentile(statistic: str) -> float | None:
    """The percentile ``pNN.NN`` names (0-100), or None when the name is not a percentile."""
    match = _PERCENTILE.fullmatch(statistic)
    if match is None:
        return None
    value = float(match.group(1))
    return value if value <= 100 else None


def statistic_value(period: PeriodStatistics, statistic: str) -> float | None:
    """One statistic of a period; None for a percentile the period's data cannot give."""
    if statistic == "SampleCount":
        return period.sample_count
    if statistic == "Average":
        return period.average
    if statistic == "Sum":
        return period.sum
    if statistic == "Minimum":
        return period.minimum
    if statistic == "Maximum":
        return period.maximum
    q = percentile(statistic)
    return None if q is None else period.percentiles.get(q)


def metric_of(namespace: str, name: str, dimensions: list[Mapping[str, Any]] | None) -> Metric:
    """The metric a request names; dimensions are given as ``[{"Name": ..., "Value": ...}]``."""
    return Metric(namespace, name, dimensions_of((d["Name"], d["Value"]) for d in dimensions or []))
