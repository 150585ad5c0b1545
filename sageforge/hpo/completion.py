"""When a search is done: SageMaker's tuning-job completion criteria over the objectives of finished trials.

- ``TargetObjectiveMetricValue``: a trial reached the target (at least it when maximizing, at most when
  minimizing).
- ``BestObjectiveNotImproving``: that many trials in a row did not improve on the best objective by more than
  1% (SageMaker's "not improving (1% or less)").
- ``ConvergenceDetected``: SageMaker's own test is not published. Here a search has converged once at least
  ``CONVERGENCE_MIN_TRIALS`` trials have an objective and the best of them improved by 1% or less over the
  second half of them -- further trials are unlikely to gain more than 1%, the documented meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sageforge.hpo.trials import Direction

IMPROVEMENT = 0.01
CONVERGENCE_MIN_TRIALS = 10


class CompletionReason(StrEnum):
    TARGET_REACHED = "TargetObjectiveMetricValue"
    NOT_IMPROVING = "BestObjectiveNotImproving"
    CONVERGED = "ConvergenceDetected"


@dataclass(frozen=True)
class CompletionCriteria:
    target: float | None = None
    max_not_improving: int | None = None
    complete_on_convergence: bool = False


class Progress:
    """The objectives of a search's finished trials, in the order they ended, judged by ``criteria``."""

    def __init__(self, direction: Direction, criteria: CompletionCriteria, objectives: Sequence[float] = ()) -> None:
        self._direction = direction
        self._criteria = criteria
        self._best_so_far: list[float] = []
        self.not_improving = 0
        for objective in objectives:
            self.add(objective)

    @property
    def best(self) -> float | None:
        return self._best_so_far[-1] if self._best_so_far else None

    def add(self, objective: float) -> None:
        best = self.best
        if best is None or self._improves(objective, best):
            self.not_improving = 0
        else:
            self.not_improving += 1
        self._best_so_far.append(objective if best is None else self._direction.best([best, objective]))

    @property
    def converged(self) -> bool:
        count = len(self._best_so_far)
        if count < CONVERGENCE_MIN_TRIALS:
            return False
        return not self._improves(self._best_so_far[-1], self._best_so_far[count // 2 - 1])

    def reason(self) -> CompletionReason | None:
        """The criterion that ends the search now, if any."""
        criteria, best = self._criteria, self.best
        if best is not None and criteria.target is not None and not self._direction.better(criteria.target, best):
            return CompletionReason.TARGET_REACHED
        if criteria.max_not_improving is not None and self.not_improving >= criteria.max_not_improving:
            return CompletionReason.NOT_IMPROVING
        if criteria.complete_on_convergence and self.converged:
            return CompletionReason.CONVERGED
        return None

    def _improves(self, value: float, best: float) -> bool:
        return self._direction.better(value, best) and abs(value - best) > IMPROVEMENT * abs(best)
