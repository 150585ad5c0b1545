"""Tuning-job completion criteria over the objectives of finished trials."""

from __future__ import annotations

from sageforge.hpo.completion import CompletionCriteria, CompletionReason, Progress
from sageforge.hpo.trials import Direction


def test_target_objective_is_reached_at_or_beyond_it() -> None:
    maximize = Progress(Direction.MAXIMIZE, CompletionCriteria(target=0.95), [0.9])
    assert maximize.reason() is None
    maximize.add(0.95)
    assert maximize.reason() is CompletionReason.TARGET_REACHED
    minimize = Progress(Direction.MINIMIZE, CompletionCriteria(target=0.2), [0.3, 0.19])
    assert minimize.reason() is CompletionReason.TARGET_REACHED


def test_not_improving_counts_trials_that_gain_one_percent_or_less() -> None:
    progress = Progress(Direction.MAXIMIZE, CompletionCriteria(max_not_improving=3), [0.80, 0.85])
    assert progress.not_improving == 0
    progress.add(0.855)  # better, but by less than 1%
    progress.add(0.5)
    assert progress.not_improving == 2 and progress.reason() is None
    progress.add(0.86)
    assert progress.reason() is CompletionReason.NOT_IMPROVING
    assert progress.best == 0.86
    progress.add(0.95)
    assert progress.not_improving == 0


def test_convergence_needs_enough_trials_and_a_flat_second_half() -> None:
    criteria = CompletionCriteria(complete_on_convergence=True)
    climbing = Progress(Direction.MINIMIZE, criteria, [10.0 - i for i in range(10)])
    assert not climbing.converged and climbing.reason() is None
    flat = Progress(Direction.MINIMIZE, criteria, [5.0, 4.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.995, 1.2])
    assert flat.converged and flat.reason() is CompletionReason.CONVERGED
    assert Progress(Direction.MINIMIZE, CompletionCriteria(), [1.0] * 12).reason() is None
