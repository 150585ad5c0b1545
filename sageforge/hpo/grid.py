"""The Grid strategy: every combination of the categorical and integer ranges' values, each once, in order.

The first range varies slowest, so a grid over one range is proposed in the order its values are listed. A
resumed search skips the combinations its own earlier trials covered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from sageforge.hpo.early_stopping import StoppingRule
from sageforge.hpo.ranges import Sample, SearchSpace, grid_points
from sageforge.hpo.trials import FinishedTrial, Proposal, TrialState


class GridSearch:
    """A ``SearchStrategy``; ``InvalidRange`` for a space with a continuous range."""

    def __init__(
        self, space: SearchSpace, stopping: StoppingRule | None, history: Sequence[FinishedTrial] = ()
    ) -> None:
        self._space = space
        self._points: Iterator[dict[str, Sample]] = iter(grid_points(space))
        self._stopping = stopping
        self._tried = {self._key(trial.hyperparameters) for trial in history}
        self._next = len(history)

    def ask(self) -> Proposal | None:
        for point in self._points:
            hyperparameters = self._space.to_hyperparameters(point)
            if self._key(hyperparameters) in self._tried:
                continue
            number, self._next = self._next, self._next + 1
            return Proposal(number, hyperparameters)
        return None

    def report(self, trial: int, step: int, value: float) -> bool:
        return self._stopping is not None and self._stopping.observe(trial, step, value)

    def tell(self, trial: int, state: TrialState, objective: float | None) -> None:
        if self._stopping is not None:
            self._stopping.finish(trial)

    def _key(self, hyperparameters: Mapping[str, str]) -> tuple[str | None, ...]:
        return tuple(hyperparameters.get(name) for name in self._space.names)
