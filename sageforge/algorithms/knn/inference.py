"""Built-in k-NN inference, the module a replica's runtime loads (`sageforge.serving.runtime.contract`).

Requests are the first-party forms (`first_party.request_bodies`: CSV, JSON, JSON Lines, RecordIO-protobuf).
Answers follow reference B5, by Accept (`application/json` when empty or `*/*` [INF]):
`{"predictions": [{"predicted_label": 0.0}, ...]}`, and with `verbose=true` each prediction also carries
`distances` (ascending; see `model` for INNER_PRODUCT) and `labels` of its k neighbours;
`application/jsonlines` one such object per line; `application/x-recordio-protobuf` one Record per row with
`label["predicted_label"]` (and `label["distances"]`, `label["labels"]` when verbose) float32 tensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sageforge.algorithms.first_party.artifact import find_artifact, read_artifact
from sageforge.algorithms.first_party.request_bodies import JSON, JSONLINES, RECORDIO_PROTOBUF, decode_request
from sageforge.algorithms.first_party.response_bodies import encode_response, negotiate
from sageforge.algorithms.knn.model import ALGORITHM, KnnModel

ACCEPTS = (JSON, JSONLINES, RECORDIO_PROTOBUF)


def model_fn(model_dir: str) -> KnnModel:
    return KnnModel.from_artifact(read_artifact(find_artifact(Path(model_dir)), ALGORITHM))


def transform_fn(model: KnnModel, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    response = negotiate(accept, ACCEPTS, default=JSON)
    neighbours = model.search(decode_request(body, content_type, model.feature_dim))
    records: list[dict[str, Any]]
    if response.verbose:
        records = [
            {"predicted_label": label, "distances": distances, "labels": labels}
            for label, distances, labels in zip(
                neighbours.predicted.tolist(), neighbours.distances.tolist(), neighbours.labels.tolist(), strict=True
            )
        ]
    else:
        records = [{"predicted_label": label} for label in neighbours.predicted.tolist()]
    return encode_response(records, response, wrapper="predictions"), response.media_type
