"""Entry point of the built-in Linear Learner container: `python -m sageforge.algorithms.linear_learner.train`.

It runs under the first-party harness (`first_party.container`): hyperparameters are validated first
(`hyperparameters`), then the channels are read -- `train` (required), `validation`, `test`, each CSV with
the label first (`label_size` 1 unless the content type says otherwise) or RecordIO-protobuf (the default) --
and checked (labels 0/1 for binary classifiers, 0 ... num_classes - 1 for multiclass, finite numbers,
`feature_dim` when given). Training (`training`) prints, per epoch, the best model's objective loss on train
and validation, progress and throughput; at the end the final model's objective loss and quality metrics
(`metrics`) for every channel given; the model goes to `model/model_algo-1` (`model`, `first_party.artifact`).

A multi-instance job trains on the first host, on every host's shards (`first_party.gather`). A Pipe-mode
channel's epoch-0 stream is read once into memory (`first_party.channels`).
"""

from __future__ import annotations

import logging
import os
import sys

if __name__ == "__main__":
    # Every product is one mini-batch, small: BLAS threads hand work off more than they compute (a 1000x50
    # by 50x16 product takes 0.2 ms on one thread, 3 ms on two busy cores). Set before NumPy loads BLAS.
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.artifact import write_artifact
from sageforge.algorithms.first_party.channels import ChannelData, load_rows
from sageforge.algorithms.first_party.container import Container, run_training
from sageforge.algorithms.first_party.log_lines import MetricLog
from sageforge.algorithms.linear_learner import ALL_CHANNELS, LINEAR_LEARNER
from sageforge.algorithms.linear_learner.hyperparameters import TrainingConfig, parse_hyperparameters
from sageforge.algorithms.linear_learner.losses import make_loss
from sageforge.algorithms.linear_learner.metrics import Metric, binary_metrics, multiclass_metrics, regression_metrics
from sageforge.algorithms.linear_learner.model import LinearModel
from sageforge.algorithms.linear_learner.training import EpochReport, Rows, fit

logger = logging.getLogger("sageforge.algorithms.linear_learner")


def train(container: Container) -> None:
    config = parse_hyperparameters(container.hyperparameters)
    channels = container.input_data_config
    data = {name: _rows(container, name, config) for name in ALL_CHANNELS if name in channels}
    train_rows = data["train"]
    for name, rows in data.items():
        if rows.features.shape[1] != train_rows.features.shape[1]:
            raise UserError(
                f"The {name} channel has {rows.features.shape[1]} features but the train channel has "
                f"{train_rows.features.shape[1]}"
            )
    log = MetricLog(container.current_host)
    token = _objective_token(config)
    logger.info(
        "training %s with %s loss on %d rows of %d features",
        config.predictor_type,
        config.loss,
        train_rows.features.shape[0],
        train_rows.features.shape[1],
    )

    def report_epoch(report: EpochReport) -> None:
        log.epoch(report.epoch, "train", token, "loss", report.train_loss)
        if report.validation_loss is not None:
            log.epoch(report.epoch, "validation", token, "loss", report.validation_loss)
        log.progress(100 * (report.epoch + 1) / config.epochs)
        log.throughput(report.records_per_second)

    result = fit(train_rows, data.get("validation"), config, report_epoch)
    logger.info(
        "kept model %d of %d (selection value %.6g, threshold %s) after %d epochs",
        result.choice.model,
        result.grid.size,
        result.choice.value,
        result.choice.threshold,
        result.epochs_run,
    )
    path = write_artifact(container.model_dir, container.current_host, result.model.to_artifact())
    logger.info("model saved to %s", path)
    for name, rows in data.items():
        for metric in final_metrics(result.model, rows, config):
            log.final(name, metric.token, metric.kind, metric.value)


def final_metrics(model: LinearModel, rows: Rows, config: TrainingConfig) -> list[Metric]:
    """The objective loss and quality metrics of the kept model on one channel."""
    loss = make_loss(
        config.loss,
        insensitivity=config.loss_insensitivity,
        huber_delta=config.huber_delta,
        quantile=config.quantile,
        margin=config.margin,
    )
    objective, _ = loss(model.raw_scores(rows.features)[:, None, :], rows.labels)
    metrics = [Metric(loss.token, "loss", float(objective.mean()))]
    predictions = model.predict(rows.features)
    if config.predictor_type == "regressor":
        return metrics + regression_metrics(predictions.scores, rows.labels)
    if config.predictor_type == "binary_classifier":
        return metrics + binary_metrics(predictions, rows.labels, config.f_beta)
    return metrics + multiclass_metrics(predictions, rows.labels, config.f_beta, config.accuracy_top_k)


def _objective_token(config: TrainingConfig) -> str:
    return make_loss(config.loss, insensitivity=0, huber_delta=1, quantile=0.5, margin=1).token


def _rows(container: Container, channel: str, config: TrainingConfig) -> Rows:
    """One channel's rows, checked against what the predictor type and `feature_dim` need."""
    data = load_rows(container, channel, feature_dim=config.feature_dim, default_label_size=1)
    labels = _labels(data, channel)
    if not np.all(np.isfinite(labels)):
        raise UserError(f"The {channel} channel has missing or infinite labels")
    if config.predictor_type == "binary_classifier" and not np.all((labels == 0) | (labels == 1)):
        raise UserError(f"The {channel} channel has labels other than 0 and 1, which binary_classifier needs")
    if config.predictor_type == "multiclass_classifier" and not np.all(
        (labels == np.round(labels)) & (labels >= 0) & (labels < config.num_classes)
    ):
        raise UserError(
            f"The {channel} channel has labels outside 0 ... {config.num_classes - 1} (num_classes is {config.num_classes})"
        )
    return Rows(data.features, labels.astype(np.float64))


def _labels(data: ChannelData, channel: str) -> npt.NDArray[np.float32]:
    if data.labels is None:
        raise UserError(f"The {channel} channel has no labels; Linear Learner reads the label from the first column")
    if data.labels.ndim != 1:
        raise UserError(f"The {channel} channel has {data.labels.shape[1]} labels per row; Linear Learner takes one")
    return data.labels


def main() -> int:
    return run_training(LINEAR_LEARNER, train)


if __name__ == "__main__":
    sys.exit(main())
