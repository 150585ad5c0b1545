"""Training IP Insights: true pairs against generated negatives, binary cross entropy of the dot product, Adam.

Each mini-batch of `mini_batch_size` true (entity, address) pairs gets, per pair,
`random_negative_sampling_rate` negatives pairing its entity with a uniformly random IPv4 address and
`shuffled_negative_sampling_rate` negatives pairing it with the address of another pair of the batch
(reference B8). The loss is the mean binary cross entropy of sigmoid(dot product) against 1 for true pairs,
0 for negatives; gradients are written out by hand. Adam (betas 0.9/0.999, epsilon 1e-8 [INF]) updates the
layers, and lazily the rows of the vector tables a batch touched; `weight_decay` adds `wd * parameter` to
those gradients [INF]. The IP table has `max(num_entity_vectors, 65536)` rows [INF: SageMaker does not
document its IP encoder's size]. Rows are visited in a fresh random order each epoch; the seed is fixed.

`discriminator_auc` scores a channel's true pairs against one random-address negative each (a fixed draw),
by the area under the ROC curve of the dot products [INF].
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.ipinsights.encoding import Indices, ip_rows
from sageforge.algorithms.ipinsights.hyperparameters import TrainingConfig
from sageforge.algorithms.ipinsights.model import Array, IpInsightsModel
from sageforge.algorithms.linear_learner.metrics import roc_auc

SEED = 0
MIN_IP_VECTORS = 65536
_BETA_1, _BETA_2, _EPSILON = 0.9, 0.999, 1e-8
Addresses = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class Pairs:
    """A channel's (entity row, IPv4 address) pairs."""

    entities: Indices
    addresses: Addresses

    def __len__(self) -> int:
        return int(self.entities.size)


@dataclass(frozen=True)
class BatchReport:
    epoch: int
    batch: int
    accuracy: float
    cross_entropy: float


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    accuracy: float
    cross_entropy: float
    validation_auc: float | None
    records_per_second: float


class _Adam:
    """Adam state for one parameter array; `rows` (None: all) picks what a step moves."""

    def __init__(self, parameter: Array, rate: float, decay: float) -> None:
        self.parameter, self.rate, self.decay = parameter, rate, decay
        self.first, self.second = np.zeros_like(parameter), np.zeros_like(parameter)

    def step(self, gradient: Array, step: int, rows: Any = slice(None)) -> None:
        gradient = gradient + self.decay * self.parameter[rows]
        first = _BETA_1 * self.first[rows] + (1 - _BETA_1) * gradient
        second = _BETA_2 * self.second[rows] + (1 - _BETA_2) * gradient**2
        self.first[rows], self.second[rows] = first, second
        scale = self.rate * np.sqrt(1 - _BETA_2**step) / (1 - _BETA_1**step)
        self.parameter[rows] -= scale * first / (np.sqrt(second) + _EPSILON)


def initial_model(config: TrainingConfig, rng: np.random.Generator) -> IpInsightsModel:
    d = config.vector_dim
    # Small vectors, so early dot products sit near 0; layers near the identity plus noise (Glorot scale).
    return IpInsightsModel(
        rng.normal(0.0, 0.1, size=(config.num_entity_vectors, d)),
        rng.normal(0.0, 0.1, size=(max(config.num_entity_vectors, MIN_IP_VECTORS), d)),
        [np.eye(d) + rng.normal(0.0, np.sqrt(1.0 / d), size=(d, d)) for _ in range(config.num_ip_encoder_layers)],
        [np.zeros(d) for _ in range(config.num_ip_encoder_layers)],
    )


def fit(
    train: Pairs,
    validation: Pairs | None,
    config: TrainingConfig,
    on_batch: Callable[[BatchReport], None],
    on_epoch: Callable[[EpochReport], None],
) -> IpInsightsModel:
    rng = np.random.default_rng(SEED)
    model = initial_model(config, rng)
    entity_adam = _Adam(model.entity_vectors, config.learning_rate, config.weight_decay)
    ip_adam = _Adam(model.ip_vectors, config.learning_rate, config.weight_decay)
    layer_adams = [_Adam(array, config.learning_rate, config.weight_decay) for array in (*model.weights, *model.biases)]
    step = 0
    for epoch in range(config.epochs):
        started, right, loss, seen = time.perf_counter(), 0.0, 0.0, 0
        order = rng.permutation(len(train))
        for batch, start in enumerate(range(0, order.size, config.mini_batch_size)):
            rows = order[start : start + config.mini_batch_size]
            entities, addresses, labels = with_negatives(train.entities[rows], train.addresses[rows], config, rng)
            step += 1
            batch_right, batch_loss = _step(model, entity_adam, ip_adam, layer_adams, entities, addresses, labels, step)
            right, loss, seen = right + batch_right, loss + batch_loss, seen + labels.size
            if batch % config.batch_metrics_publish_interval == 0:
                on_batch(BatchReport(epoch, batch, batch_right / labels.size, batch_loss / labels.size))
        elapsed = max(time.perf_counter() - started, 1e-9)
        auc = discriminator_auc(model, validation) if validation is not None else None
        on_epoch(EpochReport(epoch, right / seen, loss / seen, auc, order.size / elapsed))
    return model


