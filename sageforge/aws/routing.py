"""Which API a request is for: by the service in its SigV4 credential scope, then by ``X-Amz-Target``
(json protocols) or path (``/endpoints/...`` is sagemaker-runtime, which shares SageMaker's signing name)."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.model import ServiceModel

from sageforge.aws.auth import credential_scope
from sageforge.aws.context import AwsRequest
from sageforge.aws.errors import AwsError
from sageforge.aws.specs import signing_name


class Router:
    def __init__(self, services: Sequence[ServiceModel]) -> None:
        self._by_signing_name: dict[str, list[ServiceModel]] = {}
        self._by_target_prefix: dict[str, ServiceModel] = {}
        for model in services:
            self._by_signing_name.setdefault(signing_name(model), []).append(model)
            prefix = model.metadata.get("targetPrefix")
            if prefix:
                self._by_target_prefix[prefix] = model

    def route(self, request: AwsRequest) -> ServiceModel:
        target = request.headers.get("x-amz-target")
        if target:
            model = self._by_target_prefix.get(target.partition(".")[0])
            if model is not None:
                return model
        scope = credential_scope(request)
        candidates = self._by_signing_name.get(scope.service if scope else "s3", [])
        if len(candidates) == 1:
            return candidates[0]
        for model in candidates:
            if model.protocol in ("rest-json", "rest-xml") and _matches_rest_path(model, request.path):
                return model
        raise AwsError(
            f"sageforge does not serve the API this request was signed for ({scope.service if scope else 'none'}).",
            code="UnknownServiceException",
        )


def _matches_rest_path(model: ServiceModel, path: str) -> bool:
    for name in model.operation_names:
        template = model.operation_model(name).http.get("requestUri", "/")
        literal = template.split("{", 1)[0].split("?", 1)[0]
        if literal != "/" and path.startswith(literal):
            return True
    return False
