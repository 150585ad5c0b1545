"""What a model's container definition runs as in sageforge: shared by endpoints and batch transform.

A container is runnable when its image names a built-in algorithm with an inference module, which a replica
runs as ``python -m sageforge.serving.runtime``; its model data is a ``ModelDataUrl`` tar.gz or a
``ModelDataSource`` S3 location (or nothing). Anything else raises ``NotRunnable`` with the reason, which each
caller prefixes with what asked for it (a production variant, a transform job).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sageforge.algorithms import registry
from sageforge.engine.errors import InvalidS3Uri
from sageforge.engine.workload import S3Location
from sageforge.serving.spec import ModelSource

RUNTIME_COMMAND = (sys.executable, "-m", "sageforge.serving.runtime")


class NotRunnable(Exception):
    """A container sageforge cannot run; the message says why, without naming who asked."""


@dataclass(frozen=True)
class InferenceContainer:
    """A container definition resolved to a replica's image, command, environment and model files."""

    image: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    model: ModelSource | None


def inference_container(container: Mapping[str, Any]) -> InferenceContainer:
    """Resolve one ``ContainerDefinition`` (as CreateModel stored it); raises ``NotRunnable``."""
    image = container.get("Image", "")
    resolved = registry.resolve(image)
    if resolved is None or resolved.algorithm.inference_module is None:
        raise NotRunnable(
            f"the image '{image}' is not a built-in algorithm image that sageforge can serve, and no container "
            "backend is configured to run other images."
        )
    environment = {
        **container.get("Environment", {}),
        "SAGEFORGE_INFERENCE_MODULE": resolved.algorithm.inference_module,
        "SAGEFORGE_ALGORITHM_VERSION": resolved.version,
    }
    return InferenceContainer(image, RUNTIME_COMMAND, environment, _model_source(container))


def _model_source(container: Mapping[str, Any]) -> ModelSource | None:
    source = container.get("ModelDataSource", {}).get("S3DataSource")
    uri = container.get("ModelDataUrl") or (source["S3Uri"] if source else None)
    if uri is None:
        return None
    try:
        location = S3Location.parse(uri)
    except InvalidS3Uri:
        raise NotRunnable(f"the model data '{uri}' is not an S3 URI.") from None
    archive = source is None or source.get("CompressionType", "None") == "Gzip"
    return ModelSource(location.bucket, location.key, archive=archive)
