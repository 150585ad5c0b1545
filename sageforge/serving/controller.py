"""The control plane: reconcile an endpoint's desired variants into running replicas.

- ``deploy(spec)`` builds a fleet for ``spec`` beside whatever serves the endpoint now (nothing, on create):
  models staged, every replica started and passing ``/ping``. Then the router switches to it in one step and
  the old fleet drains and stops (blue/green). If any replica fails, the new fleet is stopped and the old one
  never stopped serving.
- ``scale(key, changes)`` applies new weights at once and reaches new instance counts by starting replicas
  (routed once healthy) or draining surplus ones.
- ``remove(key)`` stops routing at once; requests in flight get their answers, then the replicas stop.
- A replica that dies while serving leaves routing and is replaced, with backoff, while its fleet serves.

Each operation runs on a thread of its own and reports to a ``DeploymentListener``.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from sageforge.engine.backends.base import Backend
from sageforge.engine.instance_types import instance_resources
from sageforge.engine.logs import JobLogWriter
from sageforge.engine.workspace import PYTHON_ENVIRONMENTS_VARIABLE
from sageforge.serving.artifacts import stage_files
from sageforge.serving.errors import DeploymentFailed
from sageforge.serving.fleet import Fleet, VariantFleet
from sageforge.serving.replica import Replica, ReplicaSpec
from sageforge.serving.router import Router
from sageforge.serving.spec import EndpointSpec, VariantChange
from sageforge.store.logs.base import LogStore
from sageforge.store.objects.base import ObjectStore

log = logging.getLogger(__name__)

_MAX_REPLACEMENT_DELAY = 30.0


def endpoint_log_group(name: str) -> str:
    """Where an endpoint's replicas log, one stream per instance named ``<variant>/<instance id>``."""
    return f"/aws/sagemaker/Endpoints/{name}"


class DeploymentListener(Protocol):
    def on_serving(self, at: float) -> None:
        """What was asked (a deployment, a scaling) now serves."""
        ...

    def on_failed(self, reason: str, at: float) -> None:
        """What was asked could not be done; whatever served before still serves."""
        ...


@dataclass
class _Endpoint:
    name: str
    logs: JobLogWriter
    # Set when the endpoint is removed: operations under way abandon their work.
    cancelled: threading.Event = field(default_factory=threading.Event)
    # Fleets built, serving or retiring; the log writer closes when the last one is gone after removal.
    fleets: set[Fleet] = field(default_factory=set)


