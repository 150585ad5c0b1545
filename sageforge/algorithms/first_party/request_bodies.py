"""Inference request bodies of the first-party algorithms, decoded to a feature matrix (reference A3.1).

- `text/csv`: one row per line, comma-separated, no header; `label_size` (MIME parameter, default 0 for
  inference) leading columns are dropped; `charset` other than UTF-8 is honoured.
- `application/json`: `{"instances": [...]}` (a bare list of instances too [INF]), each instance
  `{"features": [...]}` or `{"data": {"features": {"values": [...]}}}`, sparse with `"keys"` and `"shape"`;
  an instance's `"configuration"` is ignored.
- `application/jsonlines`: one such instance per line.
- `application/x-recordio-protobuf`: framed Records, `features["values"]` dense or sparse.

The matrix is float32: dense when every row is, else CSR. A row wider than the model's `feature_dim` is a
400; a dense row narrower is a 400 too, while sparse rows are read at the model's width. An unsupported
Content-Type is a 415 (an empty one is read as CSV [INF]), a body that does not parse a 400.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse

from sageforge.algorithms.formats import recordio_protobuf
from sageforge.serving.runtime.contract import InferenceError

CSV, JSON, JSONLINES, RECORDIO_PROTOBUF = (
    "text/csv",
    "application/json",
    "application/jsonlines",
    "application/x-recordio-protobuf",
)
_REQUEST_TYPES = {
    "": CSV,
    "text/csv": CSV,
    "application/json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
}
REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)

Features = Any  # a float32 numpy.ndarray (n, d) or scipy.sparse.csr_matrix (n, d)


def media_type(header: str) -> tuple[str, dict[str, str]]:
    """`text/csv; label_size=1` -> ("text/csv", {"label_size": "1"}), lower-cased keys and type."""
    kind, *parameters = header.split(";")
    params: dict[str, str] = {}
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip():
            params[key.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def decode_request(
    body: bytes, content_type: str, feature_dim: int, accepted: Sequence[str] = REQUEST_TYPES
) -> Features:
    """The rows of `body` as a matrix of `feature_dim` columns; InferenceError 415/400 otherwise."""
    kind, params = media_type(content_type)
    decoded_type = _REQUEST_TYPES.get(kind)
    if decoded_type is None or decoded_type not in accepted:
        raise InferenceError(
            415, f"Content type {content_type or '(none)'} is not supported; use one of: {', '.join(accepted)}."
        )
    try:
        if decoded_type == RECORDIO_PROTOBUF:
            return _protobuf_rows(body, feature_dim)
        text = body.decode(params.get("charset", "utf-8"))
        if decoded_type == CSV:
            return _csv_rows(text, int(params.get("label_size", "0")), feature_dim)
        if decoded_type == JSON:
            document = json.loads(text)
            instances = document.get("instances") if isinstance(document, dict) else document
            if not isinstance(instances, list):
                raise ValueError('the body must be {"instances": [...]}')
            return _instance_rows(instances, feature_dim)
        return _instance_rows([json.loads(line) for line in text.splitlines() if line.strip()], feature_dim)
    except (ValueError, TypeError, KeyError, LookupError) as error:
        raise InferenceError(400, f"Unable to evaluate payload provided: {error}") from None


def _csv_rows(text: str, label_size: int, feature_dim: int) -> npt.NDArray[np.float32]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the payload holds no rows")
    rows = [line.split(",") for line in lines]
    for number, row in enumerate(rows, start=1):
        if len(row) - label_size != feature_dim:
            raise ValueError(
                f"line {number} has {len(row) - label_size} features (after {label_size} label columns); "
                f"the model takes {feature_dim}"
            )
    try:
        matrix = np.array(rows, dtype=np.float32)
    except ValueError:
        for number, row in enumerate(rows, start=1):
            for column, field in enumerate(row, start=1):
                try:
                    float(field)
                except ValueError:
                    raise ValueError(
                        f"line {number}, column {column}: {field.strip()[:50]!r} is not a number"
                    ) from None
        raise
    return np.ascontiguousarray(matrix[:, label_size:])


def _instance_rows(instances: Sequence[Any], feature_dim: int) -> Features:
    if not instances:
        raise ValueError("the payload holds no instances")
    rows = [_instance(instance, feature_dim) for instance in instances]
    if all(isinstance(row, np.ndarray) for row in rows):
        return np.vstack(rows).astype(np.float32, copy=False)
    return scipy.sparse.vstack(
        [row if not isinstance(row, np.ndarray) else scipy.sparse.csr_matrix(row) for row in rows], format="csr"
    ).astype(np.float32)


def _instance(instance: Any, feature_dim: int) -> Any:
    """One instance as a dense (1, d) row, or a (1, d) CSR row for the sparse form."""
    if isinstance(instance, dict) and "data" in instance:
        instance = instance["data"]
    if isinstance(instance, dict):
        instance = instance["features"]
    if isinstance(instance, dict) and "keys" in instance:
        keys = np.asarray(instance["keys"], dtype=np.int64)
        values = np.asarray(instance["values"], dtype=np.float32)
        width = int(instance["shape"][0]) if instance.get("shape") else feature_dim
        if keys.shape != values.shape:
            raise ValueError(f"a sparse instance has {keys.size} keys but {values.size} values")
        if width > feature_dim or (keys.size and (keys.min() < 0 or keys.max() >= width)):
            raise ValueError(f"a sparse instance's keys or shape exceed the model's {feature_dim} features")
        return scipy.sparse.csr_matrix((values, (np.zeros_like(keys), keys)), shape=(1, feature_dim))
    values = instance["values"] if isinstance(instance, dict) else instance
    row = np.asarray(values, dtype=np.float32).reshape(1, -1)
    if row.shape[1] != feature_dim:
        raise ValueError(f"an instance has {row.shape[1]} features; the model takes {feature_dim}")
    return row


def _protobuf_rows(body: bytes, feature_dim: int) -> Features:
    features, _ = recordio_protobuf.read_matrix(body)  # a label in a request is ignored
    if features.shape[0] == 0:
        raise ValueError("the payload holds no records")
    if features.shape[1] > feature_dim or (features.shape[1] < feature_dim and not scipy.sparse.issparse(features)):
        raise ValueError(f"the records have {features.shape[1]} features; the model takes {feature_dim}")
    if scipy.sparse.issparse(features):
        features = scipy.sparse.csr_matrix(features, dtype=np.float32)
        features.resize((features.shape[0], feature_dim))
        return features
    return np.asarray(features, dtype=np.float32)
