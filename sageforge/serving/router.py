"""The data plane: which fleet serves each endpoint, and one invocation's way to a replica.

An invocation goes to the variant it names, or to one drawn by weight, then to the least busy healthy replica
of that variant over a pooled keep-alive connection. A replica that cannot be reached (it died, or is being
replaced) costs the request one retry on another replica of the variant; a replica that answers, with any
status, is the answer. Swapping an endpoint's fleet is one dictionary assignment, so an invocation sees the
old fleet or the new one, never a mix, and the old fleet drains what it accepted before it stops.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sageforge.serving.errors import EndpointNotServing, NoCapacity, VariantNotFound
from sageforge.serving.fleet import Fleet, VariantFleet
from sageforge.serving.replica import Replica, ReplicaUnreachable
from sageforge.serving.runtime.contract import ORIGIN_HEADER

# SageMaker gives a container 60 seconds to answer an invocation.
DEFAULT_INVOCATION_TIMEOUT = 60.0
# Replicas tried per request (one retry after a replica that cannot be reached), and fleets looked up.
_ATTEMPTS = 2
_FLEET_LOOKUPS = 3
# The headers SageMaker forwards to a container (besides Content-Type and Accept).
_CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
_INFERENCE_ID = "X-Amzn-SageMaker-Inference-Id"


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    inference_id: str | None = None
    target_variant: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": self.content_type or "application/octet-stream"}
        if self.accept:
            headers["Accept"] = self.accept
        if self.custom_attributes is not None:
            headers[_CUSTOM_ATTRIBUTES] = self.custom_attributes
        if self.inference_id is not None:
            headers[_INFERENCE_ID] = self.inference_id
        return headers


@dataclass(frozen=True)
class InvocationResult:
    """What the replica answered, and the facts the caller's metrics need."""

    variant: str
    status: int
    body: bytes
    content_type: str | None
    custom_attributes: str | None
    model_seconds: float
    instance_count: int
    # The container of an inference pipeline that answered an error; None for a model's one container.
    container: str | None = None


class Router:
    def __init__(self, invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT) -> None:
        self._fleets: dict[str, Fleet] = {}
        self._lock = threading.Lock()
        self._timeout = invocation_timeout

    def activate(self, fleet: Fleet) -> Fleet | None:
        """Route the endpoint ``fleet.key`` to ``fleet``; returns the fleet it replaces."""
        with self._lock:
            previous = self._fleets.get(fleet.key)
            self._fleets[fleet.key] = fleet
        return previous

    def deactivate(self, key: str) -> Fleet | None:
        """Stop routing ``key``; returns the fleet it routed to."""
        with self._lock:
            return self._fleets.pop(key, None)

    def fleet(self, key: str) -> Fleet | None:
        return self._fleets.get(key)

    async def invoke(self, key: str, invocation: Invocation) -> InvocationResult:
        headers = invocation.headers()
        for _ in range(_FLEET_LOOKUPS):
            fleet = self._fleets.get(key)
            if fleet is None:
                raise EndpointNotServing(key)
            variant = _variant(fleet, invocation.target_variant)
            result = await self._send(variant, invocation.body, headers)
            if result is not None:
                return result
            if not fleet.retired.is_set():
                break
            # The fleet was swapped out between the lookup and the request: its replicas drain and take
            # nothing new, so the request goes to the fleet that serves now.
        raise NoCapacity(f"no healthy instance of production variant {variant.name} could take the request")

    async def _send(self, variant: VariantFleet, body: bytes, headers: dict[str, str]) -> InvocationResult | None:
        tried: set[Replica] = set()
        for _ in range(_ATTEMPTS):
            replica = variant.acquire(tried)
            if replica is None:
                return None
            try:
                started = time.perf_counter()
                answer = await replica.post("/invocations", body, headers, self._timeout)
                elapsed = time.perf_counter() - started
            except ReplicaUnreachable:
                tried.add(replica)
                continue
            finally:
                replica.release()
            return InvocationResult(
                variant=variant.name,
                status=answer.status,
                body=answer.body,
                content_type=answer.headers.get("content-type"),
                custom_attributes=answer.headers.get(_CUSTOM_ATTRIBUTES.lower()),
                model_seconds=elapsed,
                instance_count=max(1, len(variant.replicas)),
                container=answer.headers.get(ORIGIN_HEADER.lower()),
            )
        return None


def _variant(fleet: Fleet, target: str | None) -> VariantFleet:
    if target is not None:
        variant = fleet.variant(target)
        if variant is None:
            raise VariantNotFound(target)
        return variant
    chosen = fleet.pick_variant()
    if chosen is None:
        raise NoCapacity("no production variant has a traffic weight above zero")
    return chosen
