"""A random cut forest (Guha, Mishra, Roy and Schrijvers, ICML 2016), built and scored in NumPy.

Building: each tree takes its own uniform sample of `num_samples_per_tree` rows without replacement (what a
reservoir sampler over the stream holds at its end). A node's cut picks a dimension with probability
proportional to the side of the node's bounding box along it, and a value uniform along that side; points
at or below it go left. A node whose points are all equal is a leaf (its mass counts the duplicates).

Scoring follows the anomaly score of Amazon's RCF library, which SageMaker's algorithm uses: the expected
displacement approximated on the point's path. At the leaf it reaches, a point scores 1/(depth + 1) when it
differs from the leaf's point (`scoreUnseen`), else damp(mass) / (depth + log2(mass + 1)) with damp = 1 -
mass/(2 * tree mass) (`scoreSeen`); then, walking up, each node mixes in 1/(node depth + 1) with the
probability that a random cut of its bounding box grown to hold the point separates the point:
score = p/(depth + 1) + (1 - p) score. A tree's score is scaled by log2(tree mass + 1) and the forest's is
the mean over trees: near 1 for typical points, several times that for anomalies.

All trees live in flat node arrays, so a block of points descends and ascends every tree at once, one
NumPy step per level (thousands of points a second with the default 100 trees of 256).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.first_party.artifact import ModelArtifact

ALGORITHM = "randomcutforest"
LEAF = -1
# Walkers (a point's walk down one tree) per scoring block: their paths are a (depth x walkers) int32 table.
_BLOCK_WALKERS = 1 << 19

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Forest:
    """Every tree's nodes in flat arrays; children and roots index them. `cut_dim` is LEAF at a leaf."""

    cut_dim: Ints
    cut_value: Floats
    left: Ints
    right: Ints
    lower: Floats  # (nodes, d): the bounding box of the node's points
    upper: Floats
    mass: Ints
    depth: Ints
    roots: Ints
    feature_dim: int

    @property
    def num_trees(self) -> int:
        return int(self.roots.size)

    def score(self, features: Any) -> Floats:
        """The anomaly score of each row of `features` (a dense float matrix, `feature_dim` wide)."""
        rows = np.asarray(features, dtype=np.float64)
        size = max(1, _BLOCK_WALKERS // self.num_trees)
        if rows.shape[0] == 0:
            return np.zeros(0)
        return np.concatenate([self._score(rows[start : start + size]) for start in range(0, rows.shape[0], size)])

    def _score(self, rows: Floats) -> Floats:
        count, trees = rows.shape[0], self.num_trees
        point = np.repeat(np.arange(count), trees)  # walker w follows point w // trees down tree w % trees
        node = np.tile(self.roots, count)
        # levels[l, w]: the node walker w passes at depth l (only rows up to its leaf's depth are written).
        levels = np.empty((int(self.depth.max()) + 1, node.size), dtype=np.int32)
        levels[0] = node
        flat, width = rows.ravel(), rows.shape[1]
        descending = np.flatnonzero(self.cut_dim[node] != LEAF)  # walkers not yet at a leaf
        deepest = 0
        while descending.size:
            at = node[descending]
            goes_left = flat[point[descending] * width + self.cut_dim[at]] <= self.cut_value[at]
            node[descending] = children = np.where(goes_left, self.left[at], self.right[at])
            deepest += 1
            levels[deepest, descending] = children
            descending = descending[self.cut_dim[children] != LEAF]
        leaf_depth = self.depth[node]
        mass, tree_mass = self.mass[node].astype(np.float64), self.mass[np.tile(self.roots, count)].astype(np.float64)
        seen = np.all(rows[point] == self.lower[node], axis=1)
        score = np.where(
            seen,
            (1 - mass / (2 * tree_mass)) / (leaf_depth + np.log2(mass + 1)),
            1 / (leaf_depth + 1.0),
        )
        # Walking up, only walkers whose point lies outside the node's box change their score; once inside a
        # box a point is inside every ancestor's, so it leaves the walk. Walkers join at their leaf's parent.
        joining = np.argsort(-leaf_depth, kind="stable")
        joined = 0
        walking = np.empty(0, dtype=np.intp)
        span_sums = (self.upper - self.lower).sum(axis=1)
        for level in range(deepest - 1, -1, -1):
            end = joined + int(np.count_nonzero(leaf_depth[joining[joined:]] > level))
            walking = np.concatenate([walking, joining[joined:end]])
            joined = end
            if walking.size == 0:
                continue
            at = levels[level, walking]
            x = rows[point[walking]]
            growth = (np.maximum(self.lower[at] - x, 0) + np.maximum(x - self.upper[at], 0)).sum(axis=1)
            outside = growth > 0
            walking, growth, at = walking[outside], growth[outside], at[outside]
            separation = growth / (span_sums[at] + growth)
            score[walking] = separation / (level + 1) + (1 - separation) * score[walking]
        score *= np.log2(tree_mass + 1)
        means: Floats = score.reshape(count, trees).mean(axis=1)
        return means

    def to_artifact(self, metadata: dict[str, Any]) -> ModelArtifact:
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        return ModelArtifact(ALGORITHM, {**metadata, "feature_dim": self.feature_dim}, arrays)

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact) -> Forest:
        arrays: dict[str, Any] = {
            name: artifact.arrays[name].astype(np.float64 if name in _FLOATS else np.int32) for name in _ARRAYS
        }
        return cls(
            **arrays,
            feature_dim=int(artifact.metadata["feature_dim"]),
        )


