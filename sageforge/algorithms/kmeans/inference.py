"""Built-in K-Means inference, the module a replica's runtime loads (`sageforge.serving.runtime.contract`).

Requests are the first-party forms (`first_party.request_bodies`: CSV, JSON, JSON Lines, RecordIO-protobuf).
Each row is answered with its `closest_cluster` (the centroid's index, a float as SageMaker writes it) and
`distance_to_cluster` (the Euclidean distance to it), by Accept (reference B3.4; `application/json` when
empty or `*/*` [INF]): `{"predictions": [{"closest_cluster": 1.0, "distance_to_cluster": 3.0}]}`, one object
per line for `application/jsonlines`, `label["closest_cluster"]`/`label["distance_to_cluster"]` tensors for
`application/x-recordio-protobuf`, and `closest_cluster,distance_to_cluster` lines for `text/csv`.
"""

from __future__ import annotations

from pathlib import Path

from sageforge.algorithms.first_party.artifact import find_artifact
from sageforge.algorithms.first_party.request_bodies import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, decode_request
from sageforge.algorithms.first_party.response_bodies import encode_response, negotiate
from sageforge.algorithms.kmeans.model import KMeansModel

ACCEPTS = (JSON, JSONLINES, RECORDIO_PROTOBUF, CSV)


def model_fn(model_dir: str) -> KMeansModel:
    return KMeansModel.load(find_artifact(Path(model_dir)))


def transform_fn(model: KMeansModel, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    response = negotiate(accept, ACCEPTS, default=JSON)
    assignments = model.assign(decode_request(body, content_type, model.feature_dim))
    records = [
        {"closest_cluster": float(cluster), "distance_to_cluster": distance}
        for cluster, distance in zip(assignments.clusters.tolist(), assignments.distances.tolist(), strict=True)
    ]
    return encode_response(records, response, wrapper="predictions"), response.media_type
