"""SageMaker's median early-stopping rule and Hyperband's bracket scheduler, decision by decision."""

from __future__ import annotations

from sageforge.hpo.early_stopping import MedianStoppingRule
from sageforge.hpo.hyperband import HyperbandScheduler
from sageforge.hpo.trials import Direction


def test_median_rule_compares_with_earlier_trials_running_averages_at_the_same_step() -> None:
    rule = MedianStoppingRule(Direction.MAXIMIZE, [[0.9, 0.5], [0.8, 0.8], [0.7, 0.9]])
    # Step 1: running averages 0.9, 0.8, 0.7 -> median 0.8.
    assert rule.observe(10, 1, 0.85) is False
    # Step 2: averages 0.7, 0.8, 0.8 -> median 0.8; 0.79 is worse.
    assert rule.observe(10, 2, 0.79) is True


def test_median_rule_waits_for_enough_earlier_trials_and_learns_from_those_that_end() -> None:
    rule = MedianStoppingRule(Direction.MINIMIZE, [[1.0], [1.0]])
    assert rule.observe(0, 1, 5.0) is False  # two earlier trials are not enough
    rule.finish(0)
    # Now three: averages 1.0, 1.0, 5.0 -> median 1.0.
    assert rule.observe(1, 1, 2.0) is True
    assert rule.observe(2, 1, 0.5) is False


def test_median_rule_ignores_earlier_trials_that_did_not_reach_the_step() -> None:
    rule = MedianStoppingRule(Direction.MAXIMIZE, [[0.9], [0.9], [0.9], [0.1, 0.1, 0.1]])
    rule.observe(7, 1, 0.95)
    assert rule.observe(7, 2, 0.05) is False  # only one earlier trial reached step 2


def test_hyperband_brackets_have_geometric_rungs_below_the_maximum() -> None:
    scheduler = HyperbandScheduler(Direction.MAXIMIZE, 1, 27)
    assert scheduler.bracket_count == 4
    assert [scheduler.rungs(bracket) for bracket in range(4)] == [[1, 3, 9], [3, 9], [9], []]


def test_hyperband_deals_more_trials_to_aggressive_brackets_deterministically() -> None:
    first, second = HyperbandScheduler(Direction.MAXIMIZE, 1, 9), HyperbandScheduler(Direction.MAXIMIZE, 1, 9)
    brackets = [first.bracket(trial) for trial in range(17)]
    assert brackets == [second.bracket(trial) for trial in range(17)]
    # Hyperband's n_i for R/r = 9, eta = 3: 9, 5 and 3 configurations.
    assert [brackets.count(bracket) for bracket in range(3)] == [9, 5, 3]


def test_hyperband_keeps_the_best_third_at_a_rung() -> None:
    scheduler = HyperbandScheduler(Direction.MAXIMIZE, 1, 9)
    in_bracket_0 = [trial for trial in range(40) if scheduler.bracket(trial) == 0][:4]
    decisions = [
        scheduler.observe(trial, 1, value) for trial, value in zip(in_bracket_0, (0.5, 0.9, 0.6, 0.95), strict=True)
    ]
    # The first at a rung carries on; then each must be in the best third of those that reached it.
    assert decisions == [False, False, True, False]


def test_hyperband_rebuilds_its_rungs_from_a_resumed_searchs_history() -> None:
    fresh = HyperbandScheduler(Direction.MINIMIZE, 1, 9)
    bracket_0 = [trial for trial in range(40) if fresh.bracket(trial) == 0]
    history: list[list[float]] = [[] for _ in range(bracket_0[3])]
    for trial, value in zip(bracket_0[:3], (0.1, 0.2, 0.3), strict=True):
        history[trial] = [value]
    resumed = HyperbandScheduler(Direction.MINIMIZE, 1, 9, history)
    assert resumed.observe(bracket_0[3], 1, 0.25) is True
    assert resumed.observe(bracket_0[4], 1, 0.05) is False
