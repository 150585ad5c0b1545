"""LIBSVM training data: `<label>[:<weight>] [qid:<id>] <index>:<value> ...`, one row per line.

Feature indices are used as given (0-based or 1-based alike; column count = highest index + 1), absent
features are missing, `#` starts a comment. Rows without a weight weigh 1 when others have one; `qid`
(ranking groups) must be on every row or none. Malformed lines are a UserError naming file and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import scipy.sparse

from sageforge.algorithms.base import UserError
from sageforge.algorithms.formats import LabeledData, read_text

_Number = TypeVar("_Number", int, float)


def read_libsvm(paths: Sequence[Path]) -> LabeledData:
    """All rows of `paths`, in order, as a CSR feature matrix."""
    labels: list[float] = []
    weights: list[float] = []
    qids: list[int] = []
    indptr: list[int] = [0]
    indices: list[int] = []
    values: list[float] = []
    has_weights = False
    for path in paths:
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            tokens = line.split("#", 1)[0].split()
            if not tokens:
                continue
            where = f"{path}: line {number}"
            label, weight = _parse_label(tokens[0], where)
            has_weights = has_weights or weight is not None
            labels.append(label)
            weights.append(1.0 if weight is None else weight)
            features = tokens[1:]
            if features and features[0].startswith("qid:"):
                qids.append(_parse_number(features[0][4:], int, where, "qid"))
                features = features[1:]
            if len(qids) not in (0, len(labels)):
                raise UserError(f"{where}: qid must be given on every row or on none")
            for token in features:
                index, separator, value = token.partition(":")
                if not separator:
                    raise UserError(f"{where}: {token[:50]!r} is not <index>:<value>")
                column = _parse_number(index, int, where, "feature index")
                if column < 0:
                    raise UserError(f"{where}: feature index {column} is negative")
                indices.append(column)
                values.append(_parse_number(value, float, where, "feature value"))
            indptr.append(len(indices))
    num_features = max(indices) + 1 if indices else 0
    features_matrix = scipy.sparse.csr_matrix(
        (np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(labels), num_features),
    )
    return LabeledData(
        features=features_matrix,
        labels=np.asarray(labels, dtype=np.float32),
        weights=np.asarray(weights, dtype=np.float32) if has_weights else None,
        qid=np.asarray(qids, dtype=np.int64) if qids else None,
    )


def _parse_label(token: str, where: str) -> tuple[float, float | None]:
    label, separator, weight = token.partition(":")
    return (
        _parse_number(label, float, where, "label"),
        _parse_number(weight, float, where, "instance weight") if separator else None,
    )


def _parse_number(text: str, kind: type[_Number], where: str, what: str) -> _Number:
    try:
        return kind(text)
    except ValueError:
        raise UserError(f"{where}: {what} {text[:50]!r} is not {'an integer' if kind is int else 'a number'}") from None
