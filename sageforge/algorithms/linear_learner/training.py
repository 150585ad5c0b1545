"""Linear Learner's training as SageMaker describes it: normalise, train several models side by side with
mini-batch SGD/Adam/RMSprop, stop early, keep the best model and calibrate it.

The models differ in learning rate, L2 weight decay (`wd`) and, for binary classifiers with
`positive_example_weight_mult=auto`, the weight of positive rows (1 or balanced). Each of those left `auto`
is swept over a small grid [INF: SageMaker does not document its grid]: learning rates 0.1, 0.01, 0.03,
0.003 (Adam, sgd; rmsprop a third of them), `wd` 0, 1e-3, 1e-4, 1e-2; `l1` `auto` is 0. `num_models`
`auto` trains the whole grid; a number takes that many of its combinations, spread over them (then cycles,
with other initial weights). All models are one weight tensor (features, models, outputs), so every
mini-batch is one matrix product for all of them.

Per step: gradient of the mean loss plus `wd` * w (the bias gets `wd` * `bias_wd_mult`, `auto` 0), one
optimiser step (the bias at `bias_lr_mult` times the rate, `auto` 1), then L1 as a soft threshold. The
learning-rate schedule multiplies the rate by `lr_scheduler_factor` (`auto` 0.9) every `lr_scheduler_step`
updates (`auto`: once per epoch) down to `lr_scheduler_minimum_lr` (`auto` 1e-5) [INF].

After each epoch every model is scored on the validation channel (else its mean training loss that epoch
stands); each keeps its best epoch's weights, and stops (its weights frozen) once its score has not improved
by `early_stopping_tolerance` (relative) for `early_stopping_patience` epochs; training ends when every model
has stopped. What is scored and kept is not the last step's weights but an average of the iterates: the
mean over the epoch's steps, blended with the previous epochs' (an exponential average keeping 0.7 of them).
Averaging iterates (Polyak-Ruppert) cancels mini-batch noise, which on a small validation set would
otherwise let a noisy early epoch win by luck [INF, like stopping each model on its own, which keeps a
fast model from cutting slower ones short]. Early stopping watches the objective loss, also when
SageMaker would watch the selection criterion [INF]. Rows are shuffled every epoch with a fixed seed, so a
job is reproducible.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.linear_learner.hyperparameters import TrainingConfig
from sageforge.algorithms.linear_learner.losses import Loss, make_loss, sigmoid
from sageforge.algorithms.linear_learner.model import LinearModel
from sageforge.algorithms.linear_learner.normalization import Normalizer, fit_normalizer
from sageforge.algorithms.linear_learner.optimizers import Optimizer
from sageforge.algorithms.linear_learner.selection import DEFAULT_CALIBRATION_SAMPLES, Choice, choose_model

Array = npt.NDArray[np.float64]
SEED = 0
_LEARNING_RATES = {
    "adam": (0.1, 0.01, 0.03, 0.003),
    "sgd": (0.1, 0.01, 0.03, 0.003),
    "rmsprop": (0.03, 0.003, 0.01, 0.001),
}
_WEIGHT_DECAYS = (0.0, 1e-3, 1e-4, 1e-2)
_SCHEDULER_FACTOR = 0.9
_SCHEDULER_MINIMUM_LR = 1e-5
_SCORING_CHUNK = 8192
# How much of the previous epochs' average weights each epoch's candidate keeps (see the module docstring).
_AVERAGE_DECAY = 0.7


@dataclass(frozen=True)
class Rows:
    """Features (dense float32 or CSR) and labels of one channel."""

    features: Any
    labels: Array


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    train_loss: float  # the best model's mean training loss over the epoch
    validation_loss: float | None
    records_per_second: float


@dataclass(frozen=True)
class ModelGrid:
    """The settings of each parallel model, one entry per model."""

    learning_rates: Array
    weight_decays: Array
    l1: Array
    positive_weights: Array  # binary classifiers: the weight of rows labelled 1

    @property
    def size(self) -> int:
        return int(self.learning_rates.size)


@dataclass(frozen=True)
class FitResult:
    model: LinearModel
    choice: Choice
    grid: ModelGrid
    epochs_run: int


def model_grid(config: TrainingConfig, balanced_weight: float) -> ModelGrid:
    """The settings of the parallel models; `balanced_weight` is negatives / positives in the training rows."""
    rates = _LEARNING_RATES[config.optimizer] if config.learning_rate is None else (config.learning_rate,)
    decays = _WEIGHT_DECAYS if config.wd is None else (config.wd,)
    l1 = 0.0 if config.l1 is None else config.l1
    multiplier = config.positive_example_weight_mult
    positive_weights: tuple[float, ...]
    if config.predictor_type != "binary_classifier":
        positive_weights = (1.0,)
    elif multiplier == "auto":
        positive_weights = (1.0, balanced_weight)
    else:
        positive_weights = (balanced_weight,) if multiplier == "balanced" else (float(multiplier),)
    # Learning rate varies fastest, so that a few models already try several rates.
    combinations = [
        (rate, decay, positive) for positive, decay, rate in itertools.product(positive_weights, decays, rates)
    ]
    count = len(combinations) if config.num_models is None else config.num_models
    if count <= len(combinations):
        picked = np.linspace(0, len(combinations) - 1, count).round().astype(int) if count > 1 else np.array([0])
    else:
        picked = np.arange(count) % len(combinations)
    chosen = [combinations[index] for index in picked]
    return ModelGrid(
        learning_rates=np.array([rate for rate, _, _ in chosen]),
        weight_decays=np.array([decay for _, decay, _ in chosen]),
        l1=np.full(len(chosen), l1),
        positive_weights=np.array([positive for _, _, positive in chosen]),
    )


def fit(
    train: Rows, validation: Rows | None, config: TrainingConfig, on_epoch: Callable[[EpochReport], None]
) -> FitResult:
    """Train the parallel models on `train`, keep and calibrate the best one; the model over raw features."""
    rng = np.random.default_rng(SEED)
    normalizer = fit_normalizer(train.features, train.labels, config, rng)
    loss = make_loss(
        config.loss,
        insensitivity=config.loss_insensitivity,
        huber_delta=config.huber_delta,
        quantile=config.quantile,
        margin=config.margin,
    )
    positives = float(np.sum(train.labels == 1))
    balanced = (train.labels.size - positives) / positives if positives else 1.0
    grid = model_grid(config, balanced)
    trainer = _Trainer(config, grid, normalizer, loss, train, rng)
    validation_features = normalizer.features(validation.features) if validation is not None else None
    epochs_run = trainer.run(validation_features, validation.labels if validation is not None else None, on_epoch)
    calibration = validation if validation is not None else _sample(train, config, rng)
    choice = _choose(trainer, calibration, config, rng)
    weights, bias = normalizer.to_original(trainer.best_weights[:, choice.model, :], trainer.best_bias[choice.model])
    model = LinearModel(config.predictor_type, config.loss, weights, bias, choice.threshold)
    return FitResult(model, choice, grid, epochs_run)


class _Trainer:
    """The weights of every model and the loop that trains them."""

    def __init__(
        self,
        config: TrainingConfig,
        grid: ModelGrid,
        normalizer: Normalizer,
        loss: Loss,
        train: Rows,
        rng: np.random.Generator,
    ) -> None:
        self.config, self.grid, self.normalizer, self.loss, self.rng = config, grid, normalizer, loss, rng
        self.training_loss = loss.in_normalised_units(normalizer.label_scale)
        self.features = normalizer.features(train.features)
        self.labels = train.labels.astype(np.float64)
        self.normalised_labels = normalizer.labels(self.labels) if not config.is_classifier else self.labels
        dimension, models, outputs = self.features.shape[1], grid.size, config.num_classes
        shape = (dimension, models, outputs)
        if config.init_method == "uniform":
            self.weights = rng.uniform(-config.init_scale, config.init_scale, size=shape)
        else:
            self.weights = rng.normal(0.0, config.init_sigma, size=shape)
        self.bias = np.full((models, outputs), config.init_bias if config.use_bias else 0.0)
        self.best_weights, self.best_bias = self.weights.copy(), self.bias.copy()
        self.updates = 0
        self.row_weights = self._row_weights()
        self.optimizer = Optimizer(
            config.optimizer,
            [self.weights, self.bias] if config.use_bias else [self.weights],
            beta_1=config.beta_1,
            beta_2=config.beta_2,
            momentum=config.momentum,
        )

    def _row_weights(self) -> Array | None:
        """Per-row, per-model weights of the loss (rows, models), or None when all are 1."""
        config, labels = self.config, self.labels
        if config.predictor_type == "binary_classifier" and np.any(self.grid.positive_weights != 1):
            return np.where(labels[:, None] == 1, self.grid.positive_weights[None, :], 1.0)
        if config.predictor_type == "multiclass_classifier" and config.balance_multiclass_weights:
            counts = np.bincount(labels.astype(np.int64), minlength=config.num_classes).astype(np.float64)
            class_weights = np.where(counts > 0, labels.size / (config.num_classes * np.maximum(counts, 1)), 0.0)
            return np.repeat(class_weights[labels.astype(np.int64)][:, None], self.grid.size, axis=1)
        return None

    def run(self, validation: Any, validation_labels: Array | None, on_epoch: Callable[[EpochReport], None]) -> int:
        """Train up to `epochs` epochs; the number run."""
        config, rows = self.config, self.features.shape[0]
        best_monitor = np.full(self.grid.size, np.inf)
        stale = np.zeros(self.grid.size, dtype=np.int64)  # epochs since each model last improved enough
        training = np.ones(self.grid.size, dtype=bool)
        averaged_weights, averaged_bias = self.weights.copy(), self.bias.copy()
        for epoch in range(config.epochs):
            started = time.perf_counter()
            train_loss, epoch_weights, epoch_bias = self._epoch(training)
            elapsed = max(time.perf_counter() - started, 1e-9)
            keep = 0.0 if epoch == 0 else _AVERAGE_DECAY
            averaged_weights = keep * averaged_weights + (1 - keep) * epoch_weights
            averaged_bias = keep * averaged_bias + (1 - keep) * epoch_bias
            validation_loss = None
            if validation is not None and validation_labels is not None:
                validation_loss = self.losses(validation, validation_labels, averaged_weights, averaged_bias)
            monitor = _finite(train_loss if validation_loss is None else validation_loss)
            improved = monitor < best_monitor
            enough = (best_monitor - monitor) > config.early_stopping_tolerance * np.abs(best_monitor)
            stale = np.where(enough | (improved & np.isinf(best_monitor)), 0, stale + 1)
            best_monitor = np.where(improved, monitor, best_monitor)
            self.best_weights[:, improved] = averaged_weights[:, improved]
            self.best_bias[improved] = averaged_bias[improved]
            best_validation = None if validation_loss is None else float(_finite(validation_loss).min())
            on_epoch(EpochReport(epoch, float(_finite(train_loss).min()), best_validation, rows / elapsed))
            training &= stale < config.early_stopping_patience
            if not training.any():
                return epoch + 1
        return config.epochs

    def _epoch(self, training: npt.NDArray[np.bool_]) -> tuple[Array, Array, Array]:
        """One pass over the shuffled rows: each model's mean loss, and its weights and bias averaged over the
        epoch's steps. Models not `training` any more keep their weights."""
        config, rows = self.config, self.features.shape[0]
        step_every = config.lr_scheduler_step or -(-rows // config.mini_batch_size)
        factor = config.lr_scheduler_factor or _SCHEDULER_FACTOR
        minimum = np.minimum(config.lr_scheduler_minimum_lr or _SCHEDULER_MINIMUM_LR, self.grid.learning_rates)
        order = self.rng.permutation(rows)
        loss = np.zeros(self.grid.size)
        weight_sum, bias_sum, steps = np.zeros_like(self.weights), np.zeros_like(self.bias), 0
        for start in range(0, rows, config.mini_batch_size):
            decay = factor ** (self.updates // step_every) if config.use_lr_scheduler else 1.0
            rates = np.maximum(self.grid.learning_rates * decay, minimum) * training
            loss += self._step(order[start : start + config.mini_batch_size], rates)
            weight_sum += self.weights
            bias_sum += self.bias
            self.updates, steps = self.updates + 1, steps + 1
        return loss / rows, weight_sum / steps, bias_sum / steps

    def _step(self, batch: npt.NDArray[np.intp], rates: Array) -> Array:
        """One update of every model on the rows `batch`; the batch's summed loss per model, in label units."""
        # float64 like the weights: NumPy multiplies mixed precisions without BLAS, many times slower.
        features = self.features[batch].astype(np.float64)
        size, (dimension, models, outputs) = batch.size, self.weights.shape
        with np.errstate(over="ignore", invalid="ignore"):
            scores = self._scores(features, self.weights, self.bias)
            value, gradient = self.training_loss(scores, self.normalised_labels[batch])
            if self.row_weights is not None:
                value = value * self.row_weights[batch]
                gradient = gradient * self.row_weights[batch][..., None]
            weight_gradient = np.asarray(features.T @ gradient.reshape(size, models * outputs)).reshape(
                dimension, models, outputs
            )
            weight_gradient = weight_gradient / size + self.grid.weight_decays[None, :, None] * self.weights
            parameters, gradients, step_rates = [self.weights], [weight_gradient], [rates[None, :, None]]
            if self.config.use_bias:
                bias_decay = self.grid.weight_decays[:, None] * (self.config.bias_wd_mult or 0.0)
                parameters.append(self.bias)
                gradients.append(gradient.mean(axis=0) + bias_decay * self.bias)
                step_rates.append(rates[:, None] * (self.config.bias_lr_mult or 1.0))
            self.optimizer.step(parameters, gradients, step_rates)
            if np.any(self.grid.l1 > 0):
                shrink = (rates * self.grid.l1)[None, :, None]
                self.weights[...] = np.sign(self.weights) * np.maximum(np.abs(self.weights) - shrink, 0)
            if self.config.is_classifier or self.normalizer.label_scale == 1 and self.normalizer.label_mean == 0:
                reported = value
            else:
                reported, _ = self.loss(self._to_label_units(scores), self.labels[batch])
                if self.row_weights is not None:
                    reported = reported * self.row_weights[batch]
        summed: Array = reported.sum(axis=0)
        return summed

    def losses(self, features: Any, labels: Array, weights: Array, bias: Array) -> Array:
        """Each model's mean loss (models,) with `weights` and `bias` on normalised `features`, in label units."""
        mean: Array = self.row_losses(features, labels, weights, bias).mean(axis=0)
        return mean

    def row_losses(self, features: Any, labels: Array, weights: Array, bias: Array) -> Array:
        """The loss of each row under each model (rows, models), in label units."""
        with np.errstate(over="ignore", invalid="ignore"):
            value, _ = self.loss(self._to_label_units(self._scores(features, weights, bias)), labels.astype(np.float64))
        return value

    def scores(self, features: Any) -> Array:
        """The best weights' outputs (rows, models, outputs) on normalised `features`."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._scores(features, self.best_weights, self.best_bias)

    def _scores(self, features: Any, weights: Array, bias: Array) -> Array:
        dimension, models, outputs = weights.shape
        flat = weights.reshape(dimension, models * outputs)
        rows = features.shape[0]
        product = np.empty((rows, models * outputs))
        for start in range(0, rows, _SCORING_CHUNK):  # float64 in chunks, for BLAS without copying all rows
            product[start : start + _SCORING_CHUNK] = features[start : start + _SCORING_CHUNK].astype(np.float64) @ flat
        result: Array = product.reshape(rows, models, outputs) + bias
        return result

    def _to_label_units(self, scores: Array) -> Array:
        if self.config.is_classifier:
            return scores
        result: Array = scores * self.normalizer.label_scale + self.normalizer.label_mean
        return result


def _finite(losses: Array) -> Array:
    """`losses` with a diverged model's NaN or infinity as +inf, so that it is never the best."""
    result: Array = np.where(np.isfinite(losses), losses, np.inf)
    return result


def _choose(trainer: _Trainer, calibration: Rows, config: TrainingConfig, rng: np.random.Generator) -> Choice:
    features = trainer.normalizer.features(calibration.features)
    weights, bias = trainer.best_weights, trainer.best_bias
    row_losses = trainer.row_losses(features, calibration.labels, weights, bias)
    fitted = _sample(Rows(trainer.features, trainer.labels), config, rng)
    training_losses = trainer.losses(fitted.features, fitted.labels, weights, bias)
    if config.predictor_type != "binary_classifier":
        return choose_model(row_losses, training_losses, None, None, config)
    raw = trainer.scores(features)[..., 0]
    scores = sigmoid(raw) if config.loss == "logistic" else raw
    return choose_model(row_losses, training_losses, scores, calibration.labels == 1, config)


def _sample(train: Rows, config: TrainingConfig, rng: np.random.Generator) -> Rows:
    """The calibration rows when there is no validation channel: a sample of the training rows."""
    count = config.num_calibration_samples or DEFAULT_CALIBRATION_SAMPLES
    rows = train.features.shape[0]
    if count >= rows:
        return train
    picked = np.sort(rng.choice(rows, size=count, replace=False))
    return Rows(train.features[picked], train.labels[picked])
