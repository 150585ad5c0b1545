"""A trained k-NN model: the sampled index points, their labels, the projection, and how to search them.

Search is exact (brute force; faiss is not available, see the package docstring) and in NumPy, as
scikit-learn's brute-force `NearestNeighbors` computes it -- float64 distances through the dot-product
expansion, `argpartition`, then a sort -- so neighbours match scikit-learn's `KNeighborsClassifier`. (A replica
does not load scikit-learn: the serving runtime keeps it out to start faster.) L2 answers Euclidean
distances, COSINE cosine distances (1 - cos), both ascending; INNER_PRODUCT answers the inner products
themselves, largest first, as faiss's inner-product index does [INF]. A classifier predicts the label most
of the k neighbours carry, the smallest label among tied ones (scikit-learn's rule); a regressor the
neighbours' mean label.

Artifact (`first_party.artifact`): arrays `points` (n x d'), `labels` (n), `projection` (d x d', or 0 x 0
without reduction); metadata `k`, `predictor_type`, `index_metric`, `index_type`, `feature_dim`. SageMaker's
holds a faiss index and its labels instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse

from sageforge.algorithms.first_party.artifact import ModelArtifact

ALGORITHM = "knn"
# Query rows x index points per distance block: 16M float64s (128 MiB) at most, whatever mini_batch_size says.
_BLOCK_CELLS = 1 << 24


@dataclass(frozen=True)
class Neighbours:
    distances: npt.NDArray[np.float32]  # (m, k), ascending (inner products: descending)
    labels: npt.NDArray[np.float32]  # (m, k), the neighbours' labels in the same order
    predicted: npt.NDArray[np.float32]  # (m,)


@dataclass
class KnnModel:
    points: npt.NDArray[np.float32]
    labels: npt.NDArray[np.float32]
    projection: npt.NDArray[np.float32] | None
    k: int
    predictor_type: str
    index_metric: str
    index_type: str
    feature_dim: int
    batch_size: int = 5000
    _classes: npt.NDArray[np.float32] = field(init=False, repr=False)
    _points: npt.NDArray[np.float64] = field(init=False, repr=False)  # normalised rows for COSINE
    _squared_norms: npt.NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._classes = np.unique(self.labels)
        points = self.points.astype(np.float64)
        self._points = _normalised(points) if self.index_metric == "COSINE" else points
        self._squared_norms = np.einsum("ij,ij->i", points, points)

    def search(self, features: Any) -> Neighbours:
        """The k nearest index points of each row of `features` (dense or CSR, `feature_dim` wide)."""
        size = max(1, min(self.batch_size, _BLOCK_CELLS // max(1, self.points.shape[0])))
        parts = [self._search(features[start : start + size]) for start in range(0, features.shape[0], size)]
        return Neighbours(
            np.concatenate([part.distances for part in parts]),
            np.concatenate([part.labels for part in parts]),
            np.concatenate([part.predicted for part in parts]),
        )

    def _search(self, features: Any) -> Neighbours:
        rows = features.toarray() if scipy.sparse.issparse(features) else np.asarray(features)
        rows = rows.astype(np.float32, copy=False)
        if self.projection is not None:
            rows = rows @ self.projection
        queries = rows.astype(np.float64)
        # `key` orders the index points for each query, smallest first.
        if self.index_metric == "L2":
            key = queries @ self._points.T
            key *= -2
            key += np.einsum("ij,ij->i", queries, queries)[:, None]
            key += self._squared_norms[None, :]
            np.maximum(key, 0, out=key)
        elif self.index_metric == "COSINE":
            key = 1 - _normalised(queries) @ self._points.T
        else:
            key = -(queries @ self._points.T)
        indices = np.argpartition(key, self.k - 1, axis=1)[:, : self.k]
        chosen = np.take_along_axis(key, indices, axis=1)
        order = np.argsort(chosen, axis=1, kind="stable")
        indices, chosen = np.take_along_axis(indices, order, axis=1), np.take_along_axis(chosen, order, axis=1)
        distances = {"L2": np.sqrt, "COSINE": np.positive, "INNER_PRODUCT": np.negative}[self.index_metric](chosen)
        labels = self.labels[indices]
        return Neighbours(distances.astype(np.float32), labels, self._predict(labels))

    def _predict(self, labels: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self.predictor_type == "regressor":
            means: npt.NDArray[np.float32] = labels.mean(axis=1, dtype=np.float64).astype(np.float32)
            return means
        votes = (labels[:, :, None] == self._classes[None, None, :]).sum(axis=1)
        winners: npt.NDArray[np.float32] = self._classes[np.argmax(votes, axis=1)]  # argmax: the smallest tied class
        return winners

    def to_artifact(self) -> ModelArtifact:
        return ModelArtifact(
            ALGORITHM,
            {
                "k": self.k,
                "predictor_type": self.predictor_type,
                "index_metric": self.index_metric,
                "index_type": self.index_type,
                "feature_dim": self.feature_dim,
            },
            {
                "points": self.points,
                "labels": self.labels,
                "projection": np.zeros((0, 0), np.float32) if self.projection is None else self.projection,
            },
        )

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact) -> KnnModel:
        metadata, arrays = artifact.metadata, artifact.arrays
        projection = arrays["projection"]
        return cls(
            points=arrays["points"].astype(np.float32),
            labels=arrays["labels"].astype(np.float32),
            projection=projection.astype(np.float32) if projection.size else None,
            k=int(metadata["k"]),
            predictor_type=str(metadata["predictor_type"]),
            index_metric=str(metadata["index_metric"]),
            index_type=str(metadata["index_type"]),
            feature_dim=int(metadata["feature_dim"]),
        )


def _normalised(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Rows scaled to unit length; a zero row stays zero (cosine distance 1 to everything, as in scikit-learn)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: npt.NDArray[np.float64] = rows / np.where(norms == 0, 1, norms)
    return unit
