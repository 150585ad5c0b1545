"""PCA's hyperparameters (reference B4) as a table, parsed into a `PCAConfig`.

Validation is the first-party JSON-schema kind (`'num_components' is a required property`). Beyond each
row's type and range, `num_components` may not exceed `feature_dim` [INF: a projection cannot have more
components than features]. `extra_components` -1 means `max(10, num_components)`, and is used by the
randomized mode only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sageforge.algorithms.base import UserError
from sageforge.algorithms.hyperparameters import (
    JSON_SCHEMA_STYLE,
    Categorical,
    Flag,
    Hyperparameter,
    HyperparameterTable,
    Integer,
    Interval,
    Value,
)

MODES = ("regular", "randomized")
_AT_LEAST_1 = Interval(low=1)

HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer("feature_dim", required=True, interval=_AT_LEAST_1),
    Integer("mini_batch_size", required=True, interval=_AT_LEAST_1),
    Integer("num_components", required=True, interval=_AT_LEAST_1),
    Categorical("algorithm_mode", default="regular", values=MODES),
    Integer("extra_components", default="-1", interval=Interval(low=-1)),
    Flag("subtract_mean", default="true"),
)


def _components_fit_features(values: Mapping[str, Value]) -> None:
    if _integer(values, "num_components") > _integer(values, "feature_dim"):
        raise UserError(
            f"num_components ({values['num_components']}) must not exceed feature_dim ({values['feature_dim']})"
        )


TABLE = HyperparameterTable(HYPERPARAMETERS, JSON_SCHEMA_STYLE, (_components_fit_features,))


@dataclass(frozen=True)
class PCAConfig:
    feature_dim: int
    mini_batch_size: int
    num_components: int
    algorithm_mode: str
    extra_components: int  # -1 resolved to max(10, num_components)
    subtract_mean: bool


def parse_hyperparameters(raw: Mapping[str, str]) -> PCAConfig:
    """Validate CreateTrainingJob's HyperParameters; UserError worded as the 1P containers word it."""
    values = TABLE.parse(raw)
    num_components = _integer(values, "num_components")
    extra = _integer(values, "extra_components")
    return PCAConfig(
        feature_dim=_integer(values, "feature_dim"),
        mini_batch_size=_integer(values, "mini_batch_size"),
        num_components=num_components,
        algorithm_mode=str(values["algorithm_mode"]),
        extra_components=max(10, num_components) if extra == -1 else extra,
        subtract_mean=values["subtract_mean"] == "true",
    )


def _integer(values: Mapping[str, Value], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name
    return value
