"""Inference responses of the first-party algorithms: an algorithm's per-row outputs, encoded by Accept (A3.2).

An algorithm describes each input row as a record of named outputs -- a number or a list of numbers, e.g.
`{"score": 0.4, "predicted_label": 0}` -- and names the key its JSON answer wraps the records in
(`predictions`, `projections`, `scores`). Then:

- `application/json`: `{"<wrapper>": [record, ...]}`;
- `application/jsonlines`: one record object per line, no wrapper;
- `application/x-recordio-protobuf`: one Record per row, each output a float32 tensor in its `label` map;
- `text/csv` (only for algorithms that document it): each record's values in order, comma-joined, one line each.

Accept may list several types (the first supported wins) and carry parameters (`application/json;
verbose=true`, which the algorithm reads from `ResponseFormat.verbose`); empty or `*/*` takes the algorithm's
default. Anything else is a 406.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sageforge.algorithms.first_party.request_bodies import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, media_type
from sageforge.algorithms.formats import recordio_protobuf
from sageforge.serving.runtime.contract import InferenceError

# An output value: a number, or a list of numbers (numpy scalars and arrays are accepted too).
Output = Any


@dataclass(frozen=True)
class ResponseFormat:
    media_type: str
    verbose: bool = False


def negotiate(accept: str, supported: Sequence[str], default: str) -> ResponseFormat:
    """The response format `accept` asks for among `supported`; InferenceError 406 when it names none."""
    for entry in accept.split(",") if accept.strip() else [""]:
        kind, params = media_type(entry)
        if kind in ("", "*/*"):
            kind = default
        if kind in supported:
            return ResponseFormat(kind, params.get("verbose", "false").lower() == "true")
    raise InferenceError(
        406, f"Accept type {accept} is not supported. Please use supported accept types: {list(supported)}."
    )


def encode_response(records: Sequence[Mapping[str, Output]], response: ResponseFormat, wrapper: str) -> bytes:
    """The body answering `records` in `response`'s format."""
    plain = [{key: _plain(value) for key, value in record.items()} for record in records]
    if response.media_type == JSON:
        return json.dumps({wrapper: plain}).encode()
    if response.media_type == JSONLINES:
        return "".join(json.dumps(record) + "\n" for record in plain).encode()
    if response.media_type == CSV:
        return "".join(",".join(_csv_field(value) for value in record.values()) + "\n" for record in plain).encode()
    if response.media_type == RECORDIO_PROTOBUF:
        return _protobuf_records(records)
    raise ValueError(f"no encoder for {response.media_type}")


def _plain(value: Output) -> Any:
    """`value` as JSON-ready Python: numpy scalars and arrays become numbers and lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _csv_field(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _protobuf_records(records: Sequence[Mapping[str, Output]]) -> bytes:
    if not records:
        return b""
    columns = {name: np.array([np.ravel(record[name]) for record in records], dtype=np.float32) for name in records[0]}
    return recordio_protobuf.write_dense_records({}, columns)
