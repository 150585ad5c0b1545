"""Stopping rules: which running trials to stop, decided on their objective series step by step.

``MedianStoppingRule`` is SageMaker's early stopping (``TrainingJobEarlyStoppingType: Auto``); Hyperband's
bracket scheduler (``hyperband.py``) is the other rule. A rule sees every trial's objective value at every
step, in order, and is told when a trial ends; it never launches anything.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from typing import Protocol

from sageforge.hpo.trials import Direction

# Earlier trials needed at a step before the median means anything; SageMaker does not document its number,
# and with fewer the median of one or two trials would stop most jobs on noise.
MIN_EARLIER_TRIALS = 3


class StoppingRule(Protocol):
    def observe(self, trial: int, step: int, value: float) -> bool:
        """Record ``trial``'s objective ``value`` at ``step`` (1, 2, ... without gaps); True: stop it now."""
        ...

    def finish(self, trial: int) -> None:
        """``trial`` has ended; what it reported stays evidence for the trials after it."""
        ...


class MedianStoppingRule:
    """Stop a trial whose objective at a step is worse than the median of the earlier trials' running averages
    of their objective up to the same step, as SageMaker documents its early stopping.

    "Earlier trials" are those that have ended and reached that step. ``history`` holds the series of trials
    that ended before this rule was built (a resumed tuning job).
    """

    def __init__(
        self, direction: Direction, history: Sequence[Sequence[float]] = (), *, min_trials: int = MIN_EARLIER_TRIALS
    ) -> None:
        self._direction = direction
        self._min_trials = min_trials
        # Cumulative sums: the running average of an ended trial up to step s is sums[s - 1] / s.
        self._ended: list[list[float]] = [list(itertools.accumulate(series)) for series in history if series]
        self._running: dict[int, list[float]] = {}

    def observe(self, trial: int, step: int, value: float) -> bool:
        self._running.setdefault(trial, []).append(value)
        averages = [sums[step - 1] / step for sums in self._ended if len(sums) >= step]
        if len(averages) < self._min_trials:
            return False
        return self._direction.better(statistics.median(averages), value)

    def finish(self, trial: int) -> None:
        series = self._running.pop(trial, [])
        if series:
            self._ended.append(list(itertools.accumulate(series)))
