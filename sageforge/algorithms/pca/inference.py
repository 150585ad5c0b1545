"""Built-in PCA inference, the module a replica's runtime loads (`sageforge.serving.runtime.contract`).

Requests are the first-party forms (`first_party.request_bodies`: CSV, JSON, JSON Lines, RecordIO-protobuf).
Each row is answered with its `projection` (reference B4), by Accept (`application/json` when empty or
`*/*` [INF]): `{"projections": [{"projection": [1.0, 2.0]}]}`, one `{"projection": [...]}` per line for
`application/jsonlines`, and a `label["projection"]` tensor per Record for `application/x-recordio-protobuf`.
PCA documents no CSV answer, so `text/csv` is a 406, as is any other Accept.
"""

from __future__ import annotations

from pathlib import Path

from sageforge.algorithms.first_party.artifact import find_artifact
from sageforge.algorithms.first_party.request_bodies import JSON, JSONLINES, RECORDIO_PROTOBUF, decode_request
from sageforge.algorithms.first_party.response_bodies import encode_response, negotiate
from sageforge.algorithms.pca.model import PCAModel

ACCEPTS = (JSON, JSONLINES, RECORDIO_PROTOBUF)


def model_fn(model_dir: str) -> PCAModel:
    return PCAModel.load(find_artifact(Path(model_dir)))


def transform_fn(model: PCAModel, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    response = negotiate(accept, ACCEPTS, default=JSON)
    projections = model.project(decode_request(body, content_type, model.feature_dim))
    records = [{"projection": row} for row in projections.tolist()]
    return encode_response(records, response, wrapper="projections"), response.media_type
