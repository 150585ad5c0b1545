"""The built-in K-Means (`kmeans:1`) as a `BuiltinAlgorithm`: metrics, regexes and channels (reference B3).

SageMaker registers `test:msd` and `test:ssd` (the mean and the sum of squared distances of the test rows to
their closest centre, both minimised), read from the final `test` lines that `eval_metrics` asks for. Each
epoch also prints the train rows' mean squared distance to the streaming centres (`train:msd`, per epoch
[INF]: known, so a tuning job may watch it, but not registered). Training lives in `train`, inference in
`inference`.

LIMITATION: multi-instance jobs are not data-parallel (`supports_distributed=False`): the other hosts send
their shards to the first host, which trains on all of them (`first_party.gather`).
"""

from __future__ import annotations

from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm, ChannelSpec
from sageforge.algorithms.first_party.metric_definitions import PROGRESS, THROUGHPUT, direction, quality_metric

CHANNELS = ("train", "test")
EVAL_METRICS = ("msd", "ssd")

_TEST_METRICS = tuple(quality_metric(f"test:{metric}", "test", metric, "loss") for metric in EVAL_METRICS)
_TRAIN_MSD = quality_metric("train:msd", "train", "msd", "loss", per_epoch=True)

REGISTERED_METRICS = (*_TEST_METRICS, PROGRESS, THROUGHPUT)
KNOWN_METRICS = (*REGISTERED_METRICS, _TRAIN_MSD)
OBJECTIVE_METRICS = MappingProxyType({f"test:{metric}": direction("loss") for metric in EVAL_METRICS})

KMEANS = BuiltinAlgorithm(
    name="kmeans",
    title="K-Means",
    train_module="sageforge.algorithms.kmeans.train",
    metric_definitions=REGISTERED_METRICS,
    known_metrics=KNOWN_METRICS,
    objective_metrics=OBJECTIVE_METRICS,
    channels=(ChannelSpec("train", required=True), ChannelSpec("test")),
    default_input_content_type="application/x-recordio-protobuf",
    supports_distributed=False,
    inference_module="sageforge.algorithms.kmeans.inference",
)
