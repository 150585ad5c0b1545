"""The backend protocol: where and how one training instance runs.

The engine owns the job: it stages each instance's directory (the instance's ``/opt/ml``) on this machine,
builds the environment, decides when to stop, and collects artifacts from the directory after exit. A backend
only places hosts, starts one instance from an ``InstanceSpec`` and hands back an ``InstanceHandle``.

How other backends fit:

* ``local`` (``local_process``): each instance is an OS process in ``spec.directory``.
* Docker (``docker``, a ``ContainerBackend`` the engine holds beside its process backend, for images that are
  neither built-ins nor framework images): ``docker run <spec.image> train`` with ``spec.directory`` mounted at
  ``/opt/ml`` (and ``SAGEMAKER_BASE_DIR`` rewritten to it); ``terminate`` maps to ``docker stop --time <grace>``.
* Ray (``ray``): ``place`` reserves a placement group (a bundle of ``resources`` per host) and answers each
  host's node address; ``launch`` ships ``spec.directory`` to that node through Ray's object store, and ``wait``
  returns only once what the instance wrote there has been copied back (``backends/ray.py``).

Every backend passes ``tests/engine/test_backend_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from sageforge.engine.instance_types import InstanceResources


@dataclass(frozen=True)
class InstanceSpec:
    """One instance to start."""

    job_name: str
    host: str  # "algo-1" .. "algo-N"
    command: tuple[str, ...]
    # The complete environment: nothing is inherited beyond what is here.
    environment: Mapping[str, str]
    # The instance's /opt/ml on the engine's machine; also the working directory of the command.
    directory: Path
    resources: InstanceResources
    image: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where a job's hosts run: each host's network address, and a TCP port free on the first host's machine for
    the job's coordination (XGBoost's tracker; the port an endpoint replica, a one-host job, serves on)."""

    addresses: Mapping[str, str]
    collective_port: int


@dataclass(frozen=True)
class OutputLine:
    """One line an instance wrote, without its line ending."""

    text: str
    stream: Literal["stdout", "stderr"]
    at: float  # epoch seconds when the line arrived


class InstanceHandle(Protocol):
    """A started instance. Safe to use from several threads, but ``lines`` has a single consumer."""

    # Why the backend itself ended the instance (the machine running it was lost), set before ``wait`` returns;
    # None when the instance's own process exited.
    failure: str | None

    def lines(self) -> Iterator[OutputLine]:
        """Yield stdout and stderr lines in arrival order as they come; end when both streams have closed."""
        ...

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the instance exits and return its exit code, or ``None`` if ``timeout`` passes first.

        An instance killed by signal ``N`` reports ``128 + N`` (as a shell or Docker does), whatever the backend.
        """
        ...

    def terminate(self, grace_seconds: float) -> None:
        """Ask the instance (and everything it started) to stop with SIGTERM; SIGKILL after ``grace_seconds``.

        Returns at once; ``wait`` observes the exit. A later call can only bring SIGKILL forward. Harmless once
        the instance has exited.
        """
        ...


class Backend(Protocol):
    """Runs instances. One backend serves many jobs at once."""

    name: str
    # The CPUs the backend offers for admission (a cluster's); None: this machine's.
    cpus: int | None

    def place(self, job_name: str, hosts: Sequence[str], resources: InstanceResources) -> Placement:
        """Decide where ``hosts`` (each needing ``resources``) run before any of them starts (their environment
        names every address); raise ``LaunchError`` if they cannot be placed."""
        ...

    def launch(self, spec: InstanceSpec) -> InstanceHandle:
        """Start one instance and return without waiting for it; raise ``LaunchError`` if it cannot start."""
        ...

    def close(self) -> None:
        """Release the backend's own resources; the owner calls it after every job has ended."""
        ...


class ContainerBackend(Backend, Protocol):
    """A backend that runs instances as containers of ``InstanceSpec.image`` (``docker run <image> train``)."""

    def available(self) -> bool:
        """Whether a container engine answers now; asked before each job that needs one."""
        ...
