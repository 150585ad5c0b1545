"""A trained PCA model and the `model_algo-1` file that holds it (reference B4).

The file is SageMaker's own layout: an MXNet NDArray dict file (`formats.mxnet_ndarray`) of float32 arrays
`s` (num_components,), `v` (feature_dim, num_components) and, when the rows were centred, `mean`
(1, feature_dim); components in ascending order of singular value (the most significant last). A row's
projection is `(row - mean) @ v`, in that same order [INF].
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

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PCAModel:
    mean: Array | None  # (feature_dim,)
    v: Array  # (feature_dim, num_components)
    s: Array  # (num_components,)

    @property
    def feature_dim(self) -> int:
        return int(self.v.shape[0])

    def project(self, features: Any) -> Array:
        """The projections (rows, num_components) of a dense or CSR matrix."""
        # Centring a sparse matrix would densify it: project first, then take the mean's projection off.
        product = np.asarray(features.astype(np.float64) @ self.v, dtype=np.float64)
        return product if self.mean is None else product - self.mean @ self.v

    def save(self, model_dir: Path, host: str) -> Path:
        """Write `model_<host>` atomically (a stopped job never leaves half a model); its path."""
        arrays = {"s": self.s.astype(np.float32), "v": self.v.astype(np.float32)}
        if self.mean is not None:
            arrays["mean"] = self.mean.reshape(1, -1).astype(np.float32)
        model_dir.mkdir(parents=True, exist_ok=True)
        path = model_dir / model_file_name(host)
        partial = model_dir / f".{path.name}.partial"
        partial.write_bytes(mxnet_ndarray.write(arrays))
        os.replace(partial, path)
        return path

    @classmethod
    def load(cls, path: Path) -> PCAModel:
        """The model in an NDArray dict file; ValueError when it lacks `v` and `s` or their shapes disagree."""
        arrays = mxnet_ndarray.read(path.read_bytes())
        if not isinstance(arrays, dict) or "v" not in arrays or "s" not in arrays:
            raise ValueError(f"{path.name} is not a PCA model: it holds no named arrays 'v' and 's'")
        v, s = np.asarray(arrays["v"], dtype=np.float64), np.asarray(arrays["s"], dtype=np.float64).ravel()
        mean = arrays.get("mean")
        if v.ndim != 2 or s.shape != (v.shape[1],) or (mean is not None and mean.size != v.shape[0]):
            raise ValueError(f"{path.name} holds PCA arrays of mismatched shapes")
        return cls(None if mean is None else np.asarray(mean, dtype=np.float64).ravel(), v, s)
