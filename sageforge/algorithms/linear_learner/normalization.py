"""Linear Learner's automatic normalisation: statistics from a sample of the training rows, applied before
training and folded into the final weights.

As SageMaker describes it: with `normalize_data` the features are scaled to unit standard deviation and, for
dense data, shifted to zero mean (`unbias_data`, whose `auto` means "when dense, normalising and fitting a
bias" [INF]); for regression the label is scaled (`normalize_label`, `auto` = on) and shifted (`unbias_label`,
`auto` = when fitting a bias [INF]); classification labels are left as they are. The statistics come from
`num_point_for_scaler` rows drawn at random. A feature whose deviation is (near) zero is not scaled.
Training runs in the normalised space; `to_original` turns a model trained there into weights over the raw
features and labels, so inference needs no normaliser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse

from sageforge.algorithms.linear_learner.hyperparameters import TrainingConfig

Array = npt.NDArray[np.float64]
_TINY = 1e-8


@dataclass(frozen=True)
class Normalizer:
    feature_mean: Array  # (d,), zeros where features are not shifted
    feature_scale: Array  # (d,), ones where they are not scaled
    label_mean: float
    label_scale: float

    def features(self, features: Any) -> Any:
        """`features` in the normalised space: float32, CSR stays CSR (sparse features are never shifted)."""
        inverse = (1 / self.feature_scale).astype(np.float32)
        if scipy.sparse.issparse(features):
            return scipy.sparse.csr_matrix(features @ scipy.sparse.diags(inverse), dtype=np.float32)
        return ((np.asarray(features, dtype=np.float32) - self.feature_mean.astype(np.float32)) * inverse).astype(
            np.float32, copy=False
        )

    def labels(self, labels: Array) -> Array:
        return (labels - self.label_mean) / self.label_scale

    def to_original(self, weights: Array, bias: Array) -> tuple[Array, Array]:
        """Weights (d, outputs) and bias (outputs,) of the same model over raw features, in label units."""
        raw_weights = weights / self.feature_scale[:, None]
        raw_bias = bias - self.feature_mean @ raw_weights
        return raw_weights * self.label_scale, raw_bias * self.label_scale + self.label_mean


def fit_normalizer(features: Any, labels: Array, config: TrainingConfig, rng: np.random.Generator) -> Normalizer:
    """The statistics `config` asks for, from a random sample of the rows."""
    rows = features.shape[0]
    sample = rng.choice(rows, size=min(rows, config.num_point_for_scaler), replace=False)
    sparse = scipy.sparse.issparse(features)
    picked = features[sample]
    if sparse:
        mean = np.asarray(picked.mean(axis=0), dtype=np.float64).ravel()
        square = np.asarray(picked.multiply(picked).mean(axis=0), dtype=np.float64).ravel()
        deviation = np.sqrt(np.maximum(square - mean**2, 0))
    else:
        dense = np.asarray(picked, dtype=np.float64)
        mean, deviation = dense.mean(axis=0), dense.std(axis=0)
    dimension = features.shape[1]
    shift = config.unbias_data if config.unbias_data is not None else (config.normalize_data and config.use_bias)
    scale = np.where(deviation > _TINY, deviation, 1.0) if config.normalize_data else np.ones(dimension)
    regression = not config.is_classifier
    label_sample = labels[sample].astype(np.float64)
    scale_label = regression and config.normalize_label is not False
    shift_label = regression and (config.unbias_label if config.unbias_label is not None else config.use_bias)
    label_deviation = float(label_sample.std()) if scale_label else 1.0
    return Normalizer(
        feature_mean=mean if shift and not sparse else np.zeros(dimension),
        feature_scale=scale,
        label_mean=float(label_sample.mean()) if shift_label else 0.0,
        label_scale=label_deviation if label_deviation > _TINY else 1.0,
    )
