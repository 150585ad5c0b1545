"""A trained Linear Learner model: weights over the raw features, and what its scores mean (reference B2.4).

`score` is the regression prediction, the probability of class 1 (`logistic`), the margin (`hinge_loss`), or
the vector of class probabilities (`softmax_loss`); `predicted_label` compares a binary score with the
calibrated threshold, or takes the most probable class. The model travels as the 1P artifact
(`first_party.artifact`): arrays `weights` (d, outputs) and `bias` (outputs,), metadata `predictor_type`,
`loss`, `threshold` (binary only) and `feature_dim`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.first_party.artifact import ModelArtifact
from sageforge.algorithms.linear_learner.losses import sigmoid, softmax

ALGORITHM = "linear-learner"
Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Predictions:
    """Scores (rows,) or (rows, classes) and predicted labels (rows,), None for a regressor."""

    scores: Array
    labels: Array | None


@dataclass(frozen=True)
class LinearModel:
    predictor_type: str
    loss: str
    weights: Array  # (d, outputs)
    bias: Array  # (outputs,)
    threshold: float | None  # binary classifiers: the cut on `score` above which the label is 1

    @property
    def feature_dim(self) -> int:
        return int(self.weights.shape[0])

    def raw_scores(self, features: Any) -> Array:
        """The linear outputs (rows, outputs) for a dense or CSR matrix of raw features."""
        # float64 like the weights: NumPy multiplies mixed precisions without BLAS.
        product = features.astype(np.float64) @ self.weights
        result: Array = np.asarray(product, dtype=np.float64) + self.bias
        return result

    def predict(self, features: Any) -> Predictions:
        raw = self.raw_scores(features)
        if self.predictor_type == "regressor":
            return Predictions(raw[:, 0], None)
        if self.predictor_type == "multiclass_classifier":
            probabilities = softmax(raw)
            return Predictions(probabilities, np.argmax(probabilities, axis=1).astype(np.float64))
        scores = sigmoid(raw[:, 0]) if self.loss == "logistic" else raw[:, 0]
        assert self.threshold is not None  # every binary model is calibrated
        return Predictions(scores, (scores > self.threshold).astype(np.float64))

    def to_artifact(self) -> ModelArtifact:
        return ModelArtifact(
            ALGORITHM,
            {
                "predictor_type": self.predictor_type,
                "loss": self.loss,
                "threshold": self.threshold,
                "feature_dim": self.feature_dim,
            },
            {"weights": self.weights, "bias": self.bias},
        )

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact) -> LinearModel:
        metadata = artifact.metadata
        weights = np.asarray(artifact.arrays["weights"], dtype=np.float64)
        bias = np.asarray(artifact.arrays["bias"], dtype=np.float64)
        if weights.ndim != 2 or bias.shape != (weights.shape[1],):
            raise ValueError(f"the model's arrays have shapes {weights.shape} and {bias.shape}")
        threshold = metadata.get("threshold")
        return cls(
            predictor_type=str(metadata["predictor_type"]),
            loss=str(metadata["loss"]),
            weights=weights,
            bias=bias,
            threshold=None if threshold is None else float(threshold),
        )
