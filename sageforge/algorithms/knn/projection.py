"""k-NN's optional dimension reduction: a random (feature_dim x target) matrix the index and queries share.

- `sign`: a random sign projection, entries +-1/sqrt(target) (an Achlioptas-style Johnson-Lindenstrauss map).
- `fjlt`: the fast JL transform, here as a subsampled randomized Hadamard transform [INF]: random signs D,
  the normalised Walsh-Hadamard matrix H of the next power of two, `target` of its columns drawn without
  replacement and scaled by sqrt(p/target). Ailon and Chazelle follow HD with a sparse Gaussian; the
  subsampled form keeps the same distance guarantee and is what most FJLT implementations ship. The matrix
  is written out (only the `feature_dim` rows used), so applying it is one product like `sign`'s.

Both are seeded, so a model is reproducible; the matrix travels in the artifact.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SEED = 0x6B6E6E


def projection_matrix(kind: str, feature_dim: int, target: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(SEED)
    if kind == "sign":
        signs = rng.choice(np.array([-1.0, 1.0]), size=(feature_dim, target))
        sign: npt.NDArray[np.float32] = (signs / np.sqrt(target)).astype(np.float32)
        return sign
    if kind == "fjlt":
        size = 1 << max(0, (feature_dim - 1).bit_length())
        columns = np.sort(rng.choice(size, size=target, replace=False))
        rows = np.arange(feature_dim)
        # Walsh-Hadamard entry (i, j) is (-1)^popcount(i & j); only the rows and columns used are formed.
        hadamard = 1.0 - 2.0 * (np.bitwise_count(rows[:, None] & columns[None, :]) & 1)
        diagonal = rng.choice(np.array([-1.0, 1.0]), size=feature_dim)
        fjlt: npt.NDArray[np.float32] = (diagonal[:, None] * hadamard / np.sqrt(target)).astype(np.float32)
        return fjlt
    raise ValueError(f"unknown dimension reduction {kind}")
