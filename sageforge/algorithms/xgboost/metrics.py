"""The container's own evaluation metrics (accuracy, f1, mse, r2, ...), evaluated beside XGBoost's native ones.

The SageMaker container computes these with scikit-learn in a `feval`. Here each is computed from sufficient
statistics (per-class confusion counts, error sums) that are summed over all hosts with XGBoost's
collective, so a distributed job reports the metric of the whole data set, as XGBoost's native metrics do.
Classification metrics turn predictions into class labels first: argmax over class probabilities,
`p > 0.5` for probabilities, `margin > 0` for raw scores (the container's rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xgboost
from xgboost import collective

from sageforge.algorithms.base import UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CustomMetric = Callable[[npt.NDArray[np.float32], xgboost.DMatrix], list[tuple[str, float]]]

# Objectives whose (transformed) predictions are probabilities of class 1, or already class labels.
_PROBABILITY_OBJECTIVES = frozenset({"binary:logistic", "reg:logistic"})
_LABEL_OBJECTIVES = frozenset({"binary:hinge", "multi:softmax"})


@dataclass(frozen=True)
class ClassCounts:
    """Per-class counts over every host: rows with that true label, predictions of it, and hits."""

    support: FloatArray
    predicted: FloatArray
    hits: FloatArray

    @property
    def present(self) -> npt.NDArray[np.bool_]:
        """Classes seen as a label or a prediction: the classes scikit-learn averages over."""
        return (self.support + self.predicted) > 0

    def binary(self, metric: str) -> tuple[float, float, float]:
        """(hits, predicted, support) of class 1; the metric is undefined with more than two classes."""
        if np.count_nonzero(self.present) > 2:
            raise UserError(f"Metric {metric} needs binary labels: Target is multiclass but average='binary'")
        if self.support.shape[0] < 2:
            return 0.0, 0.0, 0.0
        return float(self.hits[1]), float(self.predicted[1]), float(self.support[1])


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    # scikit-learn's zero_division=0: an undefined ratio counts as 0.
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _mean_over_present(values: FloatArray, counts: ClassCounts) -> float:
    present = counts.present
    return float(values[present].mean()) if present.any() else 0.0


def _accuracy(counts: ClassCounts, metric: str) -> float:
    total = counts.support.sum()
    return float(counts.hits.sum() / total) if total else 0.0


def _balanced_accuracy(counts: ClassCounts, metric: str) -> float:
    observed = counts.support > 0
    return float((counts.hits[observed] / counts.support[observed]).mean()) if observed.any() else 0.0


def _f1_macro(counts: ClassCounts, metric: str) -> float:
    false_total = counts.predicted + counts.support - 2 * counts.hits
    return _mean_over_present(_ratio(2 * counts.hits, 2 * counts.hits + false_total), counts)


def _precision_macro(counts: ClassCounts, metric: str) -> float:
    return _mean_over_present(_ratio(counts.hits, counts.predicted), counts)


def _recall_macro(counts: ClassCounts, metric: str) -> float:
    return _mean_over_present(_ratio(counts.hits, counts.support), counts)


def _f1_binary(counts: ClassCounts, metric: str) -> float:
    hits, predicted, support = counts.binary(metric)
    return 2 * hits / (predicted + support) if predicted + support else 0.0


def _precision(counts: ClassCounts, metric: str) -> float:
    hits, predicted, _ = counts.binary(metric)
    return hits / predicted if predicted else 0.0


def _recall(counts: ClassCounts, metric: str) -> float:
    hits, _, support = counts.binary(metric)
    return hits / support if support else 0.0


CLASSIFICATION_METRICS: dict[str, Callable[[ClassCounts, str], float]] = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "f1": _f1_macro,
    "f1_binary": _f1_binary,
    "f1_macro": _f1_macro,
    "precision": _precision,
    "precision_macro": _precision_macro,
    # Micro averages of single-label predictions equal accuracy.
    "precision_micro": _accuracy,
    "recall": _recall,
    "recall_macro": _recall_macro,
    "recall_micro": _accuracy,
}
REGRESSION_METRICS = ("mae", "mse", "r2", "rmse")


def split_metrics(metrics: Sequence[str]) -> tuple[list[str], list[str]]:
    """(native, custom): XGBoost evaluates the first as `eval_metric`; `custom_metric` the second."""
    custom = [metric for metric in metrics if metric in CLASSIFICATION_METRICS or metric in REGRESSION_METRICS]
    return [metric for metric in metrics if metric not in custom], custom


def custom_metric(metrics: Sequence[str], objective: str) -> CustomMetric:
    """An `xgboost.train(custom_metric=...)` function returning `metrics`, in order, for one data set.

    Every host must call it for the same data sets in the same order (XGBoost does), since it sums across hosts.
    """

    def evaluate(predictions: npt.NDArray[np.float32], dmatrix: xgboost.DMatrix) -> list[tuple[str, float]]:
        labels = dmatrix.get_label().astype(np.float64)
        scores: dict[str, float] = {}
        classification = [metric for metric in metrics if metric in CLASSIFICATION_METRICS]
        if classification:
            counts = _class_counts(labels, predicted_labels(predictions, objective))
            scores.update({metric: CLASSIFICATION_METRICS[metric](counts, metric) for metric in classification})
        regression = [metric for metric in metrics if metric in REGRESSION_METRICS]
        if regression:
            scores.update(_regression_scores(labels, predictions, objective, regression))
        return [(metric, scores[metric]) for metric in metrics]

    return evaluate


def predicted_labels(predictions: npt.NDArray[np.float32], objective: str) -> IntArray:
    """Class labels from XGBoost's (transformed) predictions for `objective`."""
    if predictions.ndim == 2:
        return np.asarray(np.argmax(predictions, axis=1), dtype=np.int64)
    if objective in _PROBABILITY_OBJECTIVES:
        return (predictions > 0.5).astype(np.int64)
    if objective in _LABEL_OBJECTIVES:
        return np.rint(predictions).astype(np.int64)
    return (predictions > 0.0).astype(np.int64)


