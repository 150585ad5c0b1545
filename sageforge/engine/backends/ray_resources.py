"""What a Ray bundle asks for per instance: the instance type's CPUs, memory and GPUs, scaled by a table.

By default a bundle is exactly the instance type's figures (``engine/instance_types.py``). A JSON file given
as ``--ray-instance-types`` / ``SAGEFORGE_RAY_INSTANCE_TYPES`` changes that per instance type: its keys name
instance types, its values give any of ``cpus``, ``memory_gib`` and ``gpus``, e.g.
``{"ml.m5.xlarge": {"cpus": 2, "memory_gib": 4}}`` to pack more instances onto small nodes. Types the file does
not name keep their figures.

Backends see an instance's resources, not its type's name, so an entry applies to every type with the same
published figures (``ml.m5.xlarge`` and ``ml.t3.xlarge`` are both 4 vCPUs, 16 GiB); a file giving two such types
different values is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from sageforge.engine.errors import EngineError
from sageforge.engine.instance_types import INSTANCE_TYPES, InstanceResources

_GIB = 1024**3
_FIELDS = {"cpus": "vcpus", "memory_gib": "memory_gib", "gpus": "gpus"}


class InvalidInstanceTable(EngineError):
    """The instance-type file given to the Ray backend cannot be read or has unknown fields."""


@dataclass(frozen=True)
class RayBundle:
    cpus: float
    memory_bytes: int
    gpus: float

    def ray_bundle(self) -> dict[str, float]:
        bundle = {"CPU": self.cpus, "memory": float(self.memory_bytes), "GPU": self.gpus}
        return {name: amount for name, amount in bundle.items() if amount}

    def __str__(self) -> str:
        gpus = f", {self.gpus:g} GPU" if self.gpus else ""
        return f"{{{self.cpus:g} CPU, {self.memory_bytes / _GIB:g} GiB{gpus}}}"


@dataclass(frozen=True)
class BundleTable:
    """Instance resources -> the bundle a host asks Ray for."""

    overrides: dict[InstanceResources, InstanceResources]

    def bundle(self, resources: InstanceResources) -> RayBundle:
        chosen = self.overrides.get(resources, resources)
        return RayBundle(float(chosen.vcpus), int(chosen.memory_gib * _GIB), float(chosen.gpus))


def load_bundles(path: Path | None) -> BundleTable:
    """The table with ``path``'s overrides (none when ``path`` is None)."""
    if path is None:
        return BundleTable({})
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInstanceTable(f"cannot read the Ray instance-type table {path}: {error}") from None
    if not isinstance(entries, dict):
        raise InvalidInstanceTable(f"{path}: expected an object of instance types")
    overrides: dict[InstanceResources, InstanceResources] = {}
    for instance_type, given in entries.items():
        standard = INSTANCE_TYPES.get(instance_type)
        if standard is None or not isinstance(given, dict) or not set(given) <= set(_FIELDS):
            raise InvalidInstanceTable(
                f"{path}: {instance_type!r} must be a known instance type mapped to any of {', '.join(_FIELDS)}"
            )
        chosen = replace(standard, **{_FIELDS[name]: value for name, value in given.items()})
        if overrides.setdefault(standard, chosen) != chosen:
            raise InvalidInstanceTable(
                f"{path}: {instance_type!r} has the same figures as another type in the file, with other values"
            )
    return BundleTable(overrides)
