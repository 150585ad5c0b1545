"""Mini-batch training of a factorization machine: squared loss (regressor) or logistic loss (binary
classifier), gradients in O(nnz * k) per batch, and Adam with each group's learning rate and weight decay.

Every epoch visits the rows in a fresh random order [INF]. Updates are lazy, as MXNet's sparse Adam makes
them for FM: a batch moves (and decays) only the bias, and the linear weights and factor rows of the features
present in it, so a batch costs O(nnz * k) however wide the data. Per parameter the gradient is the batch
mean, times `rescale_grad`, clipped to `clip_gradient`, plus `wd * parameter`. The seed is fixed, so a job
trains the same model from the same data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

from sageforge.algorithms.factorization_machines.hyperparameters import GroupSettings, Initializer, TrainingConfig
from sageforge.algorithms.factorization_machines.model import Array, FactorizationMachine, as_csr, sigmoid
from sageforge.algorithms.first_party.metric_definitions import Kind

SEED = 0
_BETA_1, _BETA_2 = 0.9, 0.999


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    loss: float  # mean over the epoch's rows, as each batch saw the model: squared error or cross entropy
    accuracy: float | None  # binary classifiers: share of rows whose label the batch's model got right
    records_per_second: float


class _Adam:
    """Adam state for one parameter array, updated on chosen rows only."""

    def __init__(self, parameter: Array, settings: GroupSettings, config: TrainingConfig) -> None:
        self.parameter, self.settings, self.config = parameter, settings, config
        self.first = np.zeros_like(parameter)
        self.second = np.zeros_like(parameter)

    def step(self, rows: Any, gradient: Array, step: int) -> None:
        gradient = gradient * self.config.rescale_grad
        if self.config.clip_gradient is not None:
            gradient = np.clip(gradient, -self.config.clip_gradient, self.config.clip_gradient)
        gradient = gradient + self.settings.weight_decay * self.parameter[rows]
        first = _BETA_1 * self.first[rows] + (1 - _BETA_1) * gradient
        second = _BETA_2 * self.second[rows] + (1 - _BETA_2) * gradient**2
        self.first[rows], self.second[rows] = first, second
        corrected = np.sqrt(1 - _BETA_2**step) / (1 - _BETA_1**step)
        self.parameter[rows] -= self.settings.learning_rate * corrected * first / (np.sqrt(second) + self.config.eps)


def initial_model(config: TrainingConfig, rng: np.random.Generator) -> FactorizationMachine:
    return FactorizationMachine(
        config.predictor_type,
        _initial(config.bias.init, (1,), rng),
        _initial(config.linear.init, (config.feature_dim,), rng),
        _initial(config.factors.init, (config.feature_dim, config.num_factors), rng),
    )


def fit(
    features: Any, labels: Array, config: TrainingConfig, report: Callable[[EpochReport], None]
) -> FactorizationMachine:
    """Train on (n, d) `features` (dense or CSR) and their labels; `report` is called after each epoch."""
    rng = np.random.default_rng(SEED)
    x = as_csr(features)
    model = initial_model(config, rng)
    optimizers = (
        _Adam(model.w0, config.bias, config),
        _Adam(model.w, config.linear, config),
        _Adam(model.v, config.factors, config),
    )
    step = 0
    for epoch in range(config.epochs):
        started, loss_sum, right = time.perf_counter(), 0.0, 0.0
        order = rng.permutation(x.shape[0])
        for start in range(0, order.size, config.mini_batch_size):
            rows = order[start : start + config.mini_batch_size]
            step += 1
            batch_loss, batch_right = _batch_step(model, optimizers, x[rows], labels[rows], step)
            loss_sum += batch_loss
            right += batch_right
        elapsed = max(time.perf_counter() - started, 1e-9)
        binary = config.predictor_type == "binary_classifier"
        report(EpochReport(epoch, loss_sum / order.size, right / order.size if binary else None, order.size / elapsed))
    return model


def _batch_step(
    model: FactorizationMachine, optimizers: tuple[_Adam, _Adam, _Adam], batch: Any, labels: Array, step: int
) -> tuple[float, float]:
    """One Adam step on `batch`; the summed loss and the count of right labels, before the step."""
    # The batch over its own columns only: every product below is O(nnz * k).
    columns, compact = np.unique(batch.indices, return_inverse=True)
    x = scipy.sparse.csr_matrix((batch.data, compact.ravel(), batch.indptr), shape=(batch.shape[0], columns.size))
    v, w = model.v[columns], model.w[columns]
    projected = x @ v  # (n, k)
    x_squared = x.multiply(x)
    raw = model.w0[0] + x @ w + 0.5 * np.sum(projected**2 - x_squared @ (v**2), axis=1)
    if model.predictor_type == "regressor":
        residual = raw - labels
        loss, right, gradient = float(np.sum(residual**2)), 0.0, residual
    else:
        probability = sigmoid(raw)
        # -log p = logaddexp(0, -raw); -log(1 - p) = logaddexp(0, raw)
        loss = float(np.sum(np.logaddexp(0.0, np.where(labels == 1, -raw, raw))))
        right = float(np.sum((probability >= 0.5) == (labels == 1)))
        gradient = probability - labels
    gradient = gradient / labels.size  # the batch mean
    x_t = x.T.tocsr()
    factor_gradient = x_t @ (gradient[:, None] * projected) - v * np.asarray(x_squared.T @ gradient)[:, None]
    optimizers[0].step(slice(None), np.array([gradient.sum()]), step)
    optimizers[1].step(columns, np.asarray(x_t @ gradient), step)
    optimizers[2].step(columns, np.asarray(factor_gradient), step)
    return loss, right


def _initial(init: Initializer, shape: tuple[int, ...], rng: np.random.Generator) -> Array:
    if init.method == "normal":
        return rng.normal(0.0, init.spread, size=shape)
    if init.method == "uniform":
        return rng.uniform(-init.spread, init.spread, size=shape)
    return np.full(shape, init.value, dtype=np.float64)


def final_metrics(model: FactorizationMachine, features: Any, labels: Array) -> list[tuple[str, Kind, float]]:
    """(token, kind, value) of the final metrics of one channel: `rmse`, or accuracy, cross entropy and F1."""
    predictions = model.predict(features)
    if predictions.labels is None:
        return [("rmse", "loss", float(np.sqrt(np.mean((predictions.scores - labels) ** 2))))]
    raw = model.raw_scores(features)
    predicted, actual = predictions.labels == 1, labels == 1
    hits = float(np.sum(predicted & actual))
    precision = hits / float(predicted.sum()) if predicted.any() else 0.0
    recall = hits / float(actual.sum()) if actual.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return [
        ("binary_classification_accuracy", "score", float(np.mean(predicted == actual))),
        ("binary_classification_cross_entropy", "loss", float(np.mean(np.logaddexp(0.0, np.where(actual, -raw, raw))))),
        ("binary_f_1.000", "score", f1),
    ]
