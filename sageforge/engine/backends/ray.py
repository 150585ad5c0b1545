"""The Ray backend: every instance runs on a node of a Ray cluster, as the local backend would run it there.

* ``place`` reserves a placement group with one bundle per host (the CPUs, memory and GPUs of the instance type,
  from ``ray_resources``' table), spread over the nodes as far as they allow, and starts one ``NodeAgent`` actor in
  each bundle; the agents answer their node's address, and algo-1's a free port for the job's collective.
* ``launch`` packs the instance's directory into a tar that travels through Ray's object store to the agent,
  which unpacks it in a directory of its node and runs the command there (environment values naming the
  server's directory are rewritten to the node's). Nodes need no access to the object store: the server ships
  the staged channels. A thread of the handle polls the agent for output lines; once the process has exited it
  copies back what the instance wrote or changed (model/, output/, checkpoints/), and only then does ``wait``
  return. The agent is then killed and, once the job's last host has ended, its placement group removed.
* A node lost mid-run (the agent died) ends the instance with exit code 137 and a last stderr line saying so.

The cluster is joined once per process (``ray.init``), shared by every ``RayBackend`` of the server.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayActorError, RayError
from ray.util.placement_group import PlacementGroup, placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from sageforge.engine.backends.base import InstanceSpec, OutputLine, Placement
from sageforge.engine.backends.ray_node import NodeAgent, pack, to_output_lines, unpack
from sageforge.engine.backends.ray_resources import RayBundle, load_bundles
from sageforge.engine.errors import LaunchError
from sageforge.engine.instance_types import InstanceResources

_log = logging.getLogger(__name__)

_POLL_SECONDS = 1.0
_NODE_LOST_EXIT_CODE = 128 + 9  # what a machine that vanished looks like: killed
_AGENT_CONCURRENCY = 4  # poll, terminate and changes may overlap
_Agent = ray.remote(NodeAgent)

_init_lock = threading.Lock()
_users = 0


def _join(address: str | None) -> None:
    """Connect this process to the cluster at ``address`` (a new local Ray instance when None)."""
    global _users
    with _init_lock:
        if not ray.is_initialized():
            ray.init(address=address, namespace="sageforge", log_to_driver=False, logging_level=logging.WARNING)
        _users += 1


def _leave() -> None:
    global _users
    with _init_lock:
        _users -= 1
        if _users == 0 and ray.is_initialized():
            ray.shutdown()


@dataclass
class _Group:
    """One ``place`` call: its placement group, and the hosts that have not ended yet."""

    group: PlacementGroup
    remaining: set[str] = field(default_factory=set)
    removed: bool = False


@dataclass(frozen=True)
class _Seat:
    """A host's place: its agent (already started in its bundle) and the group it belongs to."""

    agent: Any
    node_id: str
    group: _Group