def with_negatives(
    entities: Indices, addresses: Addresses, config: TrainingConfig, rng: np.random.Generator
) -> tuple[Indices, Addresses, Array]:
    """The batch's true pairs followed by its random and shuffled negatives, and their labels."""
    random_count, shuffled_count = config.random_negative_sampling_rate, config.shuffled_negative_sampling_rate
    random_ips = rng.integers(0, 2**32, size=entities.size * random_count, dtype=np.uint64).astype(np.uint32)
    shuffled_ips = [addresses[rng.permutation(entities.size)] for _ in range(shuffled_count)]
    negatives = entities.size * (random_count + shuffled_count)
    all_entities = np.concatenate([entities, np.tile(entities, random_count + shuffled_count)])
    all_addresses = np.concatenate([addresses, random_ips, *shuffled_ips])
    labels = np.concatenate([np.ones(entities.size), np.zeros(negatives)])
    return all_entities, all_addresses, labels


def discriminator_auc(model: IpInsightsModel, pairs: Pairs) -> float:
    rng = np.random.default_rng(SEED + 1)
    random_ips = rng.integers(0, 2**32, size=len(pairs), dtype=np.uint64).astype(np.uint32)
    scores = np.concatenate(
        [model.dot_products(pairs.entities, pairs.addresses), model.dot_products(pairs.entities, random_ips)]
    )
    return roc_auc(scores, np.concatenate([np.ones(len(pairs), bool), np.zeros(len(pairs), bool)]))


def _step(
    model: IpInsightsModel,
    entity_adam: _Adam,
    ip_adam: _Adam,
    layer_adams: list[_Adam],
    entities: Indices,
    addresses: Addresses,
    labels: Array,
    step: int,
) -> tuple[float, float]:
    """One Adam step on a batch with its negatives; the count of right guesses and the summed loss, before it."""
    keys = ip_rows(addresses, model.ip_vectors.shape[0])
    encoded = model.encode_ips(keys)
    entity, ip = model.entity_vectors[entities], encoded.final
    logits = np.sum(entity * ip, axis=1)
    loss = float(np.sum(np.logaddexp(0.0, np.where(labels == 1, -logits, logits))))
    right = float(np.sum((logits >= 0) == (labels == 1)))
    gradient = (np.exp(-np.logaddexp(0.0, -logits)) - labels) / labels.size  # d loss / d logit, batch mean
    entity_gradient = gradient[:, None] * ip
    hidden_gradient = gradient[:, None] * entity
    layer_gradients: list[tuple[Array, Array]] = []
    for index in reversed(range(len(model.weights))):
        if index < len(model.weights) - 1:
            hidden_gradient = hidden_gradient * (encoded.pre_activations[index] > 0)
        below = encoded.outputs[index - 1] if index > 0 else encoded.inputs
        layer_gradients.append((below.T @ hidden_gradient, hidden_gradient.sum(axis=0)))
        hidden_gradient = hidden_gradient @ model.weights[index].T
    layer_gradients.reverse()
    _sparse_step(entity_adam, entities, entity_gradient, step)
    _sparse_step(ip_adam, keys.ravel(), np.repeat(hidden_gradient, keys.shape[1], axis=0), step)
    layers = len(model.weights)
    for index, (weight_gradient, bias_gradient) in enumerate(layer_gradients):
        layer_adams[index].step(weight_gradient, step)
        layer_adams[layers + index].step(bias_gradient, step)
    return right, loss


def _sparse_step(adam: _Adam, rows: Indices, gradients: Array, step: int) -> None:
    """Sum the gradients of repeated rows, then step those rows only."""
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    adam.step(np.add.reduceat(gradients[order], starts, axis=0), step, ordered[starts])
