"""The built-in Random Cut Forest (`randomcutforest:1`) as a `BuiltinAlgorithm`: metrics, regexes and channels.

An optional labelled `test` channel (1 = anomaly) is scored once the forest is built: a point is called
anomalous when its score is more than 3 standard deviations above the mean score, and the calls are compared
with the labels (reference B7). `test:f1` is SageMaker's registered metric and tuning objective (maximised);
`test:accuracy`, `test:precision` and `test:recall`, printed by `eval_metrics`, are known but not registered
[INF]. The regexes read the 1P `#quality_metric` line [INF]. Training lives in `train`, inference in `inference`.

LIMITATION: SageMaker shards the train channel across instances (ShardedByS3Key) and merges their trees;
sageforge builds one forest on the first host from every host's shards (`first_party.gather`).
"""

from __future__ import annotations

from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm, ChannelSpec
from sageforge.algorithms.first_party.metric_definitions import direction, quality_metric

TEST_METRICS = ("accuracy", "precision", "recall", "f1")
_F1 = quality_metric("test:f1", "test", "f1", "score")
OBJECTIVE_METRICS = MappingProxyType({"test:f1": direction("score")})

RANDOM_CUT_FOREST = BuiltinAlgorithm(
    name="randomcutforest",
    title="Random Cut Forest",
    train_module="sageforge.algorithms.randomcutforest.train",
    metric_definitions=(_F1,),
    known_metrics=tuple(quality_metric(f"test:{name}", "test", name, "score") for name in TEST_METRICS),
    objective_metrics=OBJECTIVE_METRICS,
    channels=(ChannelSpec("train", required=True), ChannelSpec("test")),
    default_input_content_type="application/x-recordio-protobuf",
    supports_distributed=False,
    inference_module="sageforge.algorithms.randomcutforest.inference",
)
