"""Backends that run training instances, registered by name.

A backend module is imported only when chosen, so optional dependencies (ray, docker) stay optional.
"""

from __future__ import annotations

import importlib
from typing import Any, cast

from sageforge.engine.backends.base import Backend
from sageforge.engine.errors import UnknownBackend

# name -> "module:factory"; the factory takes the keyword options given to ``create_backend``.
_REGISTRY: dict[str, str] = {
    "local": "sageforge.engine.backends.local_process:LocalProcessBackend",
    # Needs the ``ray`` extra: pip install 'sageforge[ray]'.
    "ray": "sageforge.engine.backends.ray:RayBackend",
}


def backend_names() -> list[str]:
    """Names ``create_backend`` accepts."""
    return sorted(_REGISTRY)


def create_backend(name: str, **options: Any) -> Backend:
    """Import and build the backend registered as ``name``."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise UnknownBackend(f"unknown backend {name!r}; choose one of {', '.join(backend_names())}") from None
    module_name, _, factory_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise UnknownBackend(f"the {name} backend needs {error.name}: pip install 'sageforge[{name}]'") from None
    factory = getattr(module, factory_name)
    return cast(Backend, factory(**options))
