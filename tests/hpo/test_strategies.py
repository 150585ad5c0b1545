"""Every registered strategy against the search-strategy contract, and what sets each apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from sageforge.hpo.ranges import CategoricalRange, InvalidRange, SearchSpace, continuous_range, integer_range
from sageforge.hpo.strategy import (
    STRATEGIES,
    InvalidStrategyConfig,
    Resources,
    SearchStrategy,
    StrategyConfig,
    create_strategy,
)
from sageforge.hpo.trials import Direction, FinishedTrial, TrialState
from sageforge.testing.contracts.search_strategy import SPACE, SearchStrategyContract, ask, objective


class TestBayesian(SearchStrategyContract):
    @pytest.fixture
    def make_strategy(self) -> Callable[[StrategyConfig], SearchStrategy]:
        return lambda config: create_strategy("Bayesian", config)


class TestRandom(SearchStrategyContract):
    @pytest.fixture
    def make_strategy(self) -> Callable[[StrategyConfig], SearchStrategy]:
        return lambda config: create_strategy("Random", config)


class TestGrid(SearchStrategyContract):
    @pytest.fixture
    def make_strategy(self) -> Callable[[StrategyConfig], SearchStrategy]:
        return lambda config: create_strategy("Grid", config)


class TestHyperband(SearchStrategyContract):
    @pytest.fixture
    def make_strategy(self) -> Callable[[StrategyConfig], SearchStrategy]:
        return lambda config: create_strategy("Hyperband", replace(config, resources=Resources(1, 9)))


class TestWithEarlyStopping(SearchStrategyContract):
    @pytest.fixture
    def make_strategy(self) -> Callable[[StrategyConfig], SearchStrategy]:
        return lambda config: create_strategy("Bayesian", replace(config, early_stopping=True))


def test_the_registry_holds_sagemakers_four_strategies() -> None:
    assert set(STRATEGIES) == {"Bayesian", "Random", "Grid", "Hyperband"}
    with pytest.raises(InvalidStrategyConfig, match="Unknown strategy 'Annealing'"):
        create_strategy("Annealing", StrategyConfig(SPACE, Direction.MAXIMIZE))


def test_grid_proposes_every_combination_in_order_and_skips_those_a_resumed_job_tried() -> None:
    space = SearchSpace((CategoricalRange("a", ("x", "y")), integer_range("b", "1", "2")))
    history = (FinishedTrial({"a": "x", "b": "2"}, TrialState.FAILED, None),)
    grid = create_strategy("Grid", StrategyConfig(space, Direction.MINIMIZE, history=history))
    proposals = []
    while (proposal := grid.ask()) is not None:
        proposals.append((proposal.trial, dict(proposal.hyperparameters)))
    assert proposals == [(1, {"a": "x", "b": "1"}), (2, {"a": "y", "b": "1"}), (3, {"a": "y", "b": "2"})]


def test_grid_refuses_continuous_ranges() -> None:
    space = SearchSpace((continuous_range("eta", "0.1", "0.5"),))
    with pytest.raises(InvalidRange, match="'eta' is continuous"):
        create_strategy("Grid", StrategyConfig(space, Direction.MAXIMIZE))


def test_hyperband_needs_resources_and_no_early_stopping() -> None:
    with pytest.raises(InvalidStrategyConfig, match="MinResource and MaxResource"):
        create_strategy("Hyperband", StrategyConfig(SPACE, Direction.MAXIMIZE))
    with pytest.raises(InvalidStrategyConfig, match="must be Off"):
        create_strategy(
            "Hyperband", StrategyConfig(SPACE, Direction.MAXIMIZE, early_stopping=True, resources=Resources(1, 9))
        )


def test_hyperband_stops_every_trial_at_the_maximum_resource() -> None:
    hyperband = create_strategy("Hyperband", StrategyConfig(SPACE, Direction.MAXIMIZE, resources=Resources(1, 3)))
    proposal = ask(hyperband)
    assert [hyperband.report(proposal.trial, step, 1.0) for step in (1, 2, 3)][-1] is True


def test_a_warm_start_steers_bayesian_search_toward_the_parents_best() -> None:
    space = SearchSpace((integer_range("x", "0", "100"),))
    prior = tuple(FinishedTrial({"x": str(x)}, TrialState.COMPLETED, -abs(x - 70.0)) for x in range(0, 101, 5))
    cold = create_strategy("Bayesian", StrategyConfig(space, Direction.MAXIMIZE, seed=3, budget=8))
    warm = create_strategy("Bayesian", StrategyConfig(space, Direction.MAXIMIZE, seed=3, budget=8, prior=prior))
    # With 21 parent trials the model is past its random start at once and samples near x = 70.
    warm_first = [int(ask(warm).hyperparameters["x"]) for _ in range(5)]
    cold_first = [int(ask(cold).hyperparameters["x"]) for _ in range(5)]
    assert sum(abs(x - 70) for x in warm_first) < sum(abs(x - 70) for x in cold_first)
    assert all(abs(x - 70) <= 20 for x in warm_first)


def test_random_search_uses_a_logarithmic_scale_across_magnitudes() -> None:
    space = SearchSpace((continuous_range("lr", "0.0001", "1", "Logarithmic"),))
    search = create_strategy("Random", StrategyConfig(space, Direction.MAXIMIZE, seed=0))
    values = []
    for _ in range(200):
        proposal = ask(search)
        values.append(float(proposal.hyperparameters["lr"]))
        search.tell(proposal.trial, TrialState.COMPLETED, objective({"booster": "dart", "depth": "6"}))
    # Uniform in log space: about a quarter of the draws in each decade.
    assert 30 <= sum(value < 0.001 for value in values) <= 70


def test_bayesian_search_models_after_a_short_random_start() -> None:
    # A tenth of the budget, at least 3: TPE draws its random start as Random search with the same seed does,
    # then proposes from its model.
    space = SearchSpace((continuous_range("eta", "0", "1"), integer_range("max_depth", "1", "10")))
    proposals: dict[str, list[dict[str, str]]] = {}
    for name in ("Bayesian", "Random"):
        search = create_strategy(name, StrategyConfig(space, Direction.MAXIMIZE, seed=11, budget=20))
        proposals[name] = []
        for _ in range(5):
            proposal = ask(search)
            proposals[name].append(dict(proposal.hyperparameters))
            search.tell(proposal.trial, TrialState.COMPLETED, float(proposal.hyperparameters["eta"]))
    assert proposals["Bayesian"][:3] == proposals["Random"][:3]
    assert proposals["Bayesian"][3] != proposals["Random"][3]
