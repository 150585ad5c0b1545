"""Choosing the one model Linear Learner keeps, and the threshold of a binary classifier.

The models trained side by side are compared on the calibration rows -- the validation channel when there
is one, else a sample of the training rows (`num_calibration_samples`, `auto` = up to 10,000 [INF]).
Regressors and multiclass classifiers keep the model with the lowest objective loss [INF for multiclass],
within the noise of the calibration rows (see `_lowest_loss`).
Binary classifiers follow `binary_classifier_model_selection_criteria`: for each model the threshold that
maximises the criterion on the calibration rows is found (`accuracy`, `f_beta`, precision among thresholds
whose recall reaches `target_recall`, recall among those whose precision reaches `target_precision`), and the
model with the best value is kept; `loss_function` keeps the lowest loss at the
natural threshold (probability 0.5, margin 0). Values within one calibration row of the best count as a tie,
which the lower calibration loss breaks [INF].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.linear_learner.hyperparameters import TrainingConfig

Array = npt.NDArray[np.float64]
DEFAULT_CALIBRATION_SAMPLES = 10_000


@dataclass(frozen=True)
class Choice:
    model: int
    threshold: float | None
    value: float  # the criterion's value on the calibration rows (the loss for loss-based choices)


def choose_model(
    row_losses: Array,
    training_losses: Array,
    scores: Array | None,
    positive: npt.NDArray[np.bool_] | None,
    config: TrainingConfig,
) -> Choice:
    """The model to keep. `row_losses` (rows, models) are each model's losses on the calibration rows,
    `training_losses` (models,) its mean loss on the training rows; for binary classifiers `scores` (rows,
    models) are the probabilities or margins and `positive` (rows,) marks the rows labelled 1."""
    row_losses = np.where(np.isfinite(row_losses), row_losses, np.inf)
    training_losses = np.where(np.isfinite(training_losses), training_losses, np.inf)
    if config.predictor_type != "binary_classifier" or config.selection_criteria == "loss_function":
        best = _lowest_loss(row_losses, training_losses)
        threshold = natural_threshold(config) if config.predictor_type == "binary_classifier" else None
        return Choice(best, threshold, float(row_losses[:, best].mean()))
    assert scores is not None and positive is not None
    values, thresholds = calibrate(scores, positive, config)
    values = np.where(np.isfinite(values), values, -np.inf)
    # Values one calibration row apart say little about which model is better [INF]: among the models that
    # close to the best value, the lowest calibration loss wins.
    close = values >= values.max() - 1 / scores.shape[0] - 1e-12
    best = int(np.argmin(np.where(close, row_losses.mean(axis=0), np.inf)))
    return Choice(best, float(thresholds[best]), float(values[best]))


def _lowest_loss(row_losses: Array, training_losses: Array) -> int:
    """The one-standard-error rule: the models whose mean calibration loss exceeds the lowest by less than
    the standard error of the (paired) difference are as good as it, and of them the one that fits the
    training rows best is kept [INF]. On a small calibration set this stops a model whose weights happen
    to suit those few rows from beating models that converged."""
    means = row_losses.mean(axis=0)
    best = int(np.argmin(means))
    rows = row_losses.shape[0]
    if rows < 2 or not np.isfinite(means[best]):
        return best
    with np.errstate(invalid="ignore"):
        differences = row_losses - row_losses[:, best : best + 1]
        standard_errors = differences.std(axis=0, ddof=1) / np.sqrt(rows)
        tied = (means - means[best]) <= standard_errors
    return int(np.argmin(np.where(tied, training_losses, np.inf)))


def calibrate(scores: Array, positive: npt.NDArray[np.bool_], config: TrainingConfig) -> tuple[Array, Array]:
    """For each model (column of `scores`), the best value of the selection criterion over every threshold,
    and that threshold: a row is predicted 1 when its score is above it."""
    rows = scores.shape[0]
    order = np.argsort(-scores, axis=0, kind="stable")
    ranked = np.take_along_axis(scores, order, axis=0)  # descending per model
    cuts = np.arange(rows + 1, dtype=np.float64)[:, None]  # predict the top `cut` rows positive
    true_positives = np.vstack([np.zeros((1, scores.shape[1])), np.cumsum(positive[order], axis=0)])
    false_positives = cuts - true_positives
    total_positive = float(positive.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(cuts > 0, true_positives / cuts, 1.0)
        recall = true_positives / total_positive if total_positive else np.zeros_like(true_positives)
        if config.selection_criteria == "accuracy":
            values = (true_positives + (rows - total_positive) - false_positives) / rows
        elif config.selection_criteria == "f_beta":
            beta2 = config.f_beta**2
            values = np.nan_to_num((1 + beta2) * precision * recall / (beta2 * precision + recall))
        elif config.selection_criteria == "precision_at_target_recall":
            values = np.where(recall >= config.target_recall, precision, -np.inf)
        else:
            values = np.where(precision >= config.target_precision, recall, -np.inf)
    # A cut between two equal scores is no threshold.
    splittable = np.ones_like(values, dtype=bool)
    splittable[1:-1] = ranked[:-1] != ranked[1:]
    values = np.where(splittable, values, -np.inf)
    best_values = values.max(axis=0)
    thresholds = _thresholds(ranked, natural_threshold(config))
    # Of the cuts that reach the best value (a small calibration set has many), the one whose threshold is
    # nearest the natural one: it generalises best [INF].
    distance = np.where(values >= best_values, np.abs(thresholds - natural_threshold(config)), np.inf)
    best = np.argmin(distance, axis=0)
    models = np.arange(scores.shape[1])
    return best_values, thresholds[best, models]


def natural_threshold(config: TrainingConfig) -> float:
    """Where a binary classifier's score says "as likely 1 as 0": probability 0.5, margin 0."""
    return 0.5 if config.loss == "logistic" else 0.0


def _thresholds(ranked: Array, natural: float) -> Array:
    """The threshold of every cut (rows + 1, models): the value nearest `natural` that puts exactly the top
    `cut` scores above it."""
    columns = ranked.shape[1]
    lowest = np.vstack([ranked, np.full((1, columns), -np.inf)])  # the threshold may equal the first score left out
    highest = np.vstack([np.full((1, columns), np.inf), np.nextafter(ranked, -np.inf)])  # and stays below the last in
    result: Array = np.clip(natural, lowest, highest)
    return result
