"""The built-in IP Insights (`ipinsights:1`) as a `BuiltinAlgorithm` (reference B8).

Channels: `train` (required) and `validation`, CSV `entity,ip` rows, File mode. Metrics are the definitions
SageMaker registers, as observed: the per-epoch `validation:discriminator_auc` (the tunable objective, to
maximise), the training accuracy and cross entropy every `batch_metrics_publish_interval` batches
(`train:binary_classification_accuracy`, `train:binary_classification_cross_entropy`, lines with `epoch=`
and `batch=`) and per epoch (`...:epoch`), and the generic progress and throughput. Training lives in
`train`, inference in `inference`.

LIMITATION: multi-instance jobs are not data-parallel (`supports_distributed=False`): the other hosts send
their shards to the first host, which trains on all of them (`first_party.gather`).
"""

from __future__ import annotations

from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm, ChannelSpec, MetricDefinition
from sageforge.algorithms.first_party.metric_definitions import PROGRESS, THROUGHPUT, quality_metric

CHANNELS = ("train", "validation")
_BATCH = r"#quality_metric: host=\S+, epoch=\S+, batch=\S+ train"

METRICS = (
    quality_metric("validation:discriminator_auc", "validation", "discriminator_auc", "score", per_epoch=True),
    MetricDefinition("train:binary_classification_accuracy", rf"{_BATCH} binary_classification_accuracy <score>=(\S+)"),
    MetricDefinition(
        "train:binary_classification_cross_entropy", rf"{_BATCH} binary_classification_cross_entropy <loss>=(\S+)"
    ),
    quality_metric(
        "train:binary_classification_accuracy:epoch", "train", "binary_classification_accuracy", "score", per_epoch=True
    ),
    quality_metric(
        "train:binary_classification_cross_entropy:epoch",
        "train",
        "binary_classification_cross_entropy",
        "loss",
        per_epoch=True,
    ),
    PROGRESS,
    THROUGHPUT,
)

IP_INSIGHTS = BuiltinAlgorithm(
    name="ipinsights",
    title="IP Insights",
    train_module="sageforge.algorithms.ipinsights.train",
    metric_definitions=METRICS,
    known_metrics=METRICS,
    objective_metrics=MappingProxyType({"validation:discriminator_auc": "Maximize"}),
    channels=(ChannelSpec("train", required=True), ChannelSpec("validation")),
    default_input_content_type="text/csv",
    supports_distributed=False,
    inference_module="sageforge.algorithms.ipinsights.inference",
)