class ServingController:
    def __init__(
        self,
        objects: ObjectStore,
        logs: LogStore,
        backend: Backend,
        directory: Path,
        router: Router,
        *,
        stop_grace_seconds: float = 10.0,
        drain_seconds: float = 60.0,
        python_environments: Path | None = None,
    ) -> None:
        self._objects = objects
        # Given to replicas, so script-mode requirements environments are built once across deployments.
        self._python_environments = python_environments
        self._logs = logs
        self._backend = backend
        # What a previous server left here belongs to replicas that are gone; deployments stage afresh.
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self._directory = directory
        self._router = router
        self._stop_grace = stop_grace_seconds
        self._drain_seconds = drain_seconds
        self._endpoints: dict[str, _Endpoint] = {}
        self._started: set[Replica] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()

    # --- operations ---------------------------------------------------------------------------------------

    def deploy(self, spec: EndpointSpec, listener: DeploymentListener) -> None:
        with self._lock:
            endpoint = self._endpoints.get(spec.key)
            if endpoint is None:
                endpoint = _Endpoint(spec.name, JobLogWriter(self._logs, endpoint_log_group(spec.name)))
                self._endpoints[spec.key] = endpoint
        self._spawn(f"deploy-{spec.name}", self._deploy, endpoint, spec, listener)

    def scale(self, key: str, changes: Mapping[str, VariantChange], listener: DeploymentListener) -> None:
        endpoint, fleet = self._endpoints.get(key), self._router.fleet(key)
        if endpoint is None or fleet is None:
            listener.on_failed("The endpoint is not serving.", time.time())
            return
        self._spawn(f"scale-{endpoint.name}", self._scale, endpoint, fleet, changes, listener)

    def remove(self, key: str) -> None:
        with self._lock:
            endpoint = self._endpoints.pop(key, None)
            if endpoint is None:
                return
            # Under the lock: a deployment finishing now either activated before this or will see the flag.
            endpoint.cancelled.set()
            fleet = self._router.deactivate(key)
        if fleet is not None:
            self._spawn(f"remove-{endpoint.name}", self._retire, endpoint, fleet)
        else:
            self._release(endpoint, None)

    def shutdown(self) -> None:
        """Stop every replica (SIGTERM, then SIGKILL after the grace period), wait for them, and close the
        backend (the controller's own)."""
        self._closing.set()
        with self._lock:
            endpoints = list(self._endpoints.items())
            self._endpoints.clear()
            replicas = list(self._started)
        for key, endpoint in endpoints:
            endpoint.cancelled.set()
            self._router.deactivate(key)
        for replica in replicas:
            replica.stop(self._stop_grace)
        for replica in replicas:
            replica.wait_closed(self._stop_grace + 5)
        for thread in list(self._threads):
            thread.join(timeout=self._stop_grace + 5)
        for _, endpoint in endpoints:
            endpoint.logs.close()
        self._backend.close()

    def replica_count(self) -> int:
        """Replica processes still running (those stopping included)."""
        with self._lock:
            self._started = {replica for replica in self._started if replica.running}
            return len(self._started)

    # --- deployments --------------------------------------------------------------------------------------

    def _deploy(self, endpoint: _Endpoint, spec: EndpointSpec, listener: DeploymentListener) -> None:
        directory = self._directory / spec.name / uuid.uuid4().hex[:12]
        fleet = Fleet(spec.key, {v.name: VariantFleet(v, directory / v.name) for v in spec.variants}, directory)
        with self._lock:
            endpoint.fleets.add(fleet)
        try:
            for variant in fleet.variants.values():
                stage_files(self._objects, variant.spec.files, variant.directory)
            with ThreadPoolExecutor(max_workers=len(fleet.variants)) as pool:
                grown = [
                    pool.submit(self._grow, endpoint, fleet, v, v.spec.instance_count) for v in fleet.variants.values()
                ]
            for future in grown:
                future.result()
        except Exception as error:
            self._retire(endpoint, fleet)
            # Abandoned by a removal or a shutdown: nobody is waiting for the outcome, and the endpoint's record
            # must keep its status for the next server to act on.
            if not endpoint.cancelled.is_set():
                listener.on_failed(_reason(error, endpoint.name), time.time())
            return
        with self._lock:
            # A removal that came while the fleet was built wins: the fleet never serves.
            cancelled = endpoint.cancelled.is_set()
            previous = None if cancelled else self._router.activate(fleet)
        if cancelled:
            self._retire(endpoint, fleet)
            return
        listener.on_serving(time.time())
        if previous is not None:
            self._retire(endpoint, previous)

    def _scale(
        self, endpoint: _Endpoint, fleet: Fleet, changes: Mapping[str, VariantChange], listener: DeploymentListener
    ) -> None:
        weights = {name: variant.weight for name, variant in fleet.variants.items()}
        try:
            for name, change in changes.items():
                variant = fleet.variant(name)
                if variant is None:
                    raise DeploymentFailed(f"The endpoint has no production variant {name}.")
                if change.weight is not None:
                    variant.set_weight(change.weight)
                if change.instance_count is not None:
                    self._resize(endpoint, fleet, variant, change.instance_count)
        except Exception as error:
            # The weights go back; replicas the failing variant started are stopped already (a variant resized
            # before it, in the same request, keeps its new count).
            for name, weight in weights.items():
                fleet.variants[name].set_weight(weight)
            if not endpoint.cancelled.is_set():
                listener.on_failed(_reason(error, endpoint.name), time.time())
            return
        listener.on_serving(time.time())

    def _resize(self, endpoint: _Endpoint, fleet: Fleet, variant: VariantFleet, count: int) -> None:
        surplus = variant.spec.instance_count - count
        if surplus < 0:
            self._grow(endpoint, fleet, variant, -surplus)
        for replica in variant.replicas[count:] if surplus > 0 else ():
            variant.discard(replica)
            self._stop(fleet, [replica])
        variant.set_instance_count(count)

    def _grow(self, endpoint: _Endpoint, fleet: Fleet, variant: VariantFleet, count: int) -> None:
        """Start ``count`` replicas at once and route each that passes /ping; if any fails, stop the new ones
        and raise the first failure."""
        with ThreadPoolExecutor(max_workers=max(1, count)) as pool:
            starts = [pool.submit(self._start_replica, endpoint, fleet, variant) for _ in range(count)]
        failures = [future.exception() for future in starts if future.exception() is not None]
        started = [future.result() for future in starts if future.exception() is None]
        if failures:
            self._stop(fleet, started)
            raise failures[0] if isinstance(failures[0], DeploymentFailed) else DeploymentFailed(str(failures[0]))
        for replica in started:
            variant.add(replica)

    def _start_replica(self, endpoint: _Endpoint, fleet: Fleet, variant: VariantFleet) -> Replica:
        spec = variant.spec
        environment = {**spec.environment, "SAGEMAKER_BASE_DIR": str(variant.directory)}
        if self._python_environments is not None:
            environment[PYTHON_ENVIRONMENTS_VARIABLE] = str(self._python_environments)
        replica = Replica(
            ReplicaSpec(
                endpoint=endpoint.name,
                variant=spec.name,
                image=spec.image,
                command=spec.command,
                environment=environment,
                directory=variant.directory,
                resources=instance_resources(spec.instance_type),
                startup_timeout=spec.startup_timeout,
            ),
            self._backend,
            endpoint.logs,
            on_exit=partial(self._on_replica_exit, endpoint, fleet, variant),
        )
        if self._closing.is_set() or not fleet.track(replica):
            raise DeploymentFailed("The endpoint's deployment was abandoned.")
        with self._lock:
            self._started = {started for started in self._started if started.running}
            self._started.add(replica)
        try:
            replica.start(endpoint.cancelled)
        except DeploymentFailed:
            self._stop(fleet, [replica])
            raise
        return replica

    # --- failures and retirement ----------------------------------------------------------------------------

    def _on_replica_exit(
        self, endpoint: _Endpoint, fleet: Fleet, variant: VariantFleet, replica: Replica, code: int
    ) -> None:
        if fleet.retired.is_set() or self._closing.is_set() or not variant.discard(replica):
            return
        fleet.forget(replica)
        log.warning(
            "instance %s of endpoint %s, variant %s, exited with code %d; replacing it",
            replica.instance_id,
            endpoint.name,
            variant.name,
            code,
        )
        self._spawn(f"replace-{replica.instance_id}", self._replace, endpoint, fleet, variant)

    def _replace(self, endpoint: _Endpoint, fleet: Fleet, variant: VariantFleet) -> None:
        delay = 1.0
        while not fleet.retired.is_set() and not self._closing.is_set():
            if len(variant.replicas) >= variant.spec.instance_count:
                return  # the variant was scaled in meanwhile
            try:
                replica = self._start_replica(endpoint, fleet, variant)
            except DeploymentFailed as failure:
                log.warning("could not replace an instance of %s/%s: %s", endpoint.name, variant.name, failure)
                fleet.retired.wait(delay)
                delay = min(delay * 2, _MAX_REPLACEMENT_DELAY)
                continue
            if len(variant.replicas) >= variant.spec.instance_count:
                self._stop(fleet, [replica])  # scaled in while this one started
            else:
                variant.add(replica)
            return

    def _retire(self, endpoint: _Endpoint, fleet: Fleet) -> None:
        """Stop ``fleet`` (no longer routed): drain what its replicas accepted, stop them, drop its files."""
        self._stop(fleet, fleet.retire())
        fleet.remove_files()
        self._release(endpoint, fleet)

    def _stop(self, fleet: Fleet, replicas: list[Replica]) -> None:
        deadline = time.monotonic() + self._drain_seconds
        for replica in replicas:
            replica.drain(max(0.0, deadline - time.monotonic()))
        for replica in replicas:
            replica.stop(self._stop_grace)
        for replica in replicas:
            replica.wait_closed(self._stop_grace + 5)
            fleet.forget(replica)

    def _release(self, endpoint: _Endpoint, fleet: Fleet | None) -> None:
        with self._lock:
            if fleet is not None:
                endpoint.fleets.discard(fleet)
            done = endpoint.cancelled.is_set() and not endpoint.fleets
        if done:
            endpoint.logs.close()

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        """Run an operation on a thread of its own; ``shutdown`` waits for it."""

        def run() -> None:
            try:
                target(*args)
            except Exception:
                log.exception("serving operation %s failed", name)
            finally:
                with self._lock:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, name=f"sageforge-{name}", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()


def _reason(error: Exception, endpoint: str) -> str:
    """A failure's FailureReason; an unexpected exception is logged and reported without its internals."""
    if isinstance(error, DeploymentFailed):
        return str(error)
    log.error("deploying endpoint %s failed unexpectedly", endpoint, exc_info=error)
    return "An internal error occurred while deploying the endpoint; the sageforge server's log has the details."
