"""The words a search strategy and its caller share: the objective's direction, what a trial proposes, and
how a trial ended.

A trial's objective series is the sequence of objective values its training job emitted, one per step
(an XGBoost round, an epoch); early stopping and Hyperband decide on it, and the final objective is its last
value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Direction(StrEnum):
    MAXIMIZE = "Maximize"
    MINIMIZE = "Minimize"

    def better(self, value: float, than: float) -> bool:
        """Whether ``value`` is strictly better than ``than``."""
        return value > than if self is Direction.MAXIMIZE else value < than

    def best(self, values: list[float]) -> float:
        return max(values) if self is Direction.MAXIMIZE else min(values)


class TrialState(StrEnum):
    COMPLETED = "Completed"
    # Ended before its training job finished: by early stopping, Hyperband or a stop of the whole search.
    STOPPED = "Stopped"
    FAILED = "Failed"


@dataclass(frozen=True)
class Proposal:
    """A configuration to train: ``trial`` identifies it in ``report`` and ``tell``."""

    trial: int
    hyperparameters: Mapping[str, str]


@dataclass(frozen=True)
class FinishedTrial:
    """A trial that has ended, as a strategy is given it to resume a search or warm-start one.

    ``hyperparameters`` may hold more than the tuned ones (a parent job's static values); ``objective`` is None
    when the trial failed or emitted no objective.
    """

    hyperparameters: Mapping[str, str]
    state: TrialState
    objective: float | None
    series: tuple[float, ...] = field(default=())
