"""Entry point of the built-in k-NN container: `python -m sageforge.algorithms.knn.train`.

Under the first-party harness: hyperparameters first (`hyperparameters`), then the `train` channel (CSV with
`label_size` leading label columns, 1 by default, or RecordIO-protobuf with `label["values"]`), checked
against `feature_dim`. The index is built on `sample_size` rows drawn uniformly without replacement (all
rows when there are fewer; seeded [INF]), projected when `dimension_reduction_type` says so. `k` larger than
the index fails the job. A `test` channel is then scored: `#test_score (algo-1) : ('accuracy', 0.98)` as
SageMaker logs it, and the `#quality_metric` line the registered regexes read.

A multi-instance job builds the index on the first host, from every host's shards (`first_party.gather`). A
Pipe-mode channel's epoch-0 stream is read once into memory (`first_party.channels`).
"""

from __future__ import annotations

import logging
import sys
import time

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.artifact import write_artifact
from sageforge.algorithms.first_party.channels import ChannelData, load_rows
from sageforge.algorithms.first_party.container import Container, run_training
from sageforge.algorithms.first_party.log_lines import MetricLog
from sageforge.algorithms.knn import KNN
from sageforge.algorithms.knn.hyperparameters import KnnConfig, parse_hyperparameters
from sageforge.algorithms.knn.model import KnnModel
from sageforge.algorithms.knn.projection import projection_matrix

logger = logging.getLogger("sageforge.algorithms.knn")
CHANNELS = ("train", "test")
SAMPLE_SEED = 0


def train(container: Container) -> None:
    config = parse_hyperparameters(container.hyperparameters)
    channels = container.input_data_config
    started = time.monotonic()
    data = _read(container, "train", config)
    assert data.labels is not None
    rows = data.num_rows
    if rows > config.sample_size:
        chosen = np.sort(np.random.default_rng(SAMPLE_SEED).choice(rows, size=config.sample_size, replace=False))
        features, labels = data.features[chosen], data.labels[chosen]
    else:
        features, labels = data.features, data.labels
    if config.k > features.shape[0]:
        raise UserError(f"k ({config.k}) is larger than the number of points in the index ({features.shape[0]})")
    dense = features.toarray() if data.is_sparse else features
    projection = (
        projection_matrix(config.reduction_type, config.feature_dim, config.reduction_target)
        if config.reduction_type is not None and config.reduction_target is not None
        else None
    )
    points = np.ascontiguousarray(dense @ projection if projection is not None else dense, dtype=np.float32)
    model = KnnModel(
        points=points,
        labels=labels.astype(np.float32),
        projection=projection,
        k=config.k,
        predictor_type=config.predictor_type,
        index_metric=config.index_metric,
        index_type=config.index_type,
        feature_dim=config.feature_dim,
        batch_size=config.mini_batch_size,
    )
    logger.info(
        "index of %d of %d rows, %d dimensions, metric %s (%s searched exactly)",
        points.shape[0],
        rows,
        points.shape[1],
        config.index_metric,
        config.index_type,
    )
    log = MetricLog(container.current_host)
    log.progress(100)
    log.throughput(rows / max(time.monotonic() - started, 1e-9))
    path = write_artifact(container.model_dir, container.current_host, model.to_artifact())
    logger.info("model saved to %s", path)
    if "test" in channels:
        test = _read(container, "test", config)
        assert test.labels is not None
        predicted = model.search(test.features).predicted
        if config.predictor_type == "classifier":
            value = float(np.mean(predicted == test.labels))
            logger.info("#test_score (%s) : ('accuracy', %r)", container.current_host, value)
            log.final("test", "accuracy", "score", value)
        else:
            errors = predicted.astype(np.float64) - test.labels
            value = float(np.mean(errors * errors))
            logger.info("#test_score (%s) : ('mse', %r)", container.current_host, value)
            log.final("test", "mse", "loss", value)


def _read(container: Container, channel: str, config: KnnConfig) -> ChannelData:
    data = load_rows(container, channel, feature_dim=config.feature_dim, default_label_size=1)
    labels = _labels(data, channel)
    if not np.all(np.isfinite(labels)):
        raise UserError(f"The {channel} channel has missing or infinite labels")
    return ChannelData(data.features, labels)


def _labels(data: ChannelData, channel: str) -> npt.NDArray[np.float32]:
    if data.labels is None:
        raise UserError(f"The {channel} channel has no labels; k-NN reads the label from the first column")
    if data.labels.ndim != 1:
        raise UserError(f"The {channel} channel has {data.labels.shape[1]} labels per row; k-NN takes one")
    return data.labels


def main() -> int:
    return run_training(KNN, train)


if __name__ == "__main__":
    sys.exit(main())
