"""The built-in PCA (`pca:1`) as a `BuiltinAlgorithm`: channels and metrics (reference B4).

PCA is not tunable: SageMaker registers only its progress and throughput lines, and no objective metric.
Training lives in `train`, inference in `inference`.

LIMITATION: multi-instance jobs are not data-parallel (`supports_distributed=False`): the other hosts send
their shards to the first host, which trains on all of them (`first_party.gather`).
"""

from __future__ import annotations

from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm, ChannelSpec, ObjectiveDirection
from sageforge.algorithms.first_party.metric_definitions import PROGRESS, THROUGHPUT

CHANNELS = ("train", "test")
_NO_OBJECTIVES: MappingProxyType[str, ObjectiveDirection] = MappingProxyType({})

PCA = BuiltinAlgorithm(
    name="pca",
    title="PCA",
    train_module="sageforge.algorithms.pca.train",
    metric_definitions=(PROGRESS, THROUGHPUT),
    known_metrics=(PROGRESS, THROUGHPUT),
    objective_metrics=_NO_OBJECTIVES,
    channels=(ChannelSpec("train", required=True), ChannelSpec("test")),
    default_input_content_type="application/x-recordio-protobuf",
    supports_distributed=False,
    inference_module="sageforge.algorithms.pca.inference",
)
