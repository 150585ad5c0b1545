"""Distances from rows to centres, shared by training and inference.

Kept apart from `clustering` so a replica loads no scikit-learn (the replica runtime keeps it out of
`sys.modules` to start faster). Dense or CSR rows, float64 centres; the work goes in blocks of rows so that
the rows-by-centres matrix stays small.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse

Array = npt.NDArray[np.float64]
Features = Any  # a float numpy.ndarray (n, d) or scipy.sparse.csr_matrix (n, d)
# Rows times centres per block of the distance computation: bounds its memory at ~32 MB of float64.
_BLOCK_CELLS = 4_000_000


def squared_row_norms(features: Features) -> Array:
    if scipy.sparse.issparse(features):
        return np.asarray(features.multiply(features).sum(axis=1), dtype=np.float64).ravel()
    norms: Array = np.einsum("ij,ij->i", features, features).astype(np.float64)
    return norms


def closest_centers(features: Features, centers: Array) -> tuple[npt.NDArray[np.intp], Array]:
    """Each row's closest centre and its squared Euclidean distance to it."""
    rows = features.shape[0]
    center_norms = np.einsum("ij,ij->i", centers, centers)
    step = max(1, _BLOCK_CELLS // max(1, centers.shape[0]))
    indices = np.empty(rows, dtype=np.intp)
    distances = np.empty(rows, dtype=np.float64)
    for start in range(0, rows, step):
        block = features[start : start + step]
        products = np.asarray(block @ centers.T, dtype=np.float64)
        squared = center_norms[None, :] - 2 * products
        nearest = np.argmin(squared, axis=1)
        indices[start : start + step] = nearest
        # ||x||^2 added after the argmin (it does not change it); clipped: rounding can make it negative.
        nearest_squared = squared[np.arange(len(nearest)), nearest] + squared_row_norms(block)
        distances[start : start + step] = np.maximum(nearest_squared, 0.0)
    return indices, distances
