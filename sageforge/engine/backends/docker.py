"""Bring your own container: each instance is ``docker run <image> train`` with its directory as ``/opt/ml``.

The engine stages the instance directory exactly as for a local process; the container sees it mounted at
``/opt/ml`` (``SAGEMAKER_BASE_DIR`` says so) and shares the host's network, so the server's endpoint URL in its
environment reaches the server. The ``docker`` CLI runs in the foreground as a local process: its output is
the container's, and its exit status is the container's exit code. Stopping is ``docker stop --time <grace>``
(SIGTERM, then SIGKILL), and the CLI itself is signalled as a backstop.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace

from sageforge.engine.backends.base import InstanceSpec, OutputLine, Placement
from sageforge.engine.backends.local_process import LocalProcessBackend, ProcessHandle
from sageforge.engine.errors import LaunchError
from sageforge.engine.instance_types import InstanceResources

CONTAINER_BASE_DIR = "/opt/ml"
# The server's variables the docker CLI itself needs (where the engine is, its config); none reach the container.
_CLI_VARIABLES = (
    "PATH",
    "HOME",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CONTEXT",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
)
# Host paths and settings the engine passes to local processes; inside an image they would be wrong.
_HOST_ONLY_VARIABLES = frozenset({"PATH", "PYTHONPATH", "HOME", "TMPDIR", "LANG", "LC_ALL"})
# Extra seconds the CLI gets after the container's own grace period before it is killed too.
_CLI_GRACE_MARGIN = 10.0
_PROBE_TIMEOUT_SECONDS = 10.0


def container_name(spec: InstanceSpec) -> str:
    """``sageforge-<job>-<host>`` in the characters Docker allows in a name."""
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", f"sageforge-{spec.job_name}-{spec.host}")


def container_environment(spec: InstanceSpec) -> dict[str, str]:
    """The instance's environment as the container gets it: host-only variables dropped, the base dir moved."""
    environment = {k: v for k, v in spec.environment.items() if k not in _HOST_ONLY_VARIABLES}
    environment["SAGEMAKER_BASE_DIR"] = CONTAINER_BASE_DIR
    return environment


def docker_run_argv(spec: InstanceSpec, docker: str = "docker") -> list[str]:
    """The ``docker run`` command line for ``spec`` (its command being the container's arguments, ``train``):
    variables are named with ``--env NAME`` only, so their
    values (credentials among them) come from the CLI's environment rather than its visible arguments."""
    if spec.image is None:
        raise LaunchError(f"instance {spec.host} of {spec.job_name} names no image to run")
    cpus = min(spec.resources.vcpus, os.cpu_count() or 1)
    argv = [docker, "run", "--rm", "--name", container_name(spec), "--network", "host", "--cpus", str(cpus)]
    argv += ["--volume", f"{spec.directory}:{CONTAINER_BASE_DIR}"]
    for name in sorted(container_environment(spec)):
        argv += ["--env", name]
    # The command is the container's arguments: ``train``, as SageMaker runs a training image.
    return [*argv, spec.image, *spec.command]


class DockerBackend:
    """Runs each instance as a container through the ``docker`` CLI."""

    name = "docker"
    cpus: int | None = None

    def __init__(self, docker: str = "docker") -> None:
        self._docker = docker
        self._processes = LocalProcessBackend()

    def available(self) -> bool:
        """Whether a Docker engine answers (``docker info``); the CLI alone is not enough."""
        try:
            subprocess.run(
                [self._docker, "info", "--format", "{{.ServerVersion}}"],
                capture_output=True,
                timeout=_PROBE_TIMEOUT_SECONDS,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        return True

    def place(self, job_name: str, hosts: Sequence[str], resources: InstanceResources) -> Placement:
        # Containers share the host's network: every host is this machine, as for local processes.
        return self._processes.place(job_name, hosts, resources)

    def launch(self, spec: InstanceSpec) -> DockerHandle:
        cli_environment = {name: os.environ[name] for name in _CLI_VARIABLES if name in os.environ}
        cli = replace(
            spec,
            command=tuple(docker_run_argv(spec, self._docker)),
            environment={**cli_environment, **container_environment(spec)},
        )
        return DockerHandle(self._processes.launch(cli), container_name(spec), self._docker)

    def close(self) -> None:
        self._processes.close()


class DockerHandle:
    """An ``InstanceHandle`` over the foreground ``docker run`` process of one container."""

    failure: str | None = None  # the container runs here: it cannot be lost without the server

    def __init__(self, process: ProcessHandle, name: str, docker: str) -> None:
        self._process = process
        self._name = name
        self._docker = docker

    def lines(self) -> Iterator[OutputLine]:
        return self._process.lines()

    def wait(self, timeout: float | None = None) -> int | None:
        return self._process.wait(timeout)

    def terminate(self, grace_seconds: float) -> None:
        stop = [self._docker, "stop", "--time", str(math.ceil(grace_seconds)), self._name]
        threading.Thread(target=_run_quietly, args=(stop,), name=f"sageforge-stop-{self._name}", daemon=True).start()
        self._process.terminate(grace_seconds + _CLI_GRACE_MARGIN)


def _run_quietly(command: list[str]) -> None:
    try:
        subprocess.run(command, capture_output=True, check=False)
    except OSError:
        pass  # no CLI any more: the backstop signal to the foreground process still applies
