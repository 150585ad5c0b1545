"""From an endpoint's stored variants to what the serving controller runs.

Each variant serves its model's one container: the image must name a built-in algorithm that has an
inference module, which a replica runs as ``python -m sageforge.serving.runtime``; the model data is a
``ModelDataUrl`` tar.gz or a ``ModelDataSource`` S3 location. Anything else is ``Unservable``, with the
endpoint's FailureReason as the message.
"""

from __future__ import annotations

import sys
from typing import Any

from sageforge.algorithms import registry
from sageforge.engine.errors import InvalidS3Uri
from sageforge.engine.workload import S3Location
from sageforge.serving.spec import DEFAULT_STARTUP_TIMEOUT, EndpointSpec, ModelSource, VariantSpec

RUNTIME_COMMAND = (sys.executable, "-m", "sageforge.serving.runtime")


class Unservable(Exception):
    """A variant sageforge cannot run; the message is the FailureReason."""


def endpoint_spec(arn: str, name: str, variants: list[dict[str, Any]]) -> EndpointSpec:
    return EndpointSpec(key=arn, name=name, variants=tuple(_variant_spec(variant) for variant in variants))


def _variant_spec(variant: dict[str, Any]) -> VariantSpec:
    name = variant["VariantName"]
    containers = variant["Containers"]
    if len(containers) != 1:
        raise Unservable(
            f"Production variant {name}: model {variant['ModelName']} has {len(containers)} containers; sageforge "
            "serves models of one container (inference pipelines are not supported)."
        )
    container = containers[0]
    image = container.get("Image", "")
    resolved = registry.resolve(image)
    if resolved is None or resolved.algorithm.inference_module is None:
        raise Unservable(
            f"Production variant {name}: the image '{image}' is not a built-in algorithm image that sageforge can "
            "serve, and no container backend is configured to run other images."
        )
    environment = {
        **container.get("Environment", {}),
        "SAGEFORGE_INFERENCE_MODULE": resolved.algorithm.inference_module,
        "SAGEFORGE_ALGORITHM_VERSION": resolved.version,
    }
    return VariantSpec(
        name=name,
        weight=float(variant["DesiredWeight"]),
        instance_count=int(variant["DesiredInstanceCount"]),
        instance_type=variant["InstanceType"],
        image=image,
        command=RUNTIME_COMMAND,
        environment=environment,
        model=_model_source(name, container),
        startup_timeout=float(variant.get("StartupTimeoutInSeconds", DEFAULT_STARTUP_TIMEOUT)),
    )


def _model_source(variant: str, container: dict[str, Any]) -> ModelSource | None:
    source = container.get("ModelDataSource", {}).get("S3DataSource")
    uri = container.get("ModelDataUrl") or (source["S3Uri"] if source else None)
    if uri is None:
        return None
    try:
        location = S3Location.parse(uri)
    except InvalidS3Uri:
        raise Unservable(f"Production variant {variant}: the model data '{uri}' is not an S3 URI.") from None
    archive = source is None or source.get("CompressionType", "None") == "Gzip"
    return ModelSource(location.bucket, location.key, archive=archive)
