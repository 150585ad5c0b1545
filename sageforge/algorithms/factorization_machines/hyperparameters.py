"""Factorization Machines' hyperparameters (reference B6) as a table, parsed into a `TrainingConfig`.

Validation is the first-party JSON-schema kind (`'num_factors' is a required property`). Each parameter group
(`bias`, `linear`, `factors`) is initialised by its `<group>_init_method`: `normal` with `<group>_init_sigma`,
`uniform` on [-`<group>_init_scale`, `<group>_init_scale`], `constant` at `<group>_init_value`. The reference
gives `scale` and `value` no default; sageforge then uses the group's sigma as the uniform half-width and 0
as the constant [INF]. `eps` is Adam's epsilon (1e-8 when absent), `rescale_grad` multiplies each mini-batch's
mean gradient (1 when absent) and `clip_gradient` clips it element-wise to [-c, c] (no clipping when absent)
[INF: the reference names these MXNet optimiser parameters without saying which optimiser they feed]. A tuning
job's `_tuning_objective_metric` is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sageforge.algorithms.factorization_machines import OBJECTIVE_METRICS
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

PredictorType = Literal["binary_classifier", "regressor"]
GROUPS = ("bias", "linear", "factors")
INIT_METHODS = ("normal", "uniform", "constant")
_AT_LEAST_0 = Interval(low=0)
_AT_LEAST_1 = Interval(low=1)
# Per group: default sigma, learning rate and weight decay (reference B6).
_GROUP_DEFAULTS = {
    "bias": ("0.01", "0.1", "0.01"),
    "linear": ("0.01", "0.001", "0.001"),
    "factors": ("0.001", "0.0001", "0.00001"),
}


def _group_rows(group: str) -> tuple[Hyperparameter, ...]:
    sigma, rate, decay = _GROUP_DEFAULTS[group]
    return (
        Categorical(f"{group}_init_method", default="normal", values=INIT_METHODS),
        Continuous(f"{group}_init_scale", interval=_AT_LEAST_0),
        Continuous(f"{group}_init_sigma", default=sigma, interval=_AT_LEAST_0),
        Continuous(f"{group}_init_value"),
        Continuous(f"{group}_lr", default=rate, interval=_AT_LEAST_0),
        Continuous(f"{group}_wd", default=decay, interval=_AT_LEAST_0),
    )


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer("feature_dim", required=True, interval=_AT_LEAST_1),
    Integer("num_factors", required=True, interval=_AT_LEAST_1),
    Categorical("predictor_type", required=True, values=("binary_classifier", "regressor")),
    Integer("epochs", default="1", interval=_AT_LEAST_1),
    Integer("mini_batch_size", default="1000", interval=_AT_LEAST_1),
    *(row for group in GROUPS for row in _group_rows(group)),
    Continuous("clip_gradient", interval=Interval(low=0, low_open=True)),
    Continuous("eps", interval=Interval(low=0, low_open=True)),
    Continuous("rescale_grad", interval=Interval(low=0, low_open=True)),
    Categorical("_tuning_objective_metric", values=tuple(OBJECTIVE_METRICS)),
)
TABLE = HyperparameterTable(HYPERPARAMETERS, JSON_SCHEMA_STYLE)


@dataclass(frozen=True)
class Initializer:
    """How one parameter group starts: `normal` (sd `spread`), `uniform` (half-width `spread`), `constant`."""

    method: str
    spread: float
    value: float


@dataclass(frozen=True)
class GroupSettings:
    init: Initializer
    learning_rate: float
    weight_decay: float


@dataclass(frozen=True)
class TrainingConfig:
    feature_dim: int
    num_factors: int
    predictor_type: PredictorType
    epochs: int
    mini_batch_size: int
    bias: GroupSettings
    linear: GroupSettings
    factors: GroupSettings
    clip_gradient: float | None
    eps: float
    rescale_grad: float


def parse_hyperparameters(raw: Mapping[str, str]) -> TrainingConfig:
    """Validate CreateTrainingJob's HyperParameters; UserError worded as the 1P containers word it."""
    values = TABLE.parse(raw)
    predictor_type: PredictorType = "regressor" if values["predictor_type"] == "regressor" else "binary_classifier"
    clip = _number(values, "clip_gradient")
    return TrainingConfig(
        feature_dim=_integer(values, "feature_dim"),
        num_factors=_integer(values, "num_factors"),
        predictor_type=predictor_type,
        epochs=_integer(values, "epochs"),
        mini_batch_size=_integer(values, "mini_batch_size"),
        bias=_group(values, "bias"),
        linear=_group(values, "linear"),
        factors=_group(values, "factors"),
        clip_gradient=clip,
        eps=_number(values, "eps") or 1e-8,
        rescale_grad=_number(values, "rescale_grad") or 1.0,
    )


def _group(values: Mapping[str, Value], group: str) -> GroupSettings:
    sigma = _number(values, f"{group}_init_sigma")
    assert sigma is not None  # it has a default
    method = str(values[f"{group}_init_method"])
    scale = _number(values, f"{group}_init_scale")
    spread = sigma if method == "normal" or scale is None else scale
    rate, decay = _number(values, f"{group}_lr"), _number(values, f"{group}_wd")
    assert rate is not None and decay is not None  # they have defaults
    return GroupSettings(
        Initializer(method, spread, _number(values, f"{group}_init_value") or 0.0),
        learning_rate=rate,
        weight_decay=decay,
    )


def _integer(values: Mapping[str, Value], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name
    return value


def _number(values: Mapping[str, Value], name: str) -> float | None:
    value = values.get(name)
    return float(value) if isinstance(value, (int, float)) else None