def _class_counts(labels: FloatArray, predicted: IntArray) -> ClassCounts:
    valid = (labels >= 0) & (labels == np.rint(labels))
    truth = np.rint(np.where(valid, labels, 0)).astype(np.int64)
    local_classes = max(int(truth.max(initial=0)), int(predicted.max(initial=0))) + 1
    classes = int(_across_hosts(np.array([local_classes], dtype=np.float64), collective.Op.MAX)[0])
    local = np.concatenate(
        [
            [np.count_nonzero(~valid)],
            np.bincount(truth[valid], minlength=classes),
            np.bincount(predicted, minlength=classes),
            np.bincount(truth[valid & (truth == predicted)], minlength=classes),
        ]
    ).astype(np.float64)
    # Summed before the label check, so that every host raises together rather than one leaving the others waiting.
    total = _across_hosts(local, collective.Op.SUM)
    if total[0]:
        raise UserError("Classification metrics need class labels 0, 1, 2, ...; the data has other labels")
    support, predicted_counts, hits = np.split(total[1:], 3)
    return ClassCounts(support=support, predicted=predicted_counts, hits=hits)


def _regression_scores(
    labels: FloatArray, predictions: npt.NDArray[np.float32], objective: str, metrics: Sequence[str]
) -> dict[str, float]:
    if predictions.ndim != 1:
        raise UserError(f"Metric {metrics[0]} needs one prediction per row; objective {objective} gives several")
    errors = predictions.astype(np.float64) - labels
    count, label_sum, squared, absolute = _across_hosts(
        np.array([labels.size, labels.sum(), np.square(errors).sum(), np.abs(errors).sum()]), collective.Op.SUM
    )
    mse = squared / count if count else 0.0
    scores = {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": absolute / count if count else 0.0}
    if "r2" in metrics:
        # A second pass around the global mean: sum(y^2) - n*mean^2 loses precision for large labels.
        mean = label_sum / count if count else 0.0
        spread = float(_across_hosts(np.array([np.square(labels - mean).sum()]), collective.Op.SUM)[0])
        # scikit-learn's convention when all labels are equal: perfect predictions score 1, others 0.
        scores["r2"] = 1.0 - squared / spread if spread else (1.0 if squared == 0 else 0.0)
    return {metric: float(scores[metric]) for metric in metrics}


def _across_hosts(values: FloatArray, op: collective.Op) -> FloatArray:
    if not collective.is_distributed():
        return values
    return np.asarray(collective.allreduce(values, op), dtype=np.float64)
