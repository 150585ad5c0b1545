"""botocore's service models, the source of truth for operation names, shapes, enums and HTTP bindings."""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import ServiceModel

# The APIs sageforge serves; each is a botocore service name.
SERVED_SERVICES = ("sagemaker", "sagemaker-runtime", "logs", "sts", "iam", "s3", "cloudwatch")

# Services whose failed input validation is not answered with their protocol's usual code.
VALIDATION_ERROR_CODES = {
    "logs": "InvalidParameterException",
    "sagemaker-runtime": "ValidationError",
    "cloudwatch": "ValidationError",
}


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(name: str) -> ServiceModel:
    return _session().get_service_model(name)


def signing_name(model: ServiceModel) -> str:
    return str(model.metadata.get("signingName") or model.metadata["endpointPrefix"])
