"""Hyperband's bracket scheduler, asynchronous like Optuna's ``HyperbandPruner`` (successive halving per
bracket, decisions as trials reach a rung rather than in synchronised rounds).

The resource is the trial's step: one objective value per epoch (an XGBoost round). With minimum resource
``r``, maximum ``R`` and reduction factor ``eta``, there are ``floor(log_eta(R / r)) + 1`` brackets; bracket
``s`` has rungs at ``r * eta**(s + k)`` below ``R``. A trial reaching a rung carries on only if its value
there is among the best ``1/eta`` of the values its bracket's trials had at that rung (the first trial at a
rung always carries on), and every trial stops at ``R`` ("once a job reaches MaxResource, it is stopped").

Trials are dealt to brackets by a smooth weighted round robin over their trial numbers, each bracket weighted
by the number of configurations Hyperband gives it, so the assignment depends only on the numbers and a
resumed search rebuilds it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sageforge.hpo.trials import Direction

REDUCTION_FACTOR = 3


class HyperbandScheduler:
    """A ``StoppingRule``. ``history`` holds the objective series of trials 0, 1, ... that ended before it was
    built; trials after them are numbered on."""

    def __init__(
        self,
        direction: Direction,
        min_resource: int,
        max_resource: int,
        history: Sequence[Sequence[float]] = (),
        *,
        reduction_factor: int = REDUCTION_FACTOR,
    ) -> None:
        if not 1 <= min_resource <= max_resource:
            raise ValueError(f"need 1 <= min_resource <= max_resource, got {min_resource} and {max_resource}")
        self._direction = direction
        self._min = min_resource
        self._max = max_resource
        self._eta = reduction_factor
        brackets = int(math.floor(math.log(max_resource / min_resource, reduction_factor) + 1e-9)) + 1
        top = brackets - 1
        # Hyperband's n_i for the bracket that halves (top - s) times.
        self._weights = [math.ceil(brackets / (top - s + 1) * reduction_factor ** (top - s)) for s in range(brackets)]
        self._credit = [0.0] * brackets
        self._brackets: list[int] = []
        self._series: dict[int, list[float]] = {trial: list(series) for trial, series in enumerate(history)}

    @property
    def bracket_count(self) -> int:
        return len(self._weights)

    def bracket(self, trial: int) -> int:
        """The bracket ``trial`` belongs to."""
        while len(self._brackets) <= trial:
            # Smooth weighted round robin: every bracket earns its weight, the richest is chosen and pays the total.
            for index, weight in enumerate(self._weights):
                self._credit[index] += weight
            chosen = max(range(len(self._credit)), key=lambda index: (self._credit[index], -index))
            self._credit[chosen] -= sum(self._weights)
            self._brackets.append(chosen)
        return self._brackets[trial]

    def rungs(self, bracket: int) -> list[int]:
        """The steps at which a trial of ``bracket`` may be stopped, below the maximum resource."""
        steps: list[int] = []
        step = self._min * self._eta**bracket
        while step < self._max:
            steps.append(step)
            step *= self._eta
        return steps

    def observe(self, trial: int, step: int, value: float) -> bool:
        self._series.setdefault(trial, []).append(value)
        if step >= self._max:
            return True
        bracket = self.bracket(trial)
        if step not in self.rungs(bracket):
            return False
        at_rung = [
            series[step - 1]
            for other, series in self._series.items()
            if len(series) >= step and self.bracket(other) == bracket
        ]
        ranked = sorted(at_rung, reverse=self._direction is Direction.MAXIMIZE)
        kept = max(1, len(ranked) // self._eta)
        return self._direction.better(ranked[kept - 1], value)

    def finish(self, trial: int) -> None:
        # A trial's values at the rungs it reached stay what later trials compete against.
        return None
