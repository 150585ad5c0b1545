"""PutMetricData's input checked as CloudWatch checks it and turned into ``MetricDatum`` records.

Each datum carries exactly one of ``Value``, ``Values`` (with optional ``Counts``) or ``StatisticValues``;
values must be finite and within +/-2^360; timestamps may be up to two weeks old and two hours ahead. Errors
name the member the way CloudWatch does (``MetricData.member.2.Values``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from sageforge.services.cloudwatch.errors import InvalidParameterCombination, InvalidParameterValue, MissingParameter
from sageforge.services.cloudwatch.periods import metric_of
from sageforge.store.metrics.base import MetricDatum, StatisticSet

MAX_METRICS_PER_REQUEST = 1000
MAX_VALUES_PER_DATUM = 150
_LIMIT = 2.0**360
_OLDEST_SECONDS = 14 * 86_400
_NEWEST_SECONDS = 2 * 3600


def metric_data(params: Mapping[str, Any], now: float) -> list[MetricDatum]:
    """Every datum of a PutMetricData request (``MetricData`` and each ``EntityMetricData`` entry's)."""
    namespace = params["Namespace"]
    if namespace.startswith("AWS/"):
        # The AWS/ namespaces belong to AWS services; sageforge's own services write them through the store.
        raise InvalidParameterValue(f"The value {namespace} for parameter Namespace is invalid.")
    entries = list(_entries(params))
    if not entries:
        raise MissingParameter("The parameter MetricData is required.")
    if len(entries) > MAX_METRICS_PER_REQUEST:
        raise InvalidParameterValue(
            f"The collection MetricData must not have a size greater than {MAX_METRICS_PER_REQUEST}."
        )
    return [_datum(namespace, entry, path, now) for path, entry in entries]


def _entries(params: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for index, entry in enumerate(params.get("MetricData") or [], start=1):
        yield f"MetricData.member.{index}", entry
    for outer, entity in enumerate(params.get("EntityMetricData") or [], start=1):
        for index, entry in enumerate(entity.get("MetricData") or [], start=1):
            yield f"EntityMetricData.member.{outer}.MetricData.member.{index}", entry


def _datum(namespace: str, entry: Mapping[str, Any], path: str, now: float) -> MetricDatum:
    dimensions = entry.get("Dimensions") or []
    if len({d["Name"] for d in dimensions}) != len(dimensions):
        raise InvalidParameterValue(f"The parameter {path}.Dimensions must not repeat a dimension name.")
    resolution = entry.get("StorageResolution")
    if resolution is not None and resolution not in (1, 60):
        raise InvalidParameterValue(f"The value {resolution} for parameter {path}.StorageResolution is invalid.")
    timestamp = entry["Timestamp"].timestamp() if "Timestamp" in entry else now
    if timestamp < now - _OLDEST_SECONDS:
        raise InvalidParameterValue(f"The parameter {path}.Timestamp must specify a time within the past two weeks.")
    if timestamp > now + _NEWEST_SECONDS:
        raise InvalidParameterValue(
            f"The parameter {path}.Timestamp must specify a time no more than two hours in the future."
        )
    metric = metric_of(namespace, entry["MetricName"], dimensions)
    unit = entry.get("Unit", "None")
    given = [name for name in ("Value", "Values", "StatisticValues") if entry.get(name) is not None]
    if len(given) > 1:
        raise InvalidParameterCombination(
            f"The parameters {path}.{given[0]} and {path}.{given[1]} are mutually exclusive and you have specified both."
        )
    if not given:
        raise MissingParameter(
            f"At least one of the parameters {path}.Value or {path}.StatisticValues must be specified."
        )
    if given == ["StatisticValues"]:
        return MetricDatum(metric, timestamp, unit, statistics=_statistic_set(entry["StatisticValues"], path))
    if given == ["Value"]:
        return MetricDatum(metric, timestamp, unit, values=((_checked(entry["Value"], f"{path}.Value"), 1.0),))
    return MetricDatum(metric, timestamp, unit, values=_weighted_values(entry, path))


def _weighted_values(entry: Mapping[str, Any], path: str) -> tuple[tuple[float, float], ...]:
    values = entry["Values"]
    counts = entry.get("Counts") or [1.0] * len(values)
    if len(values) > MAX_VALUES_PER_DATUM:
        raise InvalidParameterValue(
            f"The collection {path}.Values must not have a size greater than {MAX_VALUES_PER_DATUM}."
        )
    if len(counts) != len(values):
        raise InvalidParameterValue(f"The parameters {path}.Values and {path}.Counts must be of the same size.")
    for count in counts:
        if not math.isfinite(count) or count < 0:
            raise InvalidParameterValue(f"The value {count} for parameter {path}.Counts is invalid.")
    return tuple((_checked(value, f"{path}.Values"), float(count)) for value, count in zip(values, counts, strict=True))


def _statistic_set(given: Mapping[str, Any], path: str) -> StatisticSet:
    statistics = StatisticSet(
        sample_count=_checked(given["SampleCount"], f"{path}.StatisticValues.SampleCount"),
        sum=_checked(given["Sum"], f"{path}.StatisticValues.Sum"),
        minimum=_checked(given["Minimum"], f"{path}.StatisticValues.Minimum"),
        maximum=_checked(given["Maximum"], f"{path}.StatisticValues.Maximum"),
    )
    if statistics.sample_count <= 0:
        raise InvalidParameterValue(f"The parameter {path}.StatisticValues.SampleCount must be greater than 0.")
    if statistics.maximum < statistics.minimum:
        raise InvalidParameterValue(
            f"The parameter {path}.StatisticValues.Maximum must be greater than {path}.StatisticValues.Minimum."
        )
    return statistics


def _checked(value: float, parameter: str) -> float:
    if not math.isfinite(value) or abs(value) > _LIMIT:
        raise InvalidParameterValue(f"The value {value} for parameter {parameter} is invalid.")
    return float(value)
