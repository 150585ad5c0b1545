"""Random Cut Forest's hyperparameters (reference B7) as a table, parsed into a `ForestConfig`.

Validation is the first-party JSON-schema kind. `mini_batch_size` is accepted (the SDK sends it) and changes
nothing: the forest is built from samples, not mini-batches. A tuning job's `_tuning_objective_metric` is
accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sageforge.algorithms.hyperparameters import (
    JSON_SCHEMA_STYLE,
    Categorical,
    HyperparameterTable,
    Integer,
    Interval,
    JsonList,
    Value,
)
from sageforge.algorithms.randomcutforest import OBJECTIVE_METRICS

EVAL_METRICS = ("accuracy", "precision_recall_fscore")

TABLE = HyperparameterTable(
    (
        Integer("feature_dim", required=True, interval=Interval(low=1, high=10000)),
        JsonList("eval_metrics", default='["accuracy", "precision_recall_fscore"]', values=EVAL_METRICS),
        Integer("num_samples_per_tree", default="256", interval=Interval(low=1, high=2048)),
        Integer("num_trees", default="100", interval=Interval(low=50, high=1000)),
        Integer("mini_batch_size", default="1000", interval=Interval(low=1)),
        Categorical("_tuning_objective_metric", values=tuple(OBJECTIVE_METRICS)),
    ),
    JSON_SCHEMA_STYLE,
)


@dataclass(frozen=True)
class ForestConfig:
    feature_dim: int
    eval_metrics: tuple[str, ...]
    num_samples_per_tree: int
    num_trees: int


def parse_hyperparameters(raw: Mapping[str, str]) -> ForestConfig:
    """Validate CreateTrainingJob's HyperParameters; UserError worded as the 1P containers word it."""
    values = TABLE.parse(raw)
    metrics = values["eval_metrics"]
    assert isinstance(metrics, tuple)
    return ForestConfig(
        feature_dim=_integer(values, "feature_dim"),
        eval_metrics=metrics,
        num_samples_per_tree=_integer(values, "num_samples_per_tree"),
        num_trees=_integer(values, "num_trees"),
    )


def _integer(values: Mapping[str, Value], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name
    return value