_FLOATS = ("cut_value", "lower", "upper")
_ARRAYS = ("cut_dim", "cut_value", "left", "right", "lower", "upper", "mass", "depth", "roots")


def build_forest(samples: list[Floats], seed: int = 0) -> Forest:
    """A forest of one tree per sample (each an (s, d) matrix of rows), cut with a seeded generator.

    Every tree grows at once, a level at a time: a level's nodes are runs of one array of sample rows, so
    their boxes are `reduceat`s, their cuts one draw, and their split one sort. Nodes are numbered level by
    level; the roots are 0 ... trees - 1.
    """
    rng = np.random.default_rng(seed)
    points = np.concatenate(samples).astype(np.float64)
    width = points.shape[1]
    order = np.arange(points.shape[0])  # the sample rows, grouped by the node holding them
    counts = np.array([len(sample) for sample in samples])
    levels: list[dict[str, npt.NDArray[Any]]] = []
    first_id, depth = 0, 0
    left_of: list[Ints] = []  # (parent, left child) pairs; the right child is the next id
    while counts.size:
        nodes = counts.size
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rows = points[order]
        lower, upper = np.minimum.reduceat(rows, starts, axis=0), np.maximum.reduceat(rows, starts, axis=0)
        sides = np.cumsum(upper - lower, axis=1)
        owner = np.repeat(np.arange(nodes), counts)
        dims, values = np.full(nodes, LEAF, dtype=np.int32), np.zeros(nodes)
        goes_left = np.zeros(rows.shape[0], dtype=bool)
        lefts = np.zeros(nodes, dtype=np.int64)
        # Points all equal (or one point): a leaf. A cut exactly at the top of the box separates nothing and
        # is drawn again (probability ~0).
        pending = np.flatnonzero((counts > 1) & (sides[:, -1] > 0))
        splitting = pending
        while pending.size:
            position = rng.uniform(0, sides[pending, -1])
            dim = np.minimum((sides[pending] <= position[:, None]).sum(axis=1), width - 1)
            dims[pending] = dim
            values[pending] = upper[pending, dim] - (sides[pending, dim] - position)
            drawn = np.zeros(nodes, dtype=bool)
            drawn[pending] = True
            mine = drawn[owner]
            goes_left[mine] = rows[mine, dims[owner[mine]]] <= values[owner[mine]]
            lefts = np.add.reduceat(goes_left.astype(np.int64), starts)
            pending = pending[(lefts[pending] == 0) | (lefts[pending] == counts[pending])]
        ids = first_id + np.arange(nodes)
        levels.append(
            {
                "cut_dim": dims,
                "cut_value": values,
                "lower": lower,
                "upper": upper,
                "mass": counts,
                "depth": np.full(nodes, depth),
            }
        )
        first_id += nodes
        left_of.append(np.column_stack([ids[splitting], first_id + 2 * np.arange(splitting.size)]))
        moving = np.zeros(nodes, dtype=bool)
        moving[splitting] = True
        kept = moving[owner]
        # Rows of split nodes, by node, left ones first: the next level's runs, left child then right.
        regroup = np.lexsort((~goes_left[kept], owner[kept]))
        order = order[kept][regroup]
        counts = np.column_stack([lefts[splitting], counts[splitting] - lefts[splitting]]).ravel()
        depth += 1
    return _forest(levels, np.concatenate(left_of), len(samples), width)


def _forest(levels: list[dict[str, npt.NDArray[Any]]], left_of: Ints, trees: int, width: int) -> Forest:
    def column(name: str, dtype: type) -> npt.NDArray[Any]:
        return np.concatenate([level[name] for level in levels]).astype(dtype)

    cut_dim = column("cut_dim", np.int32)
    left = np.full(cut_dim.size, LEAF, dtype=np.int32)
    right = np.full(cut_dim.size, LEAF, dtype=np.int32)
    left[left_of[:, 0]] = left_of[:, 1]
    right[left_of[:, 0]] = left_of[:, 1] + 1
    return Forest(
        cut_dim=cut_dim,
        cut_value=column("cut_value", np.float64),
        left=left,
        right=right,
        lower=column("lower", np.float64).reshape(-1, width),
        upper=column("upper", np.float64).reshape(-1, width),
        mass=column("mass", np.int32),
        depth=column("depth", np.int32),
        roots=np.arange(trees, dtype=np.int32),
        feature_dim=width,
    )
