"""The dispatch table: ``@operation("CreateTrainingJob")`` marks a provider method, ``register`` collects them.

A provider is any object whose methods are marked with :func:`operation`; the composition root builds
providers with their managers and registers each under its botocore service name. A handler takes the
request context and the whole parsed input shape and returns the output shape as a dict. Handlers are plain
functions run in worker threads, or coroutines (``async def``), which the gateway runs on its event loop: for
operations that only wait on the network, such as forwarding an invocation to a model.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sageforge.aws.context import RequestContext

Handler = Callable[[RequestContext, dict[str, Any]], dict[str, Any]]
AsyncHandler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]
F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__aws_operation__"


def operation(name: str) -> Callable[[F], F]:
    """Mark a provider method as the handler of the AWS operation ``name``."""

    def mark(func: F) -> F:
        setattr(func, _MARK, name)
        return func

    return mark


class DispatchTable:
    """Maps (service, operation) to the bound handler that implements it."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler | AsyncHandler] = {}
        self._async_services: set[str] = set()

    def register(self, service: str, provider: object) -> None:
        for attribute in dir(type(provider)):
            name = getattr(getattr(type(provider), attribute), _MARK, None)
            if name is None:
                continue
            key = (service, name)
            if key in self._handlers:
                raise ValueError(f"{service}.{name} is registered twice")
            handler = getattr(provider, attribute)
            self._handlers[key] = handler
            if inspect.iscoroutinefunction(handler):
                self._async_services.add(service)

    def lookup(self, service: str, operation_name: str) -> Handler | AsyncHandler | None:
        return self._handlers.get((service, operation_name))

    def is_async(self, service: str) -> bool:
        """Whether any handler of ``service`` is a coroutine: its requests are then answered on the event loop."""
        return service in self._async_services

    def implemented(self, service: str) -> list[str]:
        return sorted(op for svc, op in self._handlers if svc == service)

    def services(self) -> list[str]:
        return sorted({svc for svc, _ in self._handlers})
