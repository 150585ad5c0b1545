"""The built-in Factorization Machines (`factorization-machines:1`) as a `BuiltinAlgorithm` (reference B6).

Channels: `train` (required) and `test`, RecordIO-protobuf of float32 tensors only. Metrics: the final test
metrics the reference documents -- `test:rmse` for regressors; `test:binary_classification_accuracy`,
`test:binary_classification_cross_entropy` and `test:binary_f_beta` for binary classifiers -- all tunable,
with regexes on the first-party template (`#quality_metric: host=\\S+, test <token> <loss|score>=(\\S+)`)
[INF: the reference gives the pattern, not observed definitions]. The per-epoch training values (`train:rmse`,
`train:binary_classification_accuracy`, `train:binary_classification_cross_entropy`) are registered too, with
the per-epoch form of the template [INF], and the generic progress and throughput. Training lives in `train`,
inference in `inference`.

LIMITATION: multi-instance jobs are not data-parallel (`supports_distributed=False`): the other hosts send
their shards to the first host, which trains on all of them (`first_party.gather`).
"""

from __future__ import annotations

from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm, ChannelSpec
from sageforge.algorithms.first_party.metric_definitions import PROGRESS, THROUGHPUT, Kind, direction, quality_metric

CHANNELS = ("train", "test")

# (metric, the token the line spells it with as a regex, kind)
_TEST_METRICS: tuple[tuple[str, str, Kind], ...] = (
    ("rmse", "rmse", "loss"),
    ("binary_classification_accuracy", "binary_classification_accuracy", "score"),
    ("binary_classification_cross_entropy", "binary_classification_cross_entropy", "loss"),
    ("binary_f_beta", r"binary_f_\S+", "score"),
)
_TRAIN_METRICS = _TEST_METRICS[:3]

METRICS = (
    *(quality_metric(f"test:{name}", "test", token, kind) for name, token, kind in _TEST_METRICS),
    *(quality_metric(f"train:{name}", "train", token, kind, per_epoch=True) for name, token, kind in _TRAIN_METRICS),
    PROGRESS,
    THROUGHPUT,
)
OBJECTIVE_METRICS = MappingProxyType({f"test:{name}": direction(kind) for name, _, kind in _TEST_METRICS})

FACTORIZATION_MACHINES = BuiltinAlgorithm(
    name="factorization-machines",
    title="Factorization Machines",
    train_module="sageforge.algorithms.factorization_machines.train",
    metric_definitions=METRICS,
    known_metrics=METRICS,
    objective_metrics=OBJECTIVE_METRICS,
    channels=(ChannelSpec("train", required=True), ChannelSpec("test")),
    default_input_content_type="application/x-recordio-protobuf",
    supports_distributed=False,
    inference_module="sageforge.algorithms.factorization_machines.inference",
)
