"""The metric lines a first-party algorithm prints, in the grammar SageMaker's regexes read (reference A4.2).

Every line goes through the `sageforge.algorithms.first_party` logger, which `container.configure_logging`
renders as the 1P framework does: `[11/24/2020 18:53:56 INFO 140513285547840] #quality_metric: host=algo-1,
epoch=0, train mse_objective <loss>=0.917`. Values print as Python's shortest round-tripping float.
"""

from __future__ import annotations

import logging

from sageforge.algorithms.first_party.metric_definitions import Kind

logger = logging.getLogger("sageforge.algorithms.first_party")


class MetricLog:
    """Prints one host's metric lines."""

    def __init__(self, host: str) -> None:
        self.host = host

    def epoch(self, epoch: int, channel: str, token: str, kind: Kind, value: float) -> None:
        """A per-epoch value: `#quality_metric: host=algo-1, epoch=3, validation mse_objective <loss>=0.5`."""
        logger.info(
            "#quality_metric: host=%s, epoch=%d, %s %s <%s>=%r", self.host, epoch, channel, token, kind, float(value)
        )

    def batch(self, epoch: int, batch: int, channel: str, token: str, kind: Kind, value: float) -> None:
        """A per-batch value: `#quality_metric: host=algo-1, epoch=0, batch=5 train loss <loss>=9.5` (no comma
        after the batch number, as the 1P framework prints it)."""
        logger.info(
            "#quality_metric: host=%s, epoch=%d, batch=%d %s %s <%s>=%r",
            self.host,
            epoch,
            batch,
            channel,
            token,
            kind,
            float(value),
        )

    def final(self, channel: str, token: str, kind: Kind, value: float) -> None:
        """A final value: `#quality_metric: host=algo-1, test binary_classification_accuracy <score>=0.97`."""
        logger.info("#quality_metric: host=%s, %s %s <%s>=%r", self.host, channel, token, kind, float(value))

    def progress(self, percent: float) -> None:
        logger.info("#progress_metric: host=%s, completed %s %% of epochs", self.host, _short(percent))

    def throughput(self, records_per_second: float) -> None:
        logger.info(
            "#throughput_metric: host=%s, train throughput=%s records/second", self.host, _short(records_per_second)
        )


def _short(value: float) -> str:
    return f"{value:.6g}"
