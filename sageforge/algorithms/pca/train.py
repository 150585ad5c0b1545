"""Entry point of the built-in PCA container: `python -m sageforge.algorithms.pca.train`.

It runs under the first-party harness (`first_party.container`): hyperparameters are validated first
(`hyperparameters`), then the channels are read -- `train` (required) and `test`, each RecordIO-protobuf (the
default) or CSV. A CSV channel without `label_size` is read as all features (`label_size=0`) [INF, as for
K-Means]. The rows must have `feature_dim` columns and be finite, and the train channel must hold more
rows than `num_components` [INF]. Training (`decomposition`) prints progress and throughput after each pass;
the model goes to `model/model_algo-1` (`model`). A test channel is checked and its mean squared
reconstruction error logged; SageMaker registers no metric for it, so no `#quality_metric` line is printed.

A multi-instance job trains on the first host, on every host's shards (`first_party.gather`). A Pipe-mode
channel's epoch-0 stream is read once into memory (`first_party.channels`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np
import scipy.sparse

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.channels import as_float64, load_rows
from sageforge.algorithms.first_party.container import Container, run_training
from sageforge.algorithms.first_party.log_lines import MetricLog
from sageforge.algorithms.pca import CHANNELS, PCA
from sageforge.algorithms.pca.decomposition import PassReport, fit
from sageforge.algorithms.pca.hyperparameters import parse_hyperparameters
from sageforge.algorithms.pca.model import PCAModel

logger = logging.getLogger("sageforge.algorithms.pca")


def train(container: Container) -> None:
    config = parse_hyperparameters(container.hyperparameters)
    channels = container.input_data_config
    data = {
        name: as_float64(load_rows(container, name, feature_dim=config.feature_dim, default_label_size=0))
        for name in CHANNELS
        if name in channels
    }
    rows = data["train"].shape[0]
    if rows <= config.num_components:
        raise UserError(f"num_components={config.num_components} needs more rows than the train channel's {rows}")
    log = MetricLog(container.current_host)
    logger.info(
        "%s PCA of %d rows of %d features to %d components",
        config.algorithm_mode,
        rows,
        config.feature_dim,
        config.num_components,
    )

    def report_pass(report: PassReport) -> None:
        log.progress(100 * report.done / report.total)
        log.throughput(report.records_per_second)

    components = fit(data["train"], config, report_pass)
    model = PCAModel(components.mean, components.v, components.s)
    path = model.save(container.model_dir, container.current_host)
    logger.info("model saved to %s", path)
    if "test" in data:
        logger.info("test channel: mean squared reconstruction error %.6g", _reconstruction_error(model, data["test"]))


def _reconstruction_error(model: PCAModel, features: Any) -> float:
    dense = features.toarray() if scipy.sparse.issparse(features) else features
    centred = dense if model.mean is None else dense - model.mean
    residual = centred - model.project(features) @ model.v.T
    return float(np.mean(np.sum(residual**2, axis=1)))


def main() -> int:
    return run_training(PCA, train)


if __name__ == "__main__":
    sys.exit(main())
