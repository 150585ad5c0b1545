"""Metrics scraped from log lines with a job's metric definitions, the way SageMaker does it.

Each line has its TABs replaced by ``#011`` first: CloudWatch shows a tab that way and SageMaker's built-in
algorithms' regexes (``.*\\[[0-9]+\\].*#011train-rmse:(\\S+).*``) expect it. The first capture group is the value.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sageforge.engine.errors import InvalidMetricDefinition
from sageforge.engine.workload import MetricDefinition


@dataclass(frozen=True)
class MetricObservation:
    name: str
    value: float
    timestamp: float  # epoch seconds of the log line
    host: str


class MetricScraper:
    """Applies the definitions to every line it is given and keeps every observation. Thread-safe."""

    def __init__(self, definitions: Sequence[MetricDefinition]) -> None:
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for name, regex in definitions:
            try:
                self._patterns.append((name, re.compile(regex)))
            except re.error as error:
                raise InvalidMetricDefinition(f"metric {name!r}: invalid regex {regex!r}: {error}") from error
        self._observations: list[MetricObservation] = []
        self._lock = threading.Lock()

    def scrape(self, line: str, at: float, host: str) -> list[MetricObservation]:
        """The observations ``line`` holds (at most one per definition), also recorded."""
        if not self._patterns:
            return []
        text = line.replace("\t", "#011")
        found: list[MetricObservation] = []
        for name, pattern in self._patterns:
            match = pattern.search(text)
            if match is None:
                continue
            try:
                value = float(match.group(1) if pattern.groups else match.group(0))
            except (TypeError, ValueError):
                continue  # the group matched something that is not a number, or did not take part
            # NaN and infinities cannot be published (JSON has no spelling for them).
            if math.isfinite(value):
                found.append(MetricObservation(name, value, at, host))
        with self._lock:
            self._observations.extend(found)
        return found

    def observations(self) -> tuple[MetricObservation, ...]:
        with self._lock:
            return tuple(self._observations)

    def final_values(self) -> dict[str, float]:
        """The last value of each metric, in the order the metrics first appeared."""
        with self._lock:
            return {observation.name: observation.value for observation in self._observations}
