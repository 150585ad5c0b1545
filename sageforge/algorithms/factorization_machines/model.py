"""A trained factorization machine: its parameters, its scores, and its `model_algo-1` form.

The model of degree 2 (Rendle, 2010): `y(x) = w0 + sum_j w_j x_j + sum_{j<l} <v_j, v_l> x_j x_l`, the
pairwise term computed in O(nnz * k) as `1/2 * sum_f [(sum_j v_jf x_j)^2 - sum_j v_jf^2 x_j^2]`. A regressor's
`score` is y(x); a binary classifier's is sigmoid(y(x)) and its `predicted_label` is 1 when the score is at
least 0.5 (reference B6). The artifact (`first_party.artifact`) holds arrays `w0` (1,), `w` (feature_dim,)
and `v` (feature_dim, num_factors) -- the names SageMaker's MXNet checkpoint gives them, though not its
format -- and metadata `predictor_type`, `feature_dim`, `num_factors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse

from sageforge.algorithms.first_party.artifact import ModelArtifact

ALGORITHM = "factorization-machines"
Array = npt.NDArray[np.float64]


def sigmoid(values: Array) -> Array:
    result: Array = np.exp(-np.logaddexp(0.0, -values))  # stable for large |values|
    return result


def as_csr(features: Any) -> Any:
    """A float64 CSR matrix of dense or sparse `features`: the products below then run in scipy's sparse code."""
    return scipy.sparse.csr_matrix(features, dtype=np.float64)


@dataclass(frozen=True)
class Predictions:
    scores: Array
    labels: Array | None  # None for a regressor


@dataclass
class FactorizationMachine:
    predictor_type: str
    w0: Array  # (1,)
    w: Array  # (d,)
    v: Array  # (d, k)

    @property
    def feature_dim(self) -> int:
        return int(self.w.shape[0])

    def raw_scores(self, features: Any) -> Array:
        """y(x) for each row of a dense or sparse (n, d) matrix."""
        x = as_csr(features)
        projected = x @ self.v  # (n, k): sum_j v_jf x_j
        squared = x.multiply(x) @ (self.v**2)  # (n, k): sum_j v_jf^2 x_j^2
        pairwise = 0.5 * np.sum(projected**2 - squared, axis=1)
        result: Array = self.w0[0] + x @ self.w + np.asarray(pairwise).ravel()
        return result

    def predict(self, features: Any) -> Predictions:
        raw = self.raw_scores(features)
        if self.predictor_type == "regressor":
            return Predictions(raw, None)
        scores = sigmoid(raw)
        return Predictions(scores, (scores >= 0.5).astype(np.float64))

    def to_artifact(self) -> ModelArtifact:
        return ModelArtifact(
            ALGORITHM,
            {"predictor_type": self.predictor_type, "feature_dim": self.feature_dim, "num_factors": self.v.shape[1]},
            {"w0": self.w0, "w": self.w, "v": self.v},
        )

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact) -> FactorizationMachine:
        arrays = {name: np.asarray(artifact.arrays[name], dtype=np.float64) for name in ("w0", "w", "v")}
        w0, w, v = arrays["w0"], arrays["w"], arrays["v"]
        if w0.shape != (1,) or w.ndim != 1 or v.ndim != 2 or v.shape[0] != w.shape[0]:
            raise ValueError(f"the model's arrays have shapes {w0.shape}, {w.shape} and {v.shape}")
        return cls(str(artifact.metadata["predictor_type"]), w0, w, v)
