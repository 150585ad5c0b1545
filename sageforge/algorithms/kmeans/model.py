"""A trained K-Means model: its centroids, and the `model_algo-1` file that holds them (reference B3.4).

The file is SageMaker's own layout: an MXNet NDArray list file (`formats.mxnet_ndarray`) holding one float32
array of shape (k, feature_dim), so a model trained here loads in SageMaker's container and a hand-made or
SageMaker-trained one is served here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.first_party.artifact import model_file_name
from sageforge.algorithms.formats import mxnet_ndarray
from sageforge.algorithms.kmeans.distances import closest_centers


@dataclass(frozen=True)
class Assignments:
    clusters: npt.NDArray[np.intp]  # (rows,) index of the closest centroid
    distances: npt.NDArray[np.float64]  # (rows,) Euclidean distance to it


@dataclass(frozen=True)
class KMeansModel:
    centroids: npt.NDArray[np.float64]  # (k, feature_dim)

    @property
    def feature_dim(self) -> int:
        return int(self.centroids.shape[1])

    def assign(self, features: Any) -> Assignments:
        """The closest centroid of each row of a dense or CSR matrix."""
        clusters, squared = closest_centers(features.astype(np.float64), self.centroids)
        return Assignments(clusters, np.sqrt(squared))

    def save(self, model_dir: Path, host: str) -> Path:
        """Write `model_<host>` atomically (a stopped job never leaves half a model); its path."""
        model_dir.mkdir(parents=True, exist_ok=True)
        path = model_dir / model_file_name(host)
        partial = model_dir / f".{path.name}.partial"
        partial.write_bytes(mxnet_ndarray.write([self.centroids.astype(np.float32)]))
        os.replace(partial, path)
        return path

    @classmethod
    def load(cls, path: Path) -> KMeansModel:
        """The model in an NDArray file; ValueError when it holds no (k, d) array."""
        arrays = mxnet_ndarray.read(path.read_bytes())
        values = list(arrays.values()) if isinstance(arrays, dict) else arrays
        if len(values) != 1 or values[0].ndim != 2:
            raise ValueError(f"{path.name} does not hold one (k, feature_dim) array of K-Means centroids")
        return cls(np.asarray(values[0], dtype=np.float64))
