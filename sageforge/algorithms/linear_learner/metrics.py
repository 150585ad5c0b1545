"""The final quality metrics Linear Learner prints for each channel, with the tokens its log lines use.

Regressors: `mse`, `absolute_loss` (mean absolute error), `rmse`. Binary classifiers, at the calibrated
threshold: `binary_classification_accuracy`, `binary_f_<beta>` (e.g. `binary_f_1.000`), `precision`,
`recall`, and `roc_auc_score` from the scores (left out when the channel holds one class only). Multiclass
classifiers: `multiclass_accuracy`, `multiclass_top_k_accuracy_<k>`, `dcg` (the mean of 1 / log2(1 + rank of
the true class) [INF]), and the macro averages `macro_precision`, `macro_recall`, `macro_f_<beta>`. A
precision or recall with nothing to divide by is 0 [INF].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.first_party.metric_definitions import Kind
from sageforge.algorithms.linear_learner.model import Predictions

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Metric:
    token: str
    kind: Kind
    value: float


def regression_metrics(predictions: Array, labels: Array) -> list[Metric]:
    residual = predictions - labels
    mse = float(np.mean(residual**2))
    return [
        Metric("mse", "loss", mse),
        Metric("absolute_loss", "loss", float(np.mean(np.abs(residual)))),
        Metric("rmse", "loss", float(np.sqrt(mse))),
    ]


def binary_metrics(predictions: Predictions, labels: Array, beta: float) -> list[Metric]:
    assert predictions.labels is not None
    predicted, actual = predictions.labels == 1, labels == 1
    true_positives = float(np.sum(predicted & actual))
    precision = _ratio(true_positives, float(predicted.sum()))
    recall = _ratio(true_positives, float(actual.sum()))
    metrics = [
        Metric("binary_classification_accuracy", "score", float(np.mean(predicted == actual))),
        Metric(f"binary_f_{beta:.3f}", "score", f_beta(precision, recall, beta)),
        Metric("precision", "score", precision),
        Metric("recall", "score", recall),
    ]
    if 0 < actual.sum() < actual.size:
        metrics.append(Metric("roc_auc_score", "score", roc_auc(predictions.scores, actual)))
    return metrics


def multiclass_metrics(predictions: Predictions, labels: Array, beta: float, top_k: int) -> list[Metric]:
    probabilities = predictions.scores
    classes = probabilities.shape[1]
    actual = labels.astype(np.int64)
    rows = np.arange(actual.size)
    # 1-based rank of the true class among the scores, ties counted against it.
    rank = 1 + np.sum(probabilities > probabilities[rows, actual][:, None], axis=1)
    predicted = np.argmax(probabilities, axis=1)
    precisions, recalls = [], []
    for label in range(classes):
        hits = float(np.sum((predicted == label) & (actual == label)))
        precisions.append(_ratio(hits, float(np.sum(predicted == label))))
        recalls.append(_ratio(hits, float(np.sum(actual == label))))
    return [
        Metric("multiclass_accuracy", "score", float(np.mean(predicted == actual))),
        Metric(f"multiclass_top_k_accuracy_{top_k}", "score", float(np.mean(rank <= top_k))),
        Metric("dcg", "score", float(np.mean(1 / np.log2(1 + rank)))),
        Metric(
            f"macro_f_{beta:.3f}",
            "score",
            float(np.mean([f_beta(p, r, beta) for p, r in zip(precisions, recalls, strict=True)])),
        ),
        Metric("macro_precision", "score", float(np.mean(precisions))),
        Metric("macro_recall", "score", float(np.mean(recalls))),
    ]


def f_beta(precision: float, recall: float, beta: float) -> float:
    denominator = beta**2 * precision + recall
    return float((1 + beta**2) * precision * recall / denominator) if denominator > 0 else 0.0


def roc_auc(scores: Array, positive: npt.NDArray[np.bool_]) -> float:
    """The area under the ROC curve: the Mann-Whitney statistic, ties counting half."""
    # Average ranks (1-based), ties sharing the mean of their ranks; scipy.stats takes a second to import.
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]
    positives = float(positive.sum())
    negatives = float(positive.size) - positives
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0
