"""The search-strategy interface (ask / report / tell) and the registry of strategies by SageMaker's names.

A caller asks for a configuration, trains it, reports the trial's objective step by step (the strategy may
answer "stop it"), and tells how it ended. Strategies are not thread-safe: one caller drives each.

- Bayesian: Optuna's TPE sampler (model-based), with SageMaker's median early stopping when asked for;
- Random: independent draws (Optuna's RandomSampler), with the same early stopping;
- Grid: every combination of categorical and integer values, in order, with the same early stopping;
- Hyperband: TPE sampling, with the bracket scheduler of ``hyperband.py`` deciding which trials stop.

Every strategy passes the contract in ``sageforge.testing.contracts.search_strategy``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from sageforge.hpo.early_stopping import MedianStoppingRule, StoppingRule
from sageforge.hpo.grid import GridSearch
from sageforge.hpo.hyperband import HyperbandScheduler
from sageforge.hpo.optuna_search import OptunaSearch, random_sampler, tpe_sampler
from sageforge.hpo.ranges import SearchSpace
from sageforge.hpo.trials import Direction, FinishedTrial, Proposal, TrialState


class InvalidStrategyConfig(ValueError):
    """The configuration does not suit the strategy; the message is fit for a ValidationException."""


class SearchStrategy(Protocol):
    def ask(self) -> Proposal | None:
        """The next configuration to train; None when no untried one is left (an exhausted grid)."""
        ...

    def report(self, trial: int, step: int, value: float) -> bool:
        """``trial``'s objective at ``step`` (1, 2, ... without gaps); True: stop the trial now."""
        ...

    def tell(self, trial: int, state: TrialState, objective: float | None) -> None:
        """How ``trial`` ended, with its final objective (None if it failed or emitted none)."""
        ...


@dataclass(frozen=True)
class Resources:
    """Hyperband's resource bounds (MinResource, MaxResource), in steps."""

    min_resource: int
    max_resource: int


@dataclass(frozen=True)
class StrategyConfig:
    """What a strategy is built from.

    ``history`` holds this search's own trials that ended before it was built (a resumed tuning job), in the
    order they were proposed, so proposals go on numbering after them; ``prior`` holds other searches' trials
    (a warm start), which inform the sampling but not early stopping. ``budget`` is the number of trials the
    search may run, if known; it sizes the model-based sampler's random start.
    """

    space: SearchSpace
    direction: Direction
    seed: int | None = None
    budget: int | None = None
    early_stopping: bool = False
    resources: Resources | None = None
    history: tuple[FinishedTrial, ...] = ()
    prior: tuple[FinishedTrial, ...] = ()


def _median_rule(config: StrategyConfig) -> StoppingRule | None:
    if not config.early_stopping:
        return None
    return MedianStoppingRule(config.direction, [trial.series for trial in config.history])


def _bayesian(config: StrategyConfig) -> SearchStrategy:
    return OptunaSearch(
        config.space, config.direction, tpe_sampler(config), _median_rule(config), config.history, config.prior
    )


def _random(config: StrategyConfig) -> SearchStrategy:
    return OptunaSearch(
        config.space, config.direction, random_sampler(config), _median_rule(config), config.history, config.prior
    )


def _grid(config: StrategyConfig) -> SearchStrategy:
    return GridSearch(config.space, _median_rule(config), config.history)


def _hyperband(config: StrategyConfig) -> SearchStrategy:
    if config.resources is None:
        raise InvalidStrategyConfig("The Hyperband strategy needs MinResource and MaxResource.")
    if config.early_stopping:
        raise InvalidStrategyConfig("TrainingJobEarlyStoppingType must be Off with the Hyperband strategy.")
    scheduler = HyperbandScheduler(
        config.direction,
        config.resources.min_resource,
        config.resources.max_resource,
        [trial.series for trial in config.history],
    )
    return OptunaSearch(config.space, config.direction, tpe_sampler(config), scheduler, config.history, config.prior)


STRATEGIES: Mapping[str, Callable[[StrategyConfig], SearchStrategy]] = MappingProxyType(
    {"Bayesian": _bayesian, "Random": _random, "Grid": _grid, "Hyperband": _hyperband}
)


def create_strategy(name: str, config: StrategyConfig) -> SearchStrategy:
    """The strategy called ``name``; ``InvalidStrategyConfig`` or ``InvalidRange`` when ``config`` does not suit it."""
    factory = STRATEGIES.get(name)
    if factory is None:
        raise InvalidStrategyConfig(f"Unknown strategy '{name}'; choose one of {', '.join(STRATEGIES)}.")
    return factory(config)
