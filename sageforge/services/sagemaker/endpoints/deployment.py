"""From an endpoint's stored variants to what the serving controller runs.

Each variant serves its model's containers -- one, or an inference pipeline's chain -- resolved by
``services.sagemaker.containers`` (shared with batch transform). A container sageforge cannot run is
``Unservable``, with the endpoint's FailureReason as the message.
"""

from __future__ import annotations

from typing import Any

from sageforge.services.sagemaker.containers import NotRunnable, model_container
from sageforge.serving.spec import DEFAULT_STARTUP_TIMEOUT, EndpointSpec, VariantSpec


class Unservable(Exception):
    """A variant sageforge cannot run; the message is the FailureReason."""


def endpoint_spec(arn: str, name: str, variants: list[dict[str, Any]]) -> EndpointSpec:
    return EndpointSpec(key=arn, name=name, variants=tuple(_variant_spec(variant) for variant in variants))


def _variant_spec(variant: dict[str, Any]) -> VariantSpec:
    name = variant["VariantName"]
    try:
        container = model_container(variant["Containers"])
    except NotRunnable as problem:
        raise Unservable(f"Production variant {name}: {problem}") from None
    return VariantSpec(
        name=name,
        weight=float(variant["DesiredWeight"]),
        instance_count=int(variant["DesiredInstanceCount"]),
        instance_type=variant["InstanceType"],
        image=container.image,
        command=container.command,
        environment=container.environment,
        files=container.files,
        startup_timeout=float(variant.get("StartupTimeoutInSeconds", DEFAULT_STARTUP_TIMEOUT)),
    )
