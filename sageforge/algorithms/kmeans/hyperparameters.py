"""K-Means' hyperparameters (reference B3.2) as a table, parsed into a `KMeansConfig`.

Validation is the first-party JSON-schema kind (`'k' is a required property`). `force_dense`, which the
SDK's estimator always sends, is accepted (rows are made dense whatever it says [INF]: the streaming
centres are dense anyway). A tuning job's `_tuning_objective_metric` is accepted. What `auto` means:

- `extra_center_factor`: 10, the top of the documented tuning range [INF], so `k * 10` centres stream: with
  fewer, one pass over a small channel leaves the reduction too coarse a summary (inertia 9% above
  scikit-learn's on the digits at 4, within 0.5% at 10);
- `local_lloyd_num_trials`: 10 [INF]; the trials run over the `k * extra_center_factor` streaming centres,
  not the rows, so they cost next to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sageforge.algorithms.hyperparameters import (
    JSON_SCHEMA_STYLE,
    Categorical,
    Continuous,
    Flag,
    Hyperparameter,
    HyperparameterTable,
    Integer,
    Interval,
    JsonList,
    Value,
)
from sageforge.algorithms.kmeans import EVAL_METRICS, OBJECTIVE_METRICS

INIT_METHODS = ("random", "kmeans++")
AUTO_EXTRA_CENTER_FACTOR = 10
AUTO_LOCAL_LLOYD_NUM_TRIALS = 10
_AT_LEAST_0 = Interval(low=0)
_AT_LEAST_1 = Interval(low=1)
_AUTO = ("auto",)

HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer("feature_dim", required=True, interval=_AT_LEAST_1),
    Integer("k", required=True, interval=_AT_LEAST_1),
    Integer("epochs", default="1", interval=_AT_LEAST_1),
    JsonList("eval_metrics", default='["msd"]', values=EVAL_METRICS),
    Integer("extra_center_factor", default="auto", interval=_AT_LEAST_1, keywords=_AUTO),
    Integer("half_life_time_size", default="0", interval=_AT_LEAST_0),
    Categorical("init_method", default="random", values=INIT_METHODS),
    Categorical("local_lloyd_init_method", default="kmeans++", values=INIT_METHODS),
    Integer("local_lloyd_max_iter", default="300", interval=_AT_LEAST_1),
    Integer("local_lloyd_num_trials", default="auto", interval=_AT_LEAST_1, keywords=_AUTO),
    Continuous("local_lloyd_tol", default="0.0001", interval=Interval(low=0, high=1)),
    Integer("mini_batch_size", default="5000", interval=_AT_LEAST_1),
    Flag("force_dense"),
    Categorical("_tuning_objective_metric", values=tuple(OBJECTIVE_METRICS)),
)
TABLE = HyperparameterTable(HYPERPARAMETERS, JSON_SCHEMA_STYLE)


@dataclass(frozen=True)
class KMeansConfig:
    """Validated hyperparameters, `auto` resolved."""

    feature_dim: int
    k: int
    epochs: int
    eval_metrics: tuple[str, ...]
    extra_center_factor: int
    half_life_time_size: int
    init_method: str
    local_lloyd_init_method: str
    local_lloyd_max_iter: int
    local_lloyd_num_trials: int
    local_lloyd_tol: float
    mini_batch_size: int


def parse_hyperparameters(raw: Mapping[str, str]) -> KMeansConfig:
    """Validate CreateTrainingJob's HyperParameters; UserError worded as the 1P containers word it."""
    values = TABLE.parse(raw)
    local_init = str(values["local_lloyd_init_method"])
    trials = values["local_lloyd_num_trials"]
    factor = values["extra_center_factor"]
    eval_metrics = values["eval_metrics"]
    assert isinstance(eval_metrics, tuple)
    return KMeansConfig(
        feature_dim=_integer(values, "feature_dim"),
        k=_integer(values, "k"),
        epochs=_integer(values, "epochs"),
        eval_metrics=tuple(dict.fromkeys(eval_metrics)),
        extra_center_factor=factor if isinstance(factor, int) else AUTO_EXTRA_CENTER_FACTOR,
        half_life_time_size=_integer(values, "half_life_time_size"),
        init_method=str(values["init_method"]),
        local_lloyd_init_method=local_init,
        local_lloyd_max_iter=_integer(values, "local_lloyd_max_iter"),
        local_lloyd_num_trials=trials if isinstance(trials, int) else AUTO_LOCAL_LLOYD_NUM_TRIALS,
        local_lloyd_tol=float(values["local_lloyd_tol"]),  # type: ignore[arg-type]  # a number, by its row
        mini_batch_size=_integer(values, "mini_batch_size"),
    )


def _integer(values: Mapping[str, Value], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name
    return value
