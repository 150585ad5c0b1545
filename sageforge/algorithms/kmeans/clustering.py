"""K-Means as SageMaker describes it: streaming mini-batch centres, then a local Lloyd's reduction to `k`.

Training streams the rows in mini-batches of `mini_batch_size`, in channel order, `epochs` times over. It
keeps `k * extra_center_factor` centres (fewer when the first rows hold fewer), picked from the first
mini-batch at random or by k-means++ (`init_method`). Each mini-batch assigns its rows to their closest
centre and moves every centre it hit to the weighted mean of what it held and the new rows (Sculley's
mini-batch update); a centre's weight is the number of rows it took, decayed by half every
`half_life_time_size` rows when that is not 0, so older rows count less. At the end the streaming centres,
weighted by their rows, are clustered into `k` by Lloyd's algorithm (`local_lloyd_*`: its initialisation,
iterations, tolerance and the number of trials, the best of which is kept) -- scikit-learn's `KMeans` with
sample weights. Seeds are fixed [INF], so a job is reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse
from sklearn.cluster import kmeans_plusplus

from sageforge.algorithms.kmeans.distances import closest_centers
from sageforge.algorithms.kmeans.hyperparameters import KMeansConfig

Array = npt.NDArray[np.float64]
Features = Any  # a float numpy.ndarray (n, d) or scipy.sparse.csr_matrix (n, d)
SEED = 0


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    train_msd: float  # mean squared distance of the epoch's rows to the centres they were assigned to
    records_per_second: float


@dataclass
class StreamingCenters:
    centers: Array  # (m, d)
    weights: Array  # (m,) decayed row counts


def mini_batches(features: Features, size: int) -> Iterator[Features]:
    for start in range(0, features.shape[0], size):
        yield features[start : start + size]


def initial_centers(rows: Features, count: int, method: str, rng: np.random.Generator) -> Array:
    """`count` centres drawn from `rows`: distinct rows at random, or by k-means++."""
    if method == "kmeans++":
        centers, _ = kmeans_plusplus(rows, count, random_state=int(rng.integers(2**31)))
        return _dense(centers)
    return _dense(rows[rng.choice(rows.shape[0], size=count, replace=False)])


def stream(features: Features, config: KMeansConfig, report: Callable[[EpochReport], None]) -> StreamingCenters:
    """The streaming centres after `config.epochs` passes of mini-batches over `features`."""
    rng = np.random.default_rng(SEED)
    first = features[: max(config.mini_batch_size, config.k)]
    count = min(config.k * config.extra_center_factor, first.shape[0])
    state = StreamingCenters(initial_centers(first, count, config.init_method, rng), np.zeros(count))
    for epoch in range(config.epochs):
        started, total_squared = time.perf_counter(), 0.0
        for batch in mini_batches(features, config.mini_batch_size):
            total_squared += update(state, batch, config.half_life_time_size)
        elapsed = max(time.perf_counter() - started, 1e-9)
        report(EpochReport(epoch, total_squared / features.shape[0], features.shape[0] / elapsed))
    return state


def update(state: StreamingCenters, batch: Features, half_life_time_size: int) -> float:
    """Move the centres toward one mini-batch; the batch's summed squared distance to its closest centres."""
    nearest, distances = closest_centers(batch, state.centers)
    rows, count = batch.shape[0], state.centers.shape[0]
    if half_life_time_size:
        state.weights *= 0.5 ** (rows / half_life_time_size)
    membership = scipy.sparse.csr_matrix((np.ones(rows), (nearest, np.arange(rows))), shape=(count, rows))
    sums = _dense(membership @ batch)
    hits = np.bincount(nearest, minlength=count).astype(np.float64)
    state.weights += hits
    moved = hits > 0
    state.centers[moved] += (sums[moved] - hits[moved, None] * state.centers[moved]) / state.weights[moved, None]
    return float(distances.sum())


def reduce_centers(state: StreamingCenters, config: KMeansConfig) -> Array:
    """`config.k` centres from the weighted streaming ones, by the best of the local Lloyd's trials."""
    points, weights = state.centers, state.weights
    if np.count_nonzero(weights) >= config.k:
        points, weights = points[weights > 0], weights[weights > 0]
    else:
        # Fewer centres took rows than k: the untouched ones stay candidates, with a weight of next to nothing.
        weights = np.where(weights > 0, weights, max(weights.max(initial=0.0), 1.0) * 1e-9)
    if points.shape[0] == config.k:
        return points.copy()
    rng = np.random.default_rng(SEED)
    # The tolerance is relative to the points' mean variance, as scikit-learn's `tol` is.
    mean = np.average(points, axis=0, weights=weights)
    tolerance = config.local_lloyd_tol * float(np.average((points - mean) ** 2, axis=0, weights=weights).mean())
    best, best_inertia = points[: config.k], np.inf
    for _ in range(config.local_lloyd_num_trials):
        if config.local_lloyd_init_method == "kmeans++":
            start, _ = kmeans_plusplus(points, config.k, sample_weight=weights, random_state=int(rng.integers(2**31)))
        else:
            start = points[rng.choice(points.shape[0], size=config.k, replace=False)]
        centers, inertia = weighted_lloyd(points, weights, start, config.local_lloyd_max_iter, tolerance)
        if inertia < best_inertia:
            best, best_inertia = centers, inertia
    return best


def weighted_lloyd(
    points: Array, weights: Array, centers: Array, max_iter: int, tolerance: float
) -> tuple[Array, float]:
    """Lloyd's iterations over weighted points from `centers`: the centres and their weighted inertia.

    It stops after `max_iter` iterations, or once the centres move less than `tolerance` (summed squared
    shift). A centre left without points stays where it is.
    """
    centers = np.array(centers, dtype=np.float64)
    for _ in range(max_iter):
        nearest, _ = closest_centers(points, centers)
        totals = np.bincount(nearest, weights=weights, minlength=centers.shape[0])
        sums = np.zeros_like(centers)
        np.add.at(sums, nearest, points * weights[:, None])
        moved = totals > 0
        updated = centers.copy()
        updated[moved] = sums[moved] / totals[moved, None]
        shift = float(((updated - centers) ** 2).sum())
        centers = updated
        if shift <= tolerance:
            break
    _, squared = closest_centers(points, centers)
    return centers, float(np.dot(weights, squared))


def _dense(matrix: Features) -> Array:
    if scipy.sparse.issparse(matrix):
        return np.asarray(matrix.toarray(), dtype=np.float64)
    return np.array(matrix, dtype=np.float64)
