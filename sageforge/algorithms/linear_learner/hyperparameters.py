"""Linear Learner's hyperparameters (reference B2.2) as a table, parsed into a `TrainingConfig`.

Validation is the first-party JSON-schema kind (`'predictor_type' is a required property`). Beyond each
row's type and range: `num_classes` is required for `multiclass_classifier`, and `loss` must suit the
predictor type (regressor: the regression losses; binary: `logistic`, `hinge_loss`; multiclass:
`softmax_loss`). The SDK's extra spellings of `binary_classifier_model_selection_criteria` are read as the
documented ones: `f1` as `f_beta` and `cross_entropy_loss` as `loss_function` [INF]. A tuning job's
`_tuning_objective_metric` is accepted, and turns the parallel models off (`num_models` = 1), as documented.

`auto` stays `None` in the config; `training` decides what it means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sageforge.algorithms.base import UserError
from sageforge.algorithms.hyperparameters import (
    JSON_SCHEMA_STYLE,
    Categorical,
    Continuous,
    Flag,
    Hyperparameter,
    HyperparameterTable,
    Integer,
    Interval,
    Value,
)
from sageforge.algorithms.linear_learner import OBJECTIVE_METRICS

PredictorType = Literal["binary_classifier", "multiclass_classifier", "regressor"]
PREDICTOR_TYPES: tuple[PredictorType, ...] = ("binary_classifier", "multiclass_classifier", "regressor")
REGRESSION_LOSSES = (
    "squared_loss",
    "absolute_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
)
LOSSES_BY_PREDICTOR: Mapping[str, tuple[str, ...]] = {
    "regressor": REGRESSION_LOSSES,
    "binary_classifier": ("logistic", "hinge_loss"),
    "multiclass_classifier": ("softmax_loss",),
}
DEFAULT_LOSS: Mapping[str, str] = {
    "regressor": "squared_loss",
    "binary_classifier": "logistic",
    "multiclass_classifier": "softmax_loss",
}
SELECTION_CRITERIA = (
    "accuracy",
    "f_beta",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
)
AUTO = ("auto",)
_POSITIVE = Interval(low=0, low_open=True)
_AT_LEAST_0 = Interval(low=0)
_AT_LEAST_1 = Interval(low=1)
_OPEN_UNIT = Interval(low=0, high=1, low_open=True, high_open=True)
_DECAY = Interval(low=0, high=1, high_open=True)  # [0, 1): beta_1, beta_2, momentum

HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Categorical("predictor_type", required=True, values=PREDICTOR_TYPES),
    Integer("num_classes", interval=Interval(low=3, high=1_000_000)),
    Integer("feature_dim", default="auto", interval=_AT_LEAST_1, keywords=AUTO),
    Integer("mini_batch_size", default="1000", interval=_AT_LEAST_1),
    Integer("epochs", default="15", interval=_AT_LEAST_1),
    Integer("accuracy_top_k", default="3", interval=_AT_LEAST_1),
    Flag("balance_multiclass_weights", default="false"),
    Continuous("beta_1", default="auto", interval=_DECAY, keywords=AUTO),
    Continuous("beta_2", default="auto", interval=_DECAY, keywords=AUTO),
    Continuous("bias_lr_mult", default="auto", interval=_POSITIVE, keywords=AUTO),
    Continuous("bias_wd_mult", default="auto", interval=_AT_LEAST_0, keywords=AUTO),
    Categorical(
        "binary_classifier_model_selection_criteria",
        default="accuracy",
        values=SELECTION_CRITERIA,
        renamed=(("f1", "f_beta"), ("cross_entropy_loss", "loss_function")),
    ),
    Integer("early_stopping_patience", default="3", interval=_AT_LEAST_1),
    Continuous("early_stopping_tolerance", default="0.001", interval=_POSITIVE),
    Continuous("f_beta", default="1.0", interval=_POSITIVE),
    Continuous("huber_delta", default="1.0", interval=_AT_LEAST_0),
    Continuous("init_bias", default="0"),
    Categorical("init_method", default="uniform", values=("uniform", "normal")),
    Continuous("init_scale", default="0.07", interval=_POSITIVE),
    Continuous("init_sigma", default="0.01", interval=_POSITIVE),
    Continuous("l1", default="auto", interval=_AT_LEAST_0, keywords=AUTO),
    Continuous("learning_rate", default="auto", interval=_POSITIVE, keywords=AUTO),
    Categorical("loss", default="auto", values=("auto", *REGRESSION_LOSSES, "logistic", "hinge_loss", "softmax_loss")),
    Continuous("loss_insensitivity", default="0.01", interval=_POSITIVE),
    Continuous("lr_scheduler_factor", default="auto", interval=_OPEN_UNIT, keywords=AUTO),
    Continuous("lr_scheduler_minimum_lr", default="auto", interval=_POSITIVE, keywords=AUTO),
    Integer("lr_scheduler_step", default="auto", interval=_AT_LEAST_1, keywords=AUTO),
    Continuous("margin", default="1.0", interval=_AT_LEAST_0),
    Continuous("momentum", default="auto", interval=_DECAY, keywords=AUTO),
    Flag("normalize_data", default="true", keywords=AUTO),
    Flag("normalize_label", default="auto", keywords=AUTO),
    Integer("num_calibration_samples", default="auto", interval=_AT_LEAST_1, keywords=AUTO),
    Integer("num_models", default="auto", interval=_AT_LEAST_1, keywords=AUTO),
    Integer("num_point_for_scaler", default="10000", interval=_AT_LEAST_1),
    Categorical("optimizer", default="auto", values=("auto", "sgd", "adam", "rmsprop")),
    Continuous("positive_example_weight_mult", default="1.0", interval=_POSITIVE, keywords=("auto", "balanced")),
    Continuous("quantile", default="0.5", interval=_OPEN_UNIT),
    Continuous("target_precision", default="0.8", interval=_OPEN_UNIT),
    Continuous("target_recall", default="0.8", interval=_OPEN_UNIT),
    Flag("unbias_data", default="auto", keywords=AUTO),
    Flag("unbias_label", default="auto", keywords=AUTO),
    Flag("use_bias", default="true"),
    Flag("use_lr_scheduler", default="true"),
    Continuous("wd", default="auto", interval=_AT_LEAST_0, keywords=AUTO),
    Categorical("_tuning_objective_metric", values=tuple(OBJECTIVE_METRICS)),
)


def _num_classes_for_multiclass(values: Mapping[str, Value]) -> None:
    if values["predictor_type"] == "multiclass_classifier" and "num_classes" not in values:
        raise UserError("'num_classes' is a required property")


def _loss_fits_predictor(values: Mapping[str, Value]) -> None:
    allowed = ("auto", *LOSSES_BY_PREDICTOR[str(values["predictor_type"])])
    if values["loss"] not in allowed:
        raise UserError(f"'{values['loss']}' is not one of {list(allowed)}")


TABLE = HyperparameterTable(HYPERPARAMETERS, JSON_SCHEMA_STYLE, (_num_classes_for_multiclass, _loss_fits_predictor))


@dataclass(frozen=True)
class TrainingConfig:
    """Validated hyperparameters; `None` stands for `auto`."""

    predictor_type: PredictorType
    num_classes: int  # 1 for binary classification and regression
    feature_dim: int | None
    mini_batch_size: int
    epochs: int
    accuracy_top_k: int
    balance_multiclass_weights: bool
    beta_1: float | None
    beta_2: float | None
    bias_lr_mult: float | None
    bias_wd_mult: float | None
    selection_criteria: str
    early_stopping_patience: int
    early_stopping_tolerance: float
    f_beta: float
    huber_delta: float
    init_bias: float
    init_method: str
    init_scale: float
    init_sigma: float
    l1: float | None
    learning_rate: float | None
    loss: str  # `auto` resolved by predictor type
    loss_insensitivity: float
    lr_scheduler_factor: float | None
    lr_scheduler_minimum_lr: float | None
    lr_scheduler_step: int | None
    margin: float
    momentum: float | None
    normalize_data: bool
    normalize_label: bool | None
    num_calibration_samples: int | None
    num_models: int | None
    num_point_for_scaler: int
    optimizer: str  # `auto` resolved to adam
    positive_example_weight_mult: float | str  # a number, `balanced`, or `auto` (both tried, see training)
    quantile: float
    target_precision: float
    target_recall: float
    unbias_data: bool | None
    unbias_label: bool | None
    use_bias: bool
    use_lr_scheduler: bool
    wd: float | None
    tuning_objective: str | None

    @property
    def is_classifier(self) -> bool:
        return self.predictor_type != "regressor"


def parse_hyperparameters(raw: Mapping[str, str]) -> TrainingConfig:
    """Validate CreateTrainingJob's HyperParameters; UserError worded as the 1P containers word it."""
    values = TABLE.parse(raw)
    predictor_type = _choice(values, "predictor_type")
    loss = _choice(values, "loss")
    weight_mult = values["positive_example_weight_mult"]
    assert not isinstance(weight_mult, tuple)
    tuning_objective = values.get("_tuning_objective_metric")
    return TrainingConfig(
        predictor_type=predictor_type,  # type: ignore[arg-type]  # one of PREDICTOR_TYPES, by its row
        num_classes=_num_classes(values) if predictor_type == "multiclass_classifier" else 1,
        feature_dim=_integer(values, "feature_dim"),
        mini_batch_size=_required_integer(values, "mini_batch_size"),
        epochs=_required_integer(values, "epochs"),
        accuracy_top_k=_required_integer(values, "accuracy_top_k"),
        balance_multiclass_weights=values["balance_multiclass_weights"] == "true",
        beta_1=_number(values, "beta_1"),
        beta_2=_number(values, "beta_2"),
        bias_lr_mult=_number(values, "bias_lr_mult"),
        bias_wd_mult=_number(values, "bias_wd_mult"),
        selection_criteria=_choice(values, "binary_classifier_model_selection_criteria"),
        early_stopping_patience=_required_integer(values, "early_stopping_patience"),
        early_stopping_tolerance=_required_number(values, "early_stopping_tolerance"),
        f_beta=_required_number(values, "f_beta"),
        huber_delta=_required_number(values, "huber_delta"),
        init_bias=_required_number(values, "init_bias"),
        init_method=_choice(values, "init_method"),
        init_scale=_required_number(values, "init_scale"),
        init_sigma=_required_number(values, "init_sigma"),
        l1=_number(values, "l1"),
        learning_rate=_number(values, "learning_rate"),
        loss=DEFAULT_LOSS[predictor_type] if loss == "auto" else loss,
        loss_insensitivity=_required_number(values, "loss_insensitivity"),
        lr_scheduler_factor=_number(values, "lr_scheduler_factor"),
        lr_scheduler_minimum_lr=_number(values, "lr_scheduler_minimum_lr"),
        lr_scheduler_step=_integer(values, "lr_scheduler_step"),
        margin=_required_number(values, "margin"),
        momentum=_number(values, "momentum"),
        normalize_data=values["normalize_data"] != "false",
        normalize_label=_flag(values, "normalize_label"),
        num_calibration_samples=_integer(values, "num_calibration_samples"),
        num_models=1 if tuning_objective is not None else _integer(values, "num_models"),
        num_point_for_scaler=_required_integer(values, "num_point_for_scaler"),
        optimizer="adam" if values["optimizer"] == "auto" else _choice(values, "optimizer"),
        positive_example_weight_mult=weight_mult if isinstance(weight_mult, (str, float)) else float(weight_mult),
        quantile=_required_number(values, "quantile"),
        target_precision=_required_number(values, "target_precision"),
        target_recall=_required_number(values, "target_recall"),
        unbias_data=_flag(values, "unbias_data"),
        unbias_label=_flag(values, "unbias_label"),
        use_bias=values["use_bias"] == "true",
        use_lr_scheduler=values["use_lr_scheduler"] == "true",
        wd=_number(values, "wd"),
        tuning_objective=str(tuning_objective) if tuning_objective is not None else None,
    )


# Typed reads of parsed values; each row's declaration guarantees the type, `auto` reads as None.


def _choice(values: Mapping[str, Value], name: str) -> str:
    return str(values[name])


def _num_classes(values: Mapping[str, Value]) -> int:
    value = values["num_classes"]  # present: `_num_classes_for_multiclass` saw to it
    assert isinstance(value, int)
    return value


def _integer(values: Mapping[str, Value], name: str) -> int | None:
    value = values.get(name)
    return value if isinstance(value, int) else None


def _required_integer(values: Mapping[str, Value], name: str) -> int:
    value = values[name]
    assert isinstance(value, int), name
    return value


def _number(values: Mapping[str, Value], name: str) -> float | None:
    value = values.get(name)
    return float(value) if isinstance(value, (int, float)) else None


def _required_number(values: Mapping[str, Value], name: str) -> float:
    value = _number(values, name)
    assert value is not None, name
    return value


def _flag(values: Mapping[str, Value], name: str) -> bool | None:
    value = values[name]
    return None if value == "auto" else value == "true"