class RayBackend:
    """Runs instances on the Ray cluster at ``address`` (``host:port`` of its GCS; a new local instance when empty).

    ``instance_types``: a JSON file overriding the instance-type table (see ``ray_resources``). ``work_dir``: where
    instance directories go on the nodes (default: the node's temporary directory). ``placement_timeout``: how
    long ``place`` waits for the cluster to fit a job before it fails with ``LaunchError``.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        instance_types: str | None = None,
        work_dir: str | None = None,
        placement_timeout: float = 600.0,
    ) -> None:
        self._bundles = load_bundles(Path(instance_types) if instance_types else None)
        self._work_dir = work_dir or str(Path(tempfile.gettempdir()) / "sageforge-ray")
        self._placement_timeout = placement_timeout
        self._seats: dict[tuple[str, str], _Seat] = {}
        self._lock = threading.Lock()
        _join(address or None)
        self._closed = False

    @property
    def cpus(self) -> int:
        """The cluster's CPUs: what the engine may admit at once."""
        return int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]

    def place(self, job_name: str, hosts: Sequence[str], resources: InstanceResources) -> Placement:
        bundle = self._bundles.bundle(resources)
        group = placement_group([bundle.ray_bundle()] * len(hosts), strategy="SPREAD")
        if not group.wait(self._placement_timeout):
            remove_placement_group(group)
            raise LaunchError(
                f"the Ray cluster could not fit {len(hosts)} x {bundle} for {job_name} within "
                f"{self._placement_timeout:g} s"
            )
        entry = _Group(group, set(hosts))
        agents = [self._agent(bundle, group, index) for index in range(len(hosts))]
        try:
            answers = ray.get([agent.where.remote() for agent in agents])
        except RayError as error:
            for agent in agents:
                ray.kill(agent)
            remove_placement_group(group)
            raise LaunchError(f"the Ray cluster could not start {job_name}: {error}") from None
        with self._lock:
            for host, agent, (node_id, _, _) in zip(hosts, agents, answers, strict=True):
                self._seats[(job_name, host)] = _Seat(agent, node_id, entry)
        for host, (node_id, address, _) in zip(hosts, answers, strict=True):
            _log.info("%s of %s runs on Ray node %s (%s)", host, job_name, node_id, address)
        return Placement({host: address for host, (_, address, _) in zip(hosts, answers, strict=True)}, answers[0][2])

    def launch(self, spec: InstanceSpec) -> RayInstanceHandle:
        with self._lock:
            seat = self._seats.pop((spec.job_name, spec.host), None)
        if seat is None:  # launched without ``place``: a seat of its own, wherever it fits
            self.place(spec.job_name, [spec.host], spec.resources)
            with self._lock:
                seat = self._seats.pop((spec.job_name, spec.host))
        name = f"{spec.job_name.replace('/', '_')}-{spec.host}-{uuid.uuid4().hex[:8]}"
        try:
            error = ray.get(
                seat.agent.start.remote(
                    name, spec.command, dict(spec.environment), str(spec.directory), pack(spec.directory)
                )
            )
        except RayActorError:
            error = f"the Ray node for {spec.host} was lost before it started"
        if error is not None:
            self._release(spec.job_name, spec.host, seat, abandon=True)
            raise LaunchError(error)
        return RayInstanceHandle(spec, seat, lambda: self._release(spec.job_name, spec.host, seat, abandon=False))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            seats = list(self._seats.items())
            self._seats.clear()
        for (job_name, host), seat in seats:
            self._release(job_name, host, seat, abandon=True)
        _leave()

    def _agent(self, bundle: RayBundle, group: PlacementGroup, index: int) -> Any:
        return _Agent.options(
            num_cpus=bundle.cpus,
            num_gpus=bundle.gpus,
            memory=bundle.memory_bytes or None,
            max_concurrency=_AGENT_CONCURRENCY,
            max_restarts=0,
            scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=index),
        ).remote(self._work_dir)

    def _release(self, job_name: str, host: str, seat: _Seat, *, abandon: bool) -> None:
        """``host`` has ended: kill its agent, and remove the group once no host of it is left to run.
        ``abandon``: the job launches no further hosts (a launch failed), so their seats go too."""
        ray.kill(seat.agent)
        entry = seat.group
        with self._lock:
            entry.remaining.discard(host)
            if abandon:
                for other in list(entry.remaining):
                    dropped = self._seats.pop((job_name, other), None)
                    if dropped is not None:
                        ray.kill(dropped.agent)
                        entry.remaining.discard(other)
            last = not entry.remaining and not entry.removed
            entry.removed = entry.removed or last
        if last:
            remove_placement_group(entry.group)


class RayInstanceHandle:
    """An ``InstanceHandle`` over a ``NodeAgent``; a thread polls it and copies the outputs back at the end."""

    def __init__(self, spec: InstanceSpec, seat: _Seat, release: Callable[[], None]) -> None:
        self.node_id = seat.node_id
        self.failure: str | None = None
        self._spec = spec
        self._agent = seat.agent
        self._release = release
        self._lines: queue.Queue[OutputLine | None] = queue.Queue()
        self._exited = threading.Event()
        self._exit_code: int | None = None
        threading.Thread(target=self._follow, name=f"sageforge-ray-{spec.host}", daemon=True).start()

    def lines(self) -> Iterator[OutputLine]:
        while (line := self._lines.get()) is not None:
            yield line

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._exited.wait(timeout):
            return None
        return self._exit_code

    def terminate(self, grace_seconds: float) -> None:
        if not self._exited.is_set():
            self._agent.terminate.remote(grace_seconds)  # not awaited: the poll sees the exit

    def _follow(self) -> None:
        code = _NODE_LOST_EXIT_CODE
        try:
            code = self._relay()
            changes, deleted = ray.get(self._agent.changes.remote())
            unpack(changes, self._spec.directory)
            for path in deleted:
                (self._spec.directory / path).unlink(missing_ok=True)
        except RayActorError:
            self._lost(f"the Ray node running {self._spec.host} was lost")
        except RayError as error:
            self._lost(f"the Ray backend lost {self._spec.host}: {error}")
        finally:
            self._lines.put(None)
            self._exit_code = code
            self._exited.set()
        try:
            ray.get(self._agent.remove.remote())
        except RayError:
            pass  # its node has gone, and the directory with it
        self._release()

    def _relay(self) -> int:
        """Pass lines on until the process has exited; its exit code."""
        while True:
            lines, ended, code = ray.get(self._agent.poll.remote(_POLL_SECONDS))
            for line in to_output_lines(lines):
                self._lines.put(line)
            if ended and code is not None:
                return int(code)

    def _lost(self, reason: str) -> None:
        _log.warning("%s of %s: %s", self._spec.host, self._spec.job_name, reason)
        self.failure = f"InternalServerError: {reason}."
        self._lines.put(OutputLine(reason, "stderr", time.time()))
