"""The built-in Linear Learner (`linear-learner:1`) as a `BuiltinAlgorithm`: metrics, regexes and channels.

Metric names, directions and the regexes SageMaker registers follow reference B2.3: per-epoch objective
losses (`train:objective_loss`, `validation:objective_loss`), final ones (`...:objective_loss:final`,
`test:objective_loss`) and the final quality metrics of each channel. `validation:rmse`, `test:rmse` and
`*:roc_auc_score` are documented metrics whose registered regexes were not observed: their regexes follow the
sibling definitions [INF] and they are known (a tuning job may use them, with their definition appended) but
not registered, which keeps the registered set within the API's 40 definitions. Training lives in `train`,
inference in `inference`.

LIMITATION: multi-instance jobs are not data-parallel (`supports_distributed=False`): the other hosts send
their shards to the first host, which trains on all of them (`first_party.gather`).
"""

from __future__ import annotations

from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm, ChannelSpec, MetricDefinition
from sageforge.algorithms.first_party.metric_definitions import (
    PROGRESS,
    THROUGHPUT,
    Kind,
    direction,
    quality_metric,
)

ALL_CHANNELS = ("train", "validation", "test")
_SCORED = ("validation", "test")

# (metric, the token the line spells it with as a regex, kind, channels it is defined for, registered by SageMaker)
_QUALITY_METRICS: tuple[tuple[str, str, Kind, tuple[str, ...], bool], ...] = (
    ("mse", "mse", "loss", ALL_CHANNELS, True),
    ("absolute_loss", "absolute_loss", "loss", ALL_CHANNELS, True),
    ("rmse", "rmse", "loss", _SCORED, False),
    ("binary_classification_accuracy", "binary_classification_accuracy", "score", ALL_CHANNELS, True),
    ("binary_f_beta", r"binary_f_\S+", "score", ALL_CHANNELS, True),
    ("precision", "precision", "score", ALL_CHANNELS, True),
    ("recall", "recall", "score", ALL_CHANNELS, True),
    ("roc_auc_score", "roc_auc_score", "score", _SCORED, False),
    ("dcg", "dcg", "score", _SCORED, True),
    ("macro_f_beta", r"macro_f_\S+", "score", _SCORED, True),
    ("macro_precision", "macro_precision", "score", _SCORED, True),
    ("macro_recall", "macro_recall", "score", _SCORED, True),
    ("multiclass_accuracy", "multiclass_accuracy", "score", _SCORED, True),
    ("multiclass_top_k_accuracy", r"multiclass_top_k_accuracy_\S+", "score", _SCORED, True),
)
_OBJECTIVE = r"\S+_objective"

_OBJECTIVE_LOSS = (
    quality_metric("train:objective_loss", "train", _OBJECTIVE, "loss", per_epoch=True),
    quality_metric("validation:objective_loss", "validation", _OBJECTIVE, "loss", per_epoch=True),
    quality_metric("train:objective_loss:final", "train", _OBJECTIVE, "loss"),
    quality_metric("validation:objective_loss:final", "validation", _OBJECTIVE, "loss"),
    quality_metric("test:objective_loss", "test", _OBJECTIVE, "loss"),
)


def _quality(registered_only: bool) -> tuple[MetricDefinition, ...]:
    return tuple(
        quality_metric(f"{channel}:{metric}", channel, token, kind)
        for metric, token, kind, channels, registered in _QUALITY_METRICS
        if registered or not registered_only
        for channel in channels
    )


REGISTERED_METRICS = (*_OBJECTIVE_LOSS, *_quality(registered_only=True), PROGRESS, THROUGHPUT)
KNOWN_METRICS = (*_OBJECTIVE_LOSS, *_quality(registered_only=False), PROGRESS, THROUGHPUT)
# Tunable: the validation and test metrics (reference B2.3); per-epoch `validation:objective_loss` is the one
# early stopping of a tuning job can use.
OBJECTIVE_METRICS = MappingProxyType(
    {
        "validation:objective_loss": direction("loss"),
        "test:objective_loss": direction("loss"),
        **{
            f"{channel}:{metric}": direction(kind)
            for metric, _, kind, channels, _ in _QUALITY_METRICS
            for channel in channels
            if channel in _SCORED
        },
    }
)

LINEAR_LEARNER = BuiltinAlgorithm(
    name="linear-learner",
    title="Linear Learner",
    train_module="sageforge.algorithms.linear_learner.train",
    metric_definitions=REGISTERED_METRICS,
    known_metrics=KNOWN_METRICS,
    objective_metrics=OBJECTIVE_METRICS,
    channels=(ChannelSpec("train", required=True), ChannelSpec("validation"), ChannelSpec("test")),
    default_input_content_type="application/x-recordio-protobuf",
    supports_distributed=False,
    inference_module="sageforge.algorithms.linear_learner.inference",
)
