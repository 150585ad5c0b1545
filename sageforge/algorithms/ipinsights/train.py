"""Entry point of the built-in IP Insights container: `python -m sageforge.algorithms.ipinsights.train`.

It runs under the first-party harness (`first_party.container`): hyperparameters are validated first, then the
channels are read -- `train` (required) and `validation` -- CSV files of `entity,ip` rows without a header, in
File mode (the reference's only mode). A row whose address is not IPv4 dotted-quad is skipped, and the count
logged [INF]; a channel with no usable row, or rows of another width, fails the job. Training (`training`)
prints the batch lines every `batch_metrics_publish_interval` batches, per epoch the train accuracy and cross
entropy, the validation `discriminator_auc`, progress and throughput; the model goes to `model/model_algo-1`.

A multi-instance job trains on the first host, on every host's shards (`first_party.gather`).
"""

from __future__ import annotations

import logging
import os
import sys

if __name__ == "__main__":
    # Every product is one mini-batch: BLAS threads hand work off more than they compute.
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import pandas as pd  # noqa: E402

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.artifact import write_artifact
from sageforge.algorithms.first_party.container import Container, run_training
from sageforge.algorithms.first_party.log_lines import MetricLog
from sageforge.algorithms.formats import DataFormat, data_files, open_data, parse_content_type
from sageforge.algorithms.ipinsights import CHANNELS, IP_INSIGHTS
from sageforge.algorithms.ipinsights.encoding import entity_rows, parse_ipv4
from sageforge.algorithms.ipinsights.hyperparameters import TrainingConfig, parse_hyperparameters
from sageforge.algorithms.ipinsights.training import BatchReport, EpochReport, Pairs, fit

logger = logging.getLogger("sageforge.algorithms.ipinsights")


def train(container: Container) -> None:
    config = parse_hyperparameters(container.hyperparameters)
    channels = container.input_data_config
    for name, channel in channels.items():
        if channel.get("TrainingInputMode", "File") != "File":
            raise UserError(f"Channel {name}: IP Insights reads File mode only, not {channel['TrainingInputMode']}")
    data = {name: _pairs(container, name, config) for name in CHANNELS if name in channels}
    log = MetricLog(container.current_host)

    def report_batch(report: BatchReport) -> None:
        log.batch(report.epoch, report.batch, "train", "binary_classification_accuracy", "score", report.accuracy)
        log.batch(
            report.epoch, report.batch, "train", "binary_classification_cross_entropy", "loss", report.cross_entropy
        )

    def report_epoch(report: EpochReport) -> None:
        log.epoch(report.epoch, "train", "binary_classification_accuracy", "score", report.accuracy)
        log.epoch(report.epoch, "train", "binary_classification_cross_entropy", "loss", report.cross_entropy)
        if report.validation_auc is not None:
            log.epoch(report.epoch, "validation", "discriminator_auc", "score", report.validation_auc)
        log.progress(100 * (report.epoch + 1) / config.epochs)
        log.throughput(report.records_per_second)

    logger.info("training on %d pairs", len(data["train"]))
    model = fit(data["train"], data.get("validation"), config, report_batch, report_epoch)
    path = write_artifact(container.model_dir, container.current_host, model.to_artifact())
    logger.info("model saved to %s", path)


def _pairs(container: Container, channel: str, config: TrainingConfig) -> Pairs:
    content_type = container.input_data_config[channel].get("ContentType") or "text/csv"
    if parse_content_type(content_type).data_format is not DataFormat.CSV:
        raise UserError(f"Channel {channel}: content type {content_type} is not supported; IP Insights reads text/csv")
    frames = []
    for path in data_files(container.channel_dir(channel)):
        with open_data(path) as stream:
            try:
                frame = pd.read_csv(stream, header=None, dtype=str, keep_default_na=False, skip_blank_lines=True)
            except pd.errors.EmptyDataError:
                continue
        if frame.shape[1] != 2:
            raise UserError(f"{path}: rows have {frame.shape[1]} columns; IP Insights reads entity,ip rows")
        frames.append(frame)
    if not frames:
        raise UserError(f"No data in the {channel} channel ({container.channel_dir(channel)})")
    rows = pd.concat(frames, ignore_index=True)
    addresses, valid = parse_ipv4(rows[1].tolist())
    if not valid.any():
        raise UserError(f"The {channel} channel has no row with an IPv4 address in its second column")
    if not valid.all():
        logger.warning("%s: skipped %d rows whose address is not IPv4", channel, int((~valid).sum()))
    entities = entity_rows(rows[0][valid].tolist(), config.num_entity_vectors)
    return Pairs(entities, addresses[valid])


def main() -> int:
    return run_training(IP_INSIGHTS, train)


if __name__ == "__main__":
    sys.exit(main())
