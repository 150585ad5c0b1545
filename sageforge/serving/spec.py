"""What the controller is asked to run: an endpoint's variants, each a command with the model files to stage
before it starts. Plain data: the API layer translates production variants and models into it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# SageMaker requires a container to pass /ping within four minutes of starting.
DEFAULT_STARTUP_TIMEOUT = 240.0


@dataclass(frozen=True)
class ModelSource:
    """Files in the object store staged before a replica starts: a tar.gz object extracted (``archive``), or every
    object under the ``key`` prefix copied as they are. ``directory`` is where, relative to the replica's base
    directory (its ``/opt/ml``): a model's files go to ``model``, a script-mode source dir to ``code``, an
    inference pipeline's into each container's own directory. ``container`` names the container a failure
    message speaks of."""

    bucket: str
    key: str
    archive: bool = True
    directory: str = "model"
    container: str = "container_1"


@dataclass(frozen=True)
class VariantSpec:
    """One production variant: ``instance_count`` replicas of ``command``, taking ``weight`` of the traffic; ``files``
    are staged once for them all (a ``model/`` directory exists even when nothing is staged there)."""

    name: str
    weight: float
    instance_count: int
    instance_type: str
    image: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    files: tuple[ModelSource, ...]
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT


@dataclass(frozen=True)
class EndpointSpec:
    """Everything an endpoint serves. ``key`` identifies it to the router (the API layer uses its ARN);
    ``name`` names its log group."""

    key: str
    name: str
    variants: tuple[VariantSpec, ...]


@dataclass(frozen=True)
class VariantChange:
    """A new weight and/or instance count for a variant of a running endpoint."""

    weight: float | None = None
    instance_count: int | None = None
