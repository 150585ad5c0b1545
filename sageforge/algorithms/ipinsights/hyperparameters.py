"""IP Insights' hyperparameters (reference B8) as a table, parsed into a `TrainingConfig`.

Validation is the first-party JSON-schema kind (`'vector_dim' is a required property`); beyond each row's
range, `random_negative_sampling_rate` + `shuffled_negative_sampling_rate` must be within [1, 500] (a job
needs negatives to learn from). A tuning job's `_tuning_objective_metric` is accepted, and so is the
`feature_dim` the SDK's `IPInsights` estimator sends, which is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sageforge.algorithms.base import UserError
from sageforge.algorithms.hyperparameters import (
    JSON_SCHEMA_STYLE,
    Categorical,
    Continuous,
    Hyperparameter,
    HyperparameterTable,
    Integer,
    Interval,
    Value,
)

HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer("num_entity_vectors", required=True, interval=Interval(low=1, high=250_000_000)),
    Integer("vector_dim", required=True, interval=Interval(low=4, high=4096)),
    Integer("batch_metrics_publish_interval", default="1000", interval=Interval(low=1)),
    Integer("epochs", default="10", interval=Interval(low=1)),
    Continuous("learning_rate", default="0.001", interval=Interval(low=1e-6, high=10.0)),
    Integer("mini_batch_size", default="10000", interval=Interval(low=1, high=500_000)),
    Integer("num_ip_encoder_layers", default="1", interval=Interval(low=0, high=100)),
    Integer("random_negative_sampling_rate", default="1", interval=Interval(low=0, high=500)),
    Integer("shuffled_negative_sampling_rate", default="1", interval=Interval(low=0, high=500)),
    Continuous("weight_decay", default="0.00001", interval=Interval(low=0.0, high=10.0)),
    Categorical("_tuning_objective_metric", values=("validation:discriminator_auc",)),
    # The SDK's estimator sends the RecordSet's feature_dim with every job; IP Insights has no use for it [INF].
    Integer("feature_dim", interval=Interval(low=1)),
)


def _negatives_in_range(values: Mapping[str, Value]) -> None:
    total = _integer(values, "random_negative_sampling_rate") + _integer(values, "shuffled_negative_sampling_rate")
    if not 1 <= total <= 500:
        raise UserError(
            f"random_negative_sampling_rate + shuffled_negative_sampling_rate must be in [1, 500], not {total}"
        )


TABLE = HyperparameterTable(HYPERPARAMETERS, JSON_SCHEMA_STYLE, (_negatives_in_range,))


@dataclass(frozen=True)
class TrainingConfig:
    num_entity_vectors: int
    vector_dim: int
    batch_metrics_publish_interval: int
    epochs: int
    learning_rate: float
    mini_batch_size: int
    num_ip_encoder_layers: int
    random_negative_sampling_rate: int
    shuffled_negative_sampling_rate: int
    weight_decay: float


def parse_hyperparameters(raw: Mapping[str, str]) -> TrainingConfig:
    """Validate CreateTrainingJob's HyperParameters; UserError worded as the 1P containers word it."""
    values = TABLE.parse(raw)
    return TrainingConfig(
        num_entity_vectors=_integer(values, "num_entity_vectors"),
        vector_dim=_integer(values, "vector_dim"),
        batch_metrics_publish_interval=_integer(values, "batch_metrics_publish_interval"),
        epochs=_integer(values, "epochs"),
        learning_rate=float(values["learning_rate"]),  # type: ignore[arg-type]  # a Continuous row's number
        mini_batch_size=_integer(values, "mini_batch_size"),
        num_ip_encoder_layers=_integer(values, "num_ip_encoder_layers"),
        random_negative_sampling_rate=_integer(values, "random_negative_sampling_rate"),
        shuffled_negative_sampling_rate=_integer(values, "shuffled_negative_sampling_rate"),
        weight_decay=float(values["weight_decay"]),  # type: ignore[arg-type]  # a Continuous row's number
    )


def _integer(values: Mapping[str, Value], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name
    return value
