"""The built-in XGBoost algorithm (SageMaker XGBoost container, "algorithm mode") as a `BuiltinAlgorithm`.

This module only declares the algorithm: its metric names and directions (the container's lists, 1.0-1
through 1.7-1), the regexes SageMaker registers for them, and its channels. Training lives in `train`,
inference (what an endpoint's replica runs) in `inference`.
"""

from __future__ import annotations

from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm, ChannelSpec, MetricDefinition, ObjectiveDirection

MAXIMIZE_METRICS: tuple[str, ...] = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "precision_macro",
    "precision_micro",
    "r2",
    "recall",
    "recall_macro",
    "recall_micro",
)
MINIMIZE_METRICS: tuple[str, ...] = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    # Listed as "minimize" by the container although it is an accuracy; kept for compatibility.
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)
METRICS: tuple[str, ...] = tuple(sorted(MAXIMIZE_METRICS + MINIMIZE_METRICS))
# The metrics the service registers as definitions on every XGBoost job (observed in real job descriptions);
# 17 x 2 channels stays within the API's limit of 40 definitions. Tuning on another metric appends its own
# "ObjectiveMetric" definition, as SageMaker does.
REGISTERED_METRICS: tuple[str, ...] = (
    "accuracy",
    "auc",
    "aucpr",
    "error",
    "f1",
    "gamma-deviance",
    "gamma-nloglik",
    "logloss",
    "mae",
    "map",
    "merror",
    "mlogloss",
    "mse",
    "ndcg",
    "poisson-nloglik",
    "rmse",
    "tweedie-nloglik",
)
CHANNELS: tuple[str, ...] = ("train", "validation")

# The service's registered form: the evaluation line's tabs are matched as CloudWatch's `#011`.
_VALUE = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def _metric_definition(channel: str, metric: str) -> MetricDefinition:
    return MetricDefinition(f"{channel}:{metric}", rf".*\[[0-9]+\].*#011{channel}-{metric}:{_VALUE}.*")


def _direction(metric: str) -> ObjectiveDirection:
    return "Maximize" if metric in MAXIMIZE_METRICS else "Minimize"


XGBOOST = BuiltinAlgorithm(
    name="xgboost",
    title="XGBoost",
    train_module="sageforge.algorithms.xgboost.train",
    metric_definitions=tuple(
        _metric_definition(channel, metric) for metric in REGISTERED_METRICS for channel in CHANNELS
    ),
    known_metrics=tuple(_metric_definition(channel, metric) for metric in METRICS for channel in CHANNELS),
    # The container's metadata registers only validation metrics as tunable.
    objective_metrics=MappingProxyType({f"validation:{metric}": _direction(metric) for metric in METRICS}),
    channels=(ChannelSpec("train", required=True), ChannelSpec("validation")),
    default_input_content_type="text/libsvm",
    supports_distributed=True,
    inference_module="sageforge.algorithms.xgboost.inference",
)
