"""Statistic sets with their value distributions: how samples of one metric, unit and second are combined
before they are written, and how stored rows are combined into periods when they are read.

A distribution maps each value to how many times it was seen, so percentiles come out exactly. It stays
exact up to ``MAX_EXACT_VALUES`` distinct values; past that, values are rounded to three significant digits
(within 0.5%), which bounds its size at a few thousand entries whatever the traffic. A statistic set whose
minimum and maximum differ says nothing about its values, so an aggregate that includes one has no
distribution and no percentiles, as in CloudWatch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping

from sageforge.store.metrics.base import StatisticSet

MAX_EXACT_VALUES = 1000


class Aggregate:
    """A running statistic set and, while every value is known, the distribution of the values."""

    __slots__ = ("sample_count", "sum", "minimum", "maximum", "distribution")

    def __init__(self) -> None:
        self.sample_count = 0.0
        self.sum = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf
        self.distribution: dict[float, float] | None = {}

    def add(self, value: float, count: float = 1.0) -> None:
        self.sample_count += count
        self.sum += value * count
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if self.distribution is not None:
            self.distribution[value] = self.distribution.get(value, 0.0) + count
            if len(self.distribution) > MAX_EXACT_VALUES:
                self.distribution = _rounded(self.distribution)

    def add_statistics(self, statistics: StatisticSet, distribution: Mapping[float, float] | None = None) -> None:
        """Fold in a statistic set; ``distribution`` gives its values where they are known."""
        self.sample_count += statistics.sample_count
        self.sum += statistics.sum
        self.minimum = min(self.minimum, statistics.minimum)
        self.maximum = max(self.maximum, statistics.maximum)
        if distribution is None and statistics.minimum == statistics.maximum:
            distribution = {statistics.minimum: statistics.sample_count}
        if self.distribution is None or distribution is None:
            self.distribution = None
            return
        for value, count in distribution.items():
            self.distribution[value] = self.distribution.get(value, 0.0) + count
        if len(self.distribution) > MAX_EXACT_VALUES:
            self.distribution = _rounded(self.distribution)

    def statistics(self) -> StatisticSet:
        return StatisticSet(self.sample_count, self.sum, self.minimum, self.maximum)

    def percentiles(self, requested: Iterable[float]) -> dict[float, float]:
        """The requested percentiles (0-100) the data allows: none without a distribution or with negative values."""
        if self.distribution is None or not self.distribution or self.minimum < 0:
            return {}
        ordered = sorted(self.distribution.items())
        total = sum(count for _, count in ordered)
        return {q: _percentile(ordered, total, q) for q in requested}


def encode_distribution(distribution: Mapping[float, float] | None) -> str | None:
    return None if distribution is None else json.dumps(sorted(distribution.items()), separators=(",", ":"))


def decode_distribution(text: str | None) -> dict[float, float] | None:
    return None if text is None else {float(value): float(count) for value, count in json.loads(text)}


def _percentile(ordered: list[tuple[float, float]], total: float, q: float) -> float:
    # Nearest rank: the smallest value with at least q% of the samples at or below it.
    target = q / 100.0 * total
    cumulative = 0.0
    for value, count in ordered:
        cumulative += count
        if cumulative >= target:
            return value
    return ordered[-1][0]


def _rounded(distribution: Mapping[float, float]) -> dict[float, float]:
    rounded: dict[float, float] = {}
    for value, count in distribution.items():
        key = float(f"{value:.3g}")
        rounded[key] = rounded.get(key, 0.0) + count
    return rounded
