"""The framework containers' default request decoders and response encoders: JSON, CSV and NPY <-> numpy.

Content types are compared without their parameters (``text/csv; charset=utf-8`` is CSV). A request type the
defaults cannot read is ``InferenceError(415)``, a response type they cannot write ``InferenceError(406)``.
NPY bodies are read without pickles: a request never makes the replica unpickle objects.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sageforge.serving.runtime.contract import InferenceError

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
# Text types: the containers decode them to float32 arrays (a binary NPY keeps its own dtype).
UTF8_TYPES = frozenset({JSON, CSV})


def media_type(content_type: str) -> str:
    """The type without parameters, lower-cased: ``Text/CSV; charset=utf-8`` -> ``text/csv``."""
    return content_type.split(";", 1)[0].strip().lower()


def decode(body: bytes, content_type: str) -> np.ndarray[Any, Any]:
    """A request body as an array; ``InferenceError(415)`` for a type other than JSON, CSV or NPY, and
    ``InferenceError(400)`` for a body that is not what its type says."""
    decoder = _DECODERS.get(media_type(content_type))
    if decoder is None:
        raise InferenceError(415, f"Content type {content_type or '(none)'} is not supported by this framework.")
    try:
        return decoder(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InferenceError(400, f"The request body is not valid {media_type(content_type)}: {error}") from None


def encode(prediction: Any, accept: str) -> bytes:
    """A prediction (an array, a tensor's list, anything JSON can hold) in the type ``accept`` names; the type
    must be one of ``supported`` (``negotiate`` picks it)."""
    return _ENCODERS[media_type(accept)](prediction)


def negotiate(accept: str, default: str) -> str:
    """The response type for an Accept header: the first type it lists that the encoders write; ``default``
    (``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``) for none, ``*/*`` or an empty header; ``InferenceError(406)``
    when it lists only types the encoders cannot write."""
    listed = [media_type(part) for part in accept.split(",") if part.strip()]
    if not listed or "*/*" in listed:
        return default
    for candidate in listed:
        if candidate in _ENCODERS:
            return candidate
    raise InferenceError(406, f"Accept type {accept} is not supported by this framework.")


def _json_to_array(body: bytes) -> np.ndarray[Any, Any]:
    return np.array(json.loads(body))


def _csv_to_array(body: bytes) -> np.ndarray[Any, Any]:
    # Always a table, one row per line: a single-row request is a (1, n) array, which models' predict takes
    # (the toolkit's genfromtxt gives a 1-D array there, which scikit-learn refuses).
    rows = [line for line in body.decode("utf-8").splitlines() if line.strip()]
    return np.array([[float(value) for value in row.split(",")] for row in rows], dtype=np.float64)


def _npy_to_array(body: bytes) -> np.ndarray[Any, Any]:
    return np.asarray(np.load(io.BytesIO(body), allow_pickle=False))


def _to_json(prediction: Any) -> bytes:
    return json.dumps(prediction, default=_plain).encode()


def _to_csv(prediction: Any) -> bytes:
    array = np.asarray(prediction)
    rows = array.reshape(-1, 1) if array.ndim <= 1 else array.reshape(array.shape[0], -1)
    return "".join(",".join(_csv_value(value) for value in row) + "\n" for row in rows.tolist()).encode()


def _to_npy(prediction: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(prediction), allow_pickle=False)
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _plain(value: Any) -> Any:
    """What ``json`` cannot write itself: numpy arrays and scalars, and anything with ``tolist`` (tensors)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")


_DECODERS: Mapping[str, Callable[[bytes], np.ndarray[Any, Any]]] = {
    JSON: _json_to_array,
    CSV: _csv_to_array,
    NPY: _npy_to_array,
}
_ENCODERS: Mapping[str, Callable[[Any], bytes]] = {JSON: _to_json, CSV: _to_csv, NPY: _to_npy}
