"""Built-in Factorization Machines inference, the module a replica's runtime loads
(`sageforge.serving.runtime.contract`).

Requests (reference B6): `application/json`, `application/jsonlines` and `application/x-recordio-protobuf`,
dense or sparse (`first_party.request_bodies`); FM takes no CSV, so `text/csv` is a 415. Answers, by Accept
(`application/json` when empty or `*/*` [INF]): a binary classifier's `{"predictions": [{"score": 0.4,
"predicted_label": 0}]}`, a regressor's `{"predictions": [{"score": 0.4}]}`; as `application/jsonlines` one
object per line; as `application/x-recordio-protobuf` one Record per row with float32 `label["score"]` (and
`label["predicted_label"]`). Any other Accept is a 406.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sageforge.algorithms.factorization_machines.model import ALGORITHM, FactorizationMachine
from sageforge.algorithms.first_party.artifact import find_artifact, read_artifact
from sageforge.algorithms.first_party.request_bodies import JSON, JSONLINES, RECORDIO_PROTOBUF, decode_request
from sageforge.algorithms.first_party.response_bodies import encode_response, negotiate

FORMATS = (JSON, JSONLINES, RECORDIO_PROTOBUF)


def model_fn(model_dir: str) -> FactorizationMachine:
    return FactorizationMachine.from_artifact(read_artifact(find_artifact(Path(model_dir)), ALGORITHM))


def transform_fn(model: FactorizationMachine, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    response = negotiate(accept, FORMATS, default=JSON)
    predictions = model.predict(decode_request(body, content_type, model.feature_dim, accepted=FORMATS))
    records: list[dict[str, Any]]
    if predictions.labels is None:
        records = [{"score": score} for score in predictions.scores.tolist()]
    else:
        records = [
            {"score": score, "predicted_label": int(label)}
            for score, label in zip(predictions.scores.tolist(), predictions.labels.tolist(), strict=True)
        ]
    return encode_response(records, response, wrapper="predictions"), response.media_type
