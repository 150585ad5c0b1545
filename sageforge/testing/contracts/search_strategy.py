"""The contract every HPO ``SearchStrategy`` passes.

Use it by subclassing in a test module and providing a ``make_strategy`` fixture that builds the strategy
from a ``StrategyConfig`` (adding whatever else it needs, such as Hyperband's resources)::

    class TestMyStrategy(SearchStrategyContract):
        @pytest.fixture
        def make_strategy(self) -> Callable[[StrategyConfig], SearchStrategy]:
            return lambda config: create_strategy("Mine", config)

The space is small and discrete (a categorical and an integer range) so that every strategy, Grid included,
can search it; the objective peaks at one known configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import pytest

from sageforge.hpo.ranges import CategoricalRange, IntegerRange, SearchSpace, grid_size
from sageforge.hpo.strategy import SearchStrategy, StrategyConfig
from sageforge.hpo.trials import Direction, FinishedTrial, Proposal, TrialState

SPACE = SearchSpace((CategoricalRange("booster", ("gbtree", "dart", "gblinear")), IntegerRange("depth", 1, 8)))
SIZE = grid_size(SPACE)


def objective(hyperparameters: Mapping[str, str]) -> float:
    """Highest (0) at booster=dart, depth=6."""
    return -abs(int(hyperparameters["depth"]) - 6) - (0 if hyperparameters["booster"] == "dart" else 3)


def ask(strategy: SearchStrategy) -> Proposal:
    proposal = strategy.ask()
    assert proposal is not None
    return proposal


class SearchStrategyContract:
    @pytest.fixture
    def make_strategy(self) -> Callable[[StrategyConfig], SearchStrategy]:
        raise NotImplementedError("provide a `make_strategy` fixture: StrategyConfig -> the strategy under test")

    @pytest.fixture
    def config(self) -> StrategyConfig:
        return StrategyConfig(SPACE, Direction.MAXIMIZE, seed=7, budget=SIZE)

    def test_proposals_lie_in_the_space(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        strategy = make_strategy(config)
        for _ in range(10):
            proposal = ask(strategy)
            assert set(proposal.hyperparameters) == {"booster", "depth"}
            assert proposal.hyperparameters["booster"] in ("gbtree", "dart", "gblinear")
            assert 1 <= int(proposal.hyperparameters["depth"]) <= 8
            strategy.tell(proposal.trial, TrialState.COMPLETED, objective(proposal.hyperparameters))

    def test_trials_are_numbered_from_zero_without_repeats(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        strategy = make_strategy(config)
        assert [ask(strategy).trial for _ in range(5)] == [0, 1, 2, 3, 4]

    def test_concurrent_trials_end_in_any_order_and_any_state(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        strategy = make_strategy(config)
        first, second, third, fourth = (ask(strategy) for _ in range(4))
        strategy.tell(fourth.trial, TrialState.COMPLETED, objective(fourth.hyperparameters))
        strategy.tell(second.trial, TrialState.FAILED, None)
        assert strategy.report(first.trial, 1, -1.0) in (True, False)
        strategy.tell(first.trial, TrialState.STOPPED, -1.0)
        # Completed without emitting the objective: counted as failed, and the search goes on.
        strategy.tell(third.trial, TrialState.COMPLETED, None)
        assert ask(strategy).trial == 4

    def test_reports_are_answered_at_every_step(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        strategy = make_strategy(config)
        for _ in range(3):
            proposal = ask(strategy)
            value = objective(proposal.hyperparameters)
            for step in range(1, 6):
                if strategy.report(proposal.trial, step, value):
                    strategy.tell(proposal.trial, TrialState.STOPPED, value)
                    break
            else:
                strategy.tell(proposal.trial, TrialState.COMPLETED, value)

    def test_the_same_seed_proposes_the_same_configurations(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        runs = []
        for _ in range(2):
            strategy = make_strategy(config)
            proposals = []
            for _ in range(8):
                proposal = ask(strategy)
                proposals.append(dict(proposal.hyperparameters))
                strategy.tell(proposal.trial, TrialState.COMPLETED, objective(proposal.hyperparameters))
            runs.append(proposals)
        assert runs[0] == runs[1]

    def test_a_resumed_search_numbers_on_after_its_history(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        history = (
            FinishedTrial({"booster": "gbtree", "depth": "1"}, TrialState.COMPLETED, -8.0, (-9.0, -8.0)),
            FinishedTrial({"booster": "dart", "depth": "2"}, TrialState.FAILED, None),
            FinishedTrial({"booster": "gblinear", "depth": "3"}, TrialState.STOPPED, -6.0, (-6.0,)),
        )
        strategy = make_strategy(replace(config, history=history))
        proposal = ask(strategy)
        assert proposal.trial == len(history)
        strategy.tell(proposal.trial, TrialState.COMPLETED, objective(proposal.hyperparameters))

    def test_a_warm_start_keeps_numbering_from_zero(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        prior = (
            FinishedTrial({"booster": "dart", "depth": "6", "eta": "0.3"}, TrialState.COMPLETED, 0.0),
            FinishedTrial({"booster": "other", "depth": "99"}, TrialState.COMPLETED, -1.0),
        )
        assert ask(make_strategy(replace(config, prior=prior))).trial == 0

    def test_none_only_once_every_configuration_was_proposed(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        strategy = make_strategy(config)
        seen: set[tuple[str, ...]] = set()
        for _ in range(SIZE + 1):
            proposal = strategy.ask()
            if proposal is None:
                assert len(seen) == SIZE
                return
            seen.add(tuple(proposal.hyperparameters.values()))
            strategy.tell(proposal.trial, TrialState.COMPLETED, objective(proposal.hyperparameters))

    def test_finds_a_near_optimal_configuration(
        self, make_strategy: Callable[[StrategyConfig], SearchStrategy], config: StrategyConfig
    ) -> None:
        strategy = make_strategy(config)
        best = float("-inf")
        for _ in range(SIZE):
            proposal = strategy.ask()
            if proposal is None:
                break
            value = objective(proposal.hyperparameters)
            best = max(best, value)
            strategy.tell(proposal.trial, TrialState.COMPLETED, value)
        # Within one step of the optimum: dart at depth 5, 6 or 7.
        assert best >= -1
