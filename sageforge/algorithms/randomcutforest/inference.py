"""Built-in Random Cut Forest inference, the module a replica's runtime loads (`sageforge.serving.runtime.contract`).

Requests are the first-party forms (`first_party.request_bodies`: CSV, JSON dense or sparse, JSON Lines,
RecordIO-protobuf). Answers follow reference B7, by Accept (`application/json` when empty or `*/*` [INF]):
`{"scores": [{"score": 0.02}, ...]}`; `application/jsonlines` one `{"score": ...}` per line;
`application/x-recordio-protobuf` one Record per row with a float32 `label["score"]`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse

from sageforge.algorithms.first_party.artifact import find_artifact, read_artifact
from sageforge.algorithms.first_party.request_bodies import JSON, JSONLINES, RECORDIO_PROTOBUF, decode_request
from sageforge.algorithms.first_party.response_bodies import encode_response, negotiate
from sageforge.algorithms.randomcutforest.forest import ALGORITHM, Forest

ACCEPTS = (JSON, JSONLINES, RECORDIO_PROTOBUF)


def model_fn(model_dir: str) -> Forest:
    return Forest.from_artifact(read_artifact(find_artifact(Path(model_dir)), ALGORITHM))


def transform_fn(model: Forest, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    response = negotiate(accept, ACCEPTS, default=JSON)
    features = decode_request(body, content_type, model.feature_dim)
    rows = features.toarray() if scipy.sparse.issparse(features) else np.asarray(features)
    records = [{"score": score} for score in model.score(rows).tolist()]
    return encode_response(records, response, wrapper="scores"), response.media_type
