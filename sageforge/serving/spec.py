"""What the controller is asked to run: an endpoint's variants, each a command with the model files to stage
before it starts. Plain data: the API layer translates production variants and models into it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# SageMaker requires a container to pass /ping within four minutes of starting.
DEFAULT_STARTUP_TIMEOUT = 240.0


@dataclass(frozen=True)
class ModelSource:
    """A model's files in the object store: a tar.gz object extracted into the model directory (``archive``),
    or every object under the ``key`` prefix copied as they are."""

    bucket: str
    key: str
    archive: bool = True


@dataclass(frozen=True)
class VariantSpec:
    """One production variant: ``instance_count`` replicas of ``command``, taking ``weight`` of the traffic."""

    name: str
    weight: float
    instance_count: int
    instance_type: str
    image: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    model: ModelSource | None
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
