"""Built-in IP Insights inference, the module a replica's runtime loads (`sageforge.serving.runtime.contract`).

Requests (reference B8; no RecordIO): `text/csv` -- `entity,ip` rows --, `application/json` --
`{"instances": [{"data": {"features": {"values": ["entity_id_1", "192.168.1.2"]}}}, {"features": ["entity_id_2",
"10.10.1.2"]}]}` -- and `application/jsonlines`, one such instance a line. Answers, by Accept
(`application/json` when empty or `*/*` [INF]): `{"predictions": [{"dot_product": 2.0}, ...]}`, or one
`{"dot_product": 2.0}` a line as `application/jsonlines`; with the `verbose=True` parameter each answer adds
`entity_embedding` and `ip_embedding`. An address that is not IPv4, or a row that is not a pair, is a 400; an
unsupported Content-Type a 415, an unsupported Accept a 406.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sageforge.algorithms.first_party.artifact import find_artifact, read_artifact
from sageforge.algorithms.first_party.request_bodies import CSV, JSON, JSONLINES, media_type
from sageforge.algorithms.first_party.response_bodies import encode_response, negotiate
from sageforge.algorithms.ipinsights.encoding import entity_rows, parse_ipv4
from sageforge.algorithms.ipinsights.model import ALGORITHM, IpInsightsModel
from sageforge.serving.runtime.contract import InferenceError

_REQUEST_TYPES = {
    "": CSV,
    "text/csv": CSV,
    "application/json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
}
ANSWERS = (JSON, JSONLINES)


def model_fn(model_dir: str) -> IpInsightsModel:
    return IpInsightsModel.from_artifact(read_artifact(find_artifact(Path(model_dir)), ALGORITHM))


def transform_fn(model: IpInsightsModel, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    response = negotiate(accept, ANSWERS, default=JSON)
    pairs = decode_pairs(body, content_type)
    addresses, valid = parse_ipv4([address for _, address in pairs])
    if not valid.all():
        bad = next(address for (_, address), ok in zip(pairs, valid, strict=True) if not ok)
        raise InferenceError(400, f"Unable to evaluate payload provided: {bad!r} is not an IPv4 address")
    entity, ip = model.embeddings(
        entity_rows([entity for entity, _ in pairs], model.entity_vectors.shape[0]), addresses
    )
    dot_products = (entity * ip).sum(axis=1)
    records: list[dict[str, Any]] = [{"dot_product": value} for value in dot_products.tolist()]
    if response.verbose:
        for record, entity_vector, ip_vector in zip(records, entity.tolist(), ip.tolist(), strict=True):
            record["entity_embedding"], record["ip_embedding"] = entity_vector, ip_vector
    return encode_response(records, response, wrapper="predictions"), response.media_type


def decode_pairs(body: bytes, content_type: str) -> list[tuple[str, str]]:
    """The (entity, address) pairs of a request; InferenceError 415/400 otherwise."""
    kind, params = media_type(content_type)
    request_type = _REQUEST_TYPES.get(kind)
    if request_type is None:
        raise InferenceError(
            415,
            f"Content type {content_type} is not supported; use one of: {', '.join(sorted(set(_REQUEST_TYPES.values())))}.",
        )
    try:
        text = body.decode(params.get("charset", "utf-8"))
        if request_type == CSV:
            rows = [row for row in csv.reader(io.StringIO(text)) if row]
        elif request_type == JSON:
            document = json.loads(text)
            instances = document.get("instances") if isinstance(document, dict) else document
            if not isinstance(instances, list):
                raise ValueError('the body must be {"instances": [...]}')
            rows = [_instance(instance) for instance in instances]
        else:
            rows = [_instance(json.loads(line)) for line in text.splitlines() if line.strip()]
        if not rows:
            raise ValueError("the payload holds no rows")
        for number, row in enumerate(rows, start=1):
            if len(row) != 2:
                raise ValueError(f"row {number} has {len(row)} values; IP Insights takes entity,ip pairs")
        return [(str(entity).strip(), str(address).strip()) for entity, address in rows]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, LookupError) as error:
        raise InferenceError(400, f"Unable to evaluate payload provided: {error}") from None


def _instance(instance: Any) -> list[Any]:
    if isinstance(instance, dict) and "data" in instance:
        instance = instance["data"]
    if isinstance(instance, dict):
        instance = instance["features"]
    if isinstance(instance, dict):
        instance = instance["values"]
    if not isinstance(instance, list):
        raise ValueError("an instance must hold a list [entity, ip]")
    return instance
