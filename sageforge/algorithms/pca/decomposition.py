"""PCA in SageMaker's two modes, streaming the rows in mini-batches of `mini_batch_size`.

- `regular`: one pass accumulates the column sums and the Gram matrix X'X (feature_dim squared, float64);
  the covariance's eigendecomposition then gives the exact components. Its cost is the pass plus an
  eigendecomposition of a feature_dim x feature_dim matrix.
- `randomized`: a randomized subspace iteration on the covariance (Halko, Martinsson and Tropp), for
  wide data: `num_components + extra_components` Gaussian directions, multiplied by the covariance one
  pass each, re-orthonormalised after every pass; the covariance projected on the final subspace is small
  and decomposed exactly. Its passes are 1 + the power iterations, chosen as scikit-learn's
  `randomized_svd` does (7 when the components are under a tenth of the smaller dimension, else 4) [INF],
  plus one for the projection. Memory is feature_dim x (num_components + extra_components).

With `subtract_mean` the rows are centred on the train mean (the covariance is X'X - n mu mu'); without it,
the decomposition is of X'X itself. Singular values are those of the (centred) data matrix, so the
variance a component explains is s^2 / (rows - 1). Components are kept in **ascending** order of singular
value, as SageMaker's artifact stores them, and each is signed so its largest loading is positive [INF], so
a job is reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse

from sageforge.algorithms.pca.hyperparameters import PCAConfig

Array = npt.NDArray[np.float64]
Features = Any  # a float64 numpy.ndarray (n, d) or scipy.sparse.csr_matrix (n, d)
SEED = 0


@dataclass(frozen=True)
class Components:
    mean: Array | None  # (d,), None without subtract_mean
    v: Array  # (d, num_components), ascending order of singular value
    s: Array  # (num_components,), ascending


@dataclass(frozen=True)
class PassReport:
    done: int  # passes over the rows so far
    total: int
    records_per_second: float


def mini_batches(features: Features, size: int) -> Iterator[Features]:
    for start in range(0, features.shape[0], size):
        yield features[start : start + size]


def fit(features: Features, config: PCAConfig, report: Callable[[PassReport], None]) -> Components:
    """The `config.num_components` principal components of `features`."""
    rows, dim = features.shape
    if config.algorithm_mode == "regular":
        passes = _Passes(features, config.mini_batch_size, 1, report)
        sums, gram = passes.gram()
        mean = sums / rows if config.subtract_mean else None
        if mean is not None:
            gram -= rows * np.outer(mean, mean)
        eigenvalues, eigenvectors = np.linalg.eigh(gram)
    else:
        width = min(dim, config.num_components + config.extra_components)
        iterations = 7 if config.num_components < 0.1 * min(rows, dim) else 4
        passes = _Passes(features, config.mini_batch_size, iterations + 2, report)
        basis = np.random.default_rng(SEED).normal(size=(dim, width))
        mean = None
        for _ in range(iterations + 1):
            sums, product = passes.gram_times(basis)
            mean = sums / rows if config.subtract_mean else None
            basis, _ = np.linalg.qr(_centred(product, basis, mean, rows))
        _, product = passes.gram_times(basis)
        small = basis.T @ _centred(product, basis, mean, rows)
        eigenvalues, rotation = np.linalg.eigh((small + small.T) / 2)
        eigenvectors = basis @ rotation
    # eigh answers in ascending order already: the last num_components are the principal ones.
    v = eigenvectors[:, -config.num_components :]
    s = np.sqrt(np.maximum(eigenvalues[-config.num_components :], 0.0))
    signs = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(v.shape[1])])
    return Components(mean, v * np.where(signs == 0, 1.0, signs), s)


def _centred(product: Array, basis: Array, mean: Array | None, rows: int) -> Array:
    """(X'X - n mu mu') basis, from X'X basis."""
    return product if mean is None else product - rows * np.outer(mean, mean @ basis)


class _Passes:
    """Passes over the rows in mini-batches, each reported when it ends."""

    def __init__(self, features: Features, size: int, total: int, report: Callable[[PassReport], None]) -> None:
        self.features, self.size, self.total, self.report = features, size, total, report
        self.done = 0

    def gram(self) -> tuple[Array, Array]:
        """The column sums and X'X."""
        dim = self.features.shape[1]
        sums, gram = np.zeros(dim), np.zeros((dim, dim))
        started = time.perf_counter()
        for batch in mini_batches(self.features, self.size):
            sums += np.asarray(batch.sum(axis=0)).ravel()
            gram += _dense(batch.T @ batch)
        self._ended(started)
        return sums, gram

    def gram_times(self, basis: Array) -> tuple[Array, Array]:
        """The column sums and X'X basis."""
        sums, product = np.zeros(self.features.shape[1]), np.zeros_like(basis)
        started = time.perf_counter()
        for batch in mini_batches(self.features, self.size):
            sums += np.asarray(batch.sum(axis=0)).ravel()
            product += _dense(batch.T @ _dense(batch @ basis))
        self._ended(started)
        return sums, product

    def _ended(self, started: float) -> None:
        self.done += 1
        elapsed = max(time.perf_counter() - started, 1e-9)
        self.report(PassReport(self.done, self.total, self.features.shape[0] / elapsed))


def _dense(matrix: Any) -> Array:
    if scipy.sparse.issparse(matrix):
        return np.asarray(matrix.toarray(), dtype=np.float64)
    return np.asarray(matrix, dtype=np.float64)
