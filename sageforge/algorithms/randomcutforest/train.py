"""Entry point of the built-in Random Cut Forest container: `python -m sageforge.algorithms.randomcutforest.train`.

Under the first-party harness: hyperparameters first (`hyperparameters`), then the `train` channel (CSV
without labels unless its `label_size` says so, or RecordIO-protobuf; labels there are ignored), checked
against `feature_dim`. Each of `num_trees` trees is built on its own sample of `num_samples_per_tree` rows
(`forest`; all rows when there are fewer). The threshold that calls a point anomalous is the mean plus 3
standard deviations of the training rows' scores (at most 4,096 of them, sampled) [INF: SageMaker does not
say which scores it uses]; the artifact's metadata keeps it. A labelled `test` channel (`label_size` 1 by
default, 1 = anomaly) is then scored with the `eval_metrics`: `accuracy` prints `test accuracy`,
`precision_recall_fscore` prints `test precision`, `test recall` and `test f1`.

A multi-instance job builds the forest on the first host, from every host's shards (`first_party.gather`).
A Pipe-mode channel's epoch-0 stream is read once into memory (`first_party.channels`).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.artifact import write_artifact
from sageforge.algorithms.first_party.channels import ChannelData, load_rows
from sageforge.algorithms.first_party.container import Container, run_training
from sageforge.algorithms.first_party.log_lines import MetricLog
from sageforge.algorithms.randomcutforest import RANDOM_CUT_FOREST
from sageforge.algorithms.randomcutforest.forest import build_forest
from sageforge.algorithms.randomcutforest.hyperparameters import parse_hyperparameters

logger = logging.getLogger("sageforge.algorithms.randomcutforest")
CHANNELS = ("train", "test")
SEED = 0
THRESHOLD_ROWS = 4096


def train(container: Container) -> None:
    config = parse_hyperparameters(container.hyperparameters)
    channels = container.input_data_config
    started = time.monotonic()
    data = load_rows(container, "train", feature_dim=config.feature_dim, default_label_size=0)
    rng = np.random.default_rng(SEED)
    rows, per_tree = data.num_rows, min(config.num_samples_per_tree, data.num_rows)
    samples = [
        _dense(data.features[np.sort(rng.choice(rows, per_tree, replace=False))]) for _ in range(config.num_trees)
    ]
    forest = build_forest(samples, seed=SEED)
    scored = _dense(data.features[np.sort(rng.choice(rows, min(rows, THRESHOLD_ROWS), replace=False))])
    train_scores = forest.score(scored)
    threshold = float(train_scores.mean() + 3 * train_scores.std())
    logger.info(
        "forest of %d trees of %d samples from %d rows; %d nodes; score threshold %.6g",
        config.num_trees,
        per_tree,
        rows,
        forest.mass.size,
        threshold,
    )
    log = MetricLog(container.current_host)
    log.progress(100)
    log.throughput(rows / max(time.monotonic() - started, 1e-9))
    metadata = {"num_trees": config.num_trees, "num_samples_per_tree": per_tree, "score_threshold": threshold}
    path = write_artifact(container.model_dir, container.current_host, forest.to_artifact(metadata))
    logger.info("model saved to %s", path)
    if "test" in channels:
        test = load_rows(container, "test", feature_dim=config.feature_dim, default_label_size=1)
        labels = _labels(test)
        predicted = forest.score(_dense(test.features)) > threshold
        for name, value in _test_metrics(predicted, labels, config.eval_metrics):
            log.final("test", name, "score", value)


def _test_metrics(
    predicted: npt.NDArray[np.bool_], labels: npt.NDArray[np.bool_], eval_metrics: tuple[str, ...]
) -> list[tuple[str, float]]:
    """The metrics `eval_metrics` asks for; precision or recall with nothing to divide is 0 [INF]."""
    metrics: list[tuple[str, float]] = []
    if "accuracy" in eval_metrics:
        metrics.append(("accuracy", float(np.mean(predicted == labels))))
    if "precision_recall_fscore" in eval_metrics:
        hits = float(np.sum(predicted & labels))
        precision = hits / max(1, int(predicted.sum()))
        recall = hits / max(1, int(labels.sum()))
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics += [("precision", precision), ("recall", recall), ("f1", f1)]
    return metrics


def _labels(data: ChannelData) -> npt.NDArray[np.bool_]:
    if data.labels is None or data.labels.ndim != 1:
        raise UserError("The test channel needs one label per row (text/csv;label_size=1, 1 = anomaly)")
    if not np.all((data.labels == 0) | (data.labels == 1)):
        raise UserError("The test channel has labels other than 0 and 1 (1 = anomaly)")
    anomalous: npt.NDArray[np.bool_] = data.labels == 1
    return anomalous


def _dense(features: Any) -> npt.NDArray[np.float64]:
    """Rows of a dense or CSR matrix as a dense float64 matrix (the forest cuts dense boxes)."""
    return np.asarray(features.toarray() if scipy.sparse.issparse(features) else features, dtype=np.float64)


def main() -> int:
    return run_training(RANDOM_CUT_FOREST, train)


if __name__ == "__main__":
    sys.exit(main())
