"""Linear Learner's loss functions, vectorised over a batch of rows and over the models trained side by side.

A loss takes scores of shape (rows, models, outputs) -- one output for regression and binary classification,
one per class for multiclass -- and labels of shape (rows,), and returns the per-row loss (rows, models) and
its gradient with respect to the scores (rows, models, outputs). Each loss also names the token its objective
is printed under (`mse_objective`, `binary_classification_cross_entropy_objective`; the tokens of the losses
whose log lines were not observed follow `<loss>_objective` [INF]).

Regression losses carry parameters in label units (`loss_insensitivity`, `huber_delta`); training works on
normalised labels, so `regression_loss` takes the label scale and converts them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Loss:
    """One loss function: `name` as in the `loss` hyperparameter, `token` as printed, parameters in label units."""

    name: str
    token: str
    insensitivity: float = 0.0
    huber_delta: float = 1.0
    quantile: float = 0.5
    margin: float = 1.0

    def __call__(self, scores: Array, labels: Array) -> tuple[Array, Array]:
        """Per-row loss (rows, models) and d loss / d scores (rows, models, outputs)."""
        if self.name == "softmax_loss":
            return _softmax(scores, labels)
        score = scores[..., 0]
        label = labels[:, None]
        value, gradient = _BINARY_OR_REGRESSION[self.name](self, score, label)
        return value, gradient[..., None]

    def in_normalised_units(self, label_scale: float) -> Loss:
        """The same loss on labels divided by `label_scale` (what training sees)."""
        return Loss(
            self.name,
            self.token,
            insensitivity=self.insensitivity / label_scale,
            huber_delta=self.huber_delta / label_scale,
            quantile=self.quantile,
            margin=self.margin,
        )


def _squared(loss: Loss, score: Array, label: Array) -> tuple[Array, Array]:
    residual = score - label
    return residual**2, 2 * residual


def _absolute(loss: Loss, score: Array, label: Array) -> tuple[Array, Array]:
    residual = score - label
    return np.abs(residual), np.sign(residual)


def _eps_squared(loss: Loss, score: Array, label: Array) -> tuple[Array, Array]:
    residual = score - label
    excess = np.maximum(np.abs(residual) - loss.insensitivity, 0)
    return excess**2, 2 * excess * np.sign(residual)


def _eps_absolute(loss: Loss, score: Array, label: Array) -> tuple[Array, Array]:
    residual = score - label
    excess = np.abs(residual) - loss.insensitivity
    return np.maximum(excess, 0), np.sign(residual) * (excess > 0)


def _quantile(loss: Loss, score: Array, label: Array) -> tuple[Array, Array]:
    residual = label - score
    value = np.maximum(loss.quantile * residual, (loss.quantile - 1) * residual)
    return value, np.where(residual > 0, -loss.quantile, 1 - loss.quantile)


def _huber(loss: Loss, score: Array, label: Array) -> tuple[Array, Array]:
    residual = score - label
    delta = loss.huber_delta
    small = np.abs(residual) <= delta
    value = np.where(small, 0.5 * residual**2, delta * (np.abs(residual) - 0.5 * delta))
    return value, np.clip(residual, -delta, delta)


def _logistic(loss: Loss, score: Array, label: Array) -> tuple[Array, Array]:
    # log(1 + e^s) - y s, written so that no exponential overflows.
    value = np.logaddexp(0, score) - label * score
    return value, sigmoid(score) - label


def _hinge(loss: Loss, score: Array, label: Array) -> tuple[Array, Array]:
    sign = 2 * label - 1  # labels 0/1 as -1/+1
    slack = loss.margin - sign * score
    return np.maximum(slack, 0), -sign * (slack > 0)


def _softmax(scores: Array, labels: Array) -> tuple[Array, Array]:
    classes = labels.astype(np.int64)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=-1))
    rows = np.arange(scores.shape[0])
    value = log_norm - shifted[rows, :, classes]
    gradient = np.exp(shifted - log_norm[..., None])
    gradient[rows, :, classes] -= 1
    return value, gradient


_BINARY_OR_REGRESSION = {
    "squared_loss": _squared,
    "absolute_loss": _absolute,
    "eps_insensitive_squared_loss": _eps_squared,
    "eps_insensitive_absolute_loss": _eps_absolute,
    "quantile_loss": _quantile,
    "huber_loss": _huber,
    "logistic": _logistic,
    "hinge_loss": _hinge,
}
_TOKENS = {
    "squared_loss": "mse_objective",
    "logistic": "binary_classification_cross_entropy_objective",
    "softmax_loss": "multiclass_cross_entropy_objective",
}


def make_loss(name: str, *, insensitivity: float, huber_delta: float, quantile: float, margin: float) -> Loss:
    """The loss called `name` in the `loss` hyperparameter (already resolved from `auto`)."""
    return Loss(
        name,
        _TOKENS.get(name, f"{name}_objective"),
        insensitivity=insensitivity,
        huber_delta=huber_delta,
        quantile=quantile,
        margin=margin,
    )


def sigmoid(score: Array) -> Array:
    result: Array = np.exp(-np.logaddexp(0, -score))
    return result


def softmax(scores: Array) -> Array:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    result: Array = shifted / shifted.sum(axis=-1, keepdims=True)
    return result
