"""Built-in Linear Learner inference, the module a replica's runtime loads (`sageforge.serving.runtime.contract`).

Requests are the first-party forms (`first_party.request_bodies`: CSV, JSON, JSON Lines, RecordIO-protobuf).
Answers follow reference B2.4, by Accept (`application/json` when empty or `*/*` [INF]):

- binary: `{"predictions": [{"score": 0.4, "predicted_label": 0}]}` (score a probability with `logistic`, a
  margin with `hinge_loss`);
- multiclass: `{"predictions": [{"score": [0.1, 0.2, 0.7], "predicted_label": 2}]}`;
- regressor: `{"predictions": [{"score": 0.4}]}`;

as `application/jsonlines` one object per line, as `application/x-recordio-protobuf` one Record per row with
`label["score"]` and `label["predicted_label"]` float32 tensors. Linear Learner documents no CSV answer, so
`text/csv` is a 406, as is any other Accept. The model is `model_algo-1` (`model`, `first_party.artifact`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sageforge.algorithms.first_party.artifact import find_artifact, read_artifact
from sageforge.algorithms.first_party.request_bodies import JSON, JSONLINES, RECORDIO_PROTOBUF, decode_request
from sageforge.algorithms.first_party.response_bodies import encode_response, negotiate
from sageforge.algorithms.linear_learner.model import ALGORITHM, LinearModel

ACCEPTS = (JSON, JSONLINES, RECORDIO_PROTOBUF)


def model_fn(model_dir: str) -> LinearModel:
    return LinearModel.from_artifact(read_artifact(find_artifact(Path(model_dir)), ALGORITHM))


def transform_fn(model: LinearModel, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    response = negotiate(accept, ACCEPTS, default=JSON)
    features = decode_request(body, content_type, model.feature_dim)
    predictions = model.predict(features)
    records: list[dict[str, Any]]
    if predictions.labels is None:
        records = [{"score": score} for score in predictions.scores.tolist()]
    else:
        records = [
            {"score": score, "predicted_label": int(label)}
            for score, label in zip(predictions.scores.tolist(), predictions.labels.tolist(), strict=True)
        ]
    return encode_response(records, response, wrapper="predictions"), response.media_type
