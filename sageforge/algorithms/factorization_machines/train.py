"""Entry point of the built-in Factorization Machines container:
`python -m sageforge.algorithms.factorization_machines.train`.

It runs under the first-party harness (`first_party.container`): hyperparameters are validated first, then the
channels are read -- `train` (required) and `test` -- which must be RecordIO-protobuf (the default when a
channel names no type) holding float32 tensors, dense or sparse, of `feature_dim` columns, with one label a
row: 0 or 1 for a binary classifier. CSV and other tensor types are refused as SageMaker's FM refuses them
(its reader takes Float32 RecordIO-protobuf only); the wording is sageforge's [INF]. Training (`training`)
prints, per epoch, the train loss (`rmse`, or `binary_classification_cross_entropy` and
`binary_classification_accuracy`), progress and throughput; at the end the test metrics when a test channel is
given. The model goes to `model/model_algo-1` (`model`, `first_party.artifact`).

A multi-instance job trains on the first host, on every host's shards (`first_party.gather`). A Pipe-mode
channel's epoch-0 stream is read once into memory (`first_party.channels`).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

if __name__ == "__main__":
    # Mini-batch products are small: BLAS threads hand work off more than they compute.
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

from sageforge.algorithms.base import UserError
from sageforge.algorithms.factorization_machines import CHANNELS, FACTORIZATION_MACHINES
from sageforge.algorithms.factorization_machines.hyperparameters import (
    TrainingConfig,
    parse_hyperparameters,
)
from sageforge.algorithms.factorization_machines.model import Array
from sageforge.algorithms.factorization_machines.training import EpochReport, final_metrics, fit
from sageforge.algorithms.first_party.artifact import write_artifact
from sageforge.algorithms.first_party.channels import read_recordio_protobuf
from sageforge.algorithms.first_party.container import Container, run_training
from sageforge.algorithms.first_party.log_lines import MetricLog
from sageforge.algorithms.formats import DataFormat, parse_content_type

logger = logging.getLogger("sageforge.algorithms.factorization_machines")
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"


def train(container: Container) -> None:
    config = parse_hyperparameters(container.hyperparameters)
    channels = container.input_data_config
    data = {name: _rows(container, name, config) for name in CHANNELS if name in channels}
    features, labels = data["train"]
    logger.info("training a %s on %d rows of %d features", config.predictor_type, features.shape[0], config.feature_dim)
    log = MetricLog(container.current_host)

    def report_epoch(report: EpochReport) -> None:
        if report.accuracy is None:
            log.epoch(report.epoch, "train", "rmse", "loss", float(np.sqrt(report.loss)))
        else:
            log.epoch(report.epoch, "train", "binary_classification_cross_entropy", "loss", report.loss)
            log.epoch(report.epoch, "train", "binary_classification_accuracy", "score", report.accuracy)
        log.progress(100 * (report.epoch + 1) / config.epochs)
        log.throughput(report.records_per_second)

    model = fit(features, labels, config, report_epoch)
    path = write_artifact(container.model_dir, container.current_host, model.to_artifact())
    logger.info("model saved to %s", path)
    if "test" in data:
        for token, kind, value in final_metrics(model, *data["test"]):
            log.final("test", token, kind, value)


def _rows(container: Container, channel: str, config: TrainingConfig) -> tuple[Any, Array]:
    """One channel's features (float32, dense or CSR) and labels, checked against the configuration."""
    content_type = container.input_data_config[channel].get("ContentType")
    if content_type and parse_content_type(content_type).data_format is not DataFormat.RECORDIO_PROTOBUF:
        raise UserError(
            f"Channel {channel}: content type {content_type} is not supported; Factorization Machines reads "
            f"{RECORDIO_PROTOBUF} only"
        )
    matrix = read_recordio_protobuf(container, channel)
    if matrix is None:
        raise UserError(f"No data in the {channel} channel ({container.channel_dir(channel)})")
    features, labels = matrix
    if features.dtype != np.float32:
        raise UserError(
            f"The {channel} channel holds {features.dtype} tensors; Factorization Machines takes Float32 tensors only"
        )
    if features.shape[0] == 0:
        raise UserError(f"No data in the {channel} channel ({container.channel_dir(channel)})")
    if labels is None or labels.ndim != 1:
        raise UserError(f'The {channel} channel\'s records need one label each (label["values"])')
    if features.shape[1] > config.feature_dim or (
        features.shape[1] < config.feature_dim and isinstance(features, np.ndarray)
    ):
        raise UserError(
            f"feature_dim is {config.feature_dim} but the {channel} channel's records have {features.shape[1]} features"
        )
    if not isinstance(features, np.ndarray):
        features = features.tocsr()
        features.resize((features.shape[0], config.feature_dim))  # sparse rows narrower than feature_dim
    values = features if isinstance(features, np.ndarray) else features.data
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(labels))):
        raise UserError(f"The {channel} channel has missing or infinite values")
    result = labels.astype(np.float64)
    if config.predictor_type == "binary_classifier" and not np.all((result == 0) | (result == 1)):
        raise UserError(f"The {channel} channel has labels other than 0 and 1, which binary_classifier needs")
    return features, result


def main() -> int:
    return run_training(FACTORIZATION_MACHINES, train)


if __name__ == "__main__":
    sys.exit(main())
