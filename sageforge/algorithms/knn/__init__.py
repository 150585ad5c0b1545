"""The built-in k-Nearest Neighbors (`knn:1`) as a `BuiltinAlgorithm`: metrics, regexes and channels.

A `test` channel is scored once training ends: `test:accuracy` (classifier, maximised) or `test:mse`
(regressor, minimised), reference B5. SageMaker's logs show `#test_score (algo-1) : ('accuracy', 0.98)`;
the registered regexes are not published, so they read the 1P framework's `#quality_metric` line, which the
container prints too [INF]. Training lives in `train`, inference in `inference`.

LIMITATION: faiss is not available, so every `index_type` (`faiss.Flat`, `faiss.IVFFlat`, `faiss.IVFPQ`) is
an exact brute-force search (scikit-learn's `NearestNeighbors` for L2 and COSINE); the IVF/PQ parameters are
validated and recorded but change nothing. Multi-instance jobs index every host's shards on the first
host (`first_party.gather`).
"""

from __future__ import annotations

from types import MappingProxyType

from sageforge.algorithms.base import BuiltinAlgorithm, ChannelSpec
from sageforge.algorithms.first_party.metric_definitions import direction, quality_metric

_ACCURACY = quality_metric("test:accuracy", "test", "accuracy", "score")
_MSE = quality_metric("test:mse", "test", "mse", "loss")
OBJECTIVE_METRICS = MappingProxyType({"test:accuracy": direction("score"), "test:mse": direction("loss")})

KNN = BuiltinAlgorithm(
    name="knn",
    title="k-NN",
    train_module="sageforge.algorithms.knn.train",
    metric_definitions=(_ACCURACY, _MSE),
    known_metrics=(_ACCURACY, _MSE),
    objective_metrics=OBJECTIVE_METRICS,
    channels=(ChannelSpec("train", required=True), ChannelSpec("test")),
    default_input_content_type="application/x-recordio-protobuf",
    supports_distributed=False,
    inference_module="sageforge.algorithms.knn.inference",
)
