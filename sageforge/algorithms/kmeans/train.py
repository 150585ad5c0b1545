"""Entry point of the built-in K-Means container: `python -m sageforge.algorithms.kmeans.train`.

It runs under the first-party harness (`first_party.container`): hyperparameters are validated first
(`hyperparameters`), then the channels are read -- `train` (required) and `test`, each RecordIO-protobuf (the
default) or CSV. A CSV channel without `label_size` is read as all features (`label_size=0`) [INF: the
reference suspects SageMaker eats a first column as the label; an unsupervised algorithm has none, and
`feature_dim` catches a mismatch either way]. The rows must have `feature_dim` columns and be finite, and
`k` must not exceed the train rows. Training (`clustering`) prints each epoch's train mean squared distance,
progress and throughput; the model goes to `model/model_algo-1` (`model`); then, for a test channel, the
`eval_metrics` (`test msd`, `test ssd`) of the final centroids.

A multi-instance job trains on the first host, on every host's shards (`first_party.gather`). A Pipe-mode
channel's epoch-0 stream is read once into memory (`first_party.channels`).
"""

from __future__ import annotations

import logging
import sys

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.channels import as_float64, load_rows
from sageforge.algorithms.first_party.container import Container, run_training
from sageforge.algorithms.first_party.log_lines import MetricLog
from sageforge.algorithms.kmeans import CHANNELS, KMEANS
from sageforge.algorithms.kmeans.clustering import EpochReport, reduce_centers, stream
from sageforge.algorithms.kmeans.hyperparameters import parse_hyperparameters
from sageforge.algorithms.kmeans.model import KMeansModel

logger = logging.getLogger("sageforge.algorithms.kmeans")


def train(container: Container) -> None:
    config = parse_hyperparameters(container.hyperparameters)
    channels = container.input_data_config
    data = {
        name: as_float64(load_rows(container, name, feature_dim=config.feature_dim, default_label_size=0))
        for name in CHANNELS
        if name in channels
    }
    rows = data["train"].shape[0]
    if config.k > rows:
        raise UserError(f"k={config.k} is greater than the number of rows in the train channel ({rows})")
    log = MetricLog(container.current_host)
    logger.info("clustering %d rows of %d features into %d clusters", rows, config.feature_dim, config.k)

    def report_epoch(report: EpochReport) -> None:
        log.epoch(report.epoch, "train", "msd", "loss", report.train_msd)
        log.progress(100 * (report.epoch + 1) / config.epochs)
        log.throughput(report.records_per_second)

    streaming = stream(data["train"], config, report_epoch)
    model = KMeansModel(reduce_centers(streaming, config))
    path = model.save(container.model_dir, container.current_host)
    logger.info("model saved to %s", path)
    if "test" in data:
        distances = model.assign(data["test"]).distances ** 2
        values = {"msd": float(distances.mean()), "ssd": float(distances.sum())}
        for metric in config.eval_metrics:
            log.final("test", metric, "loss", values[metric])


def main() -> int:
    return run_training(KMEANS, train)


if __name__ == "__main__":
    sys.exit(main())
