"""An inference pipeline's replica: the inference module that starts each container's runtime and chains them.

The control plane runs a pipeline (a model of 2-15 containers, Serial) as ONE replica: this module is its
inference module, so the router, fleets and batch instances see one process speaking the usual contract.
``SAGEFORGE_PIPELINE`` lists the containers as JSON (``name``, ``command``, ``environment``, ``directory``:
where under ``$SAGEMAKER_BASE_DIR`` its files were staged, its own ``/opt/ml``).

- ``model_fn`` starts every container's process on a loopback port of its own, with the container's
  environment over this process's (the server's few variables and a transform job's), and waits until each
  passes ``/ping``; a container that exits first fails the load with its last line. Their output goes to this
  replica's log, each line prefixed with the container's name.
- ``transform_fn`` sends the request to the first container with its Content-Type; each answer and its
  Content-Type is the next container's request. The caller's Accept goes to the last container only (the
  others answer in their default type, ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``). An error answer ends the chain
  as ``InferenceError`` naming the container (``origin``), with its status and message.
- A container that exits while the pipeline serves ends this process, so the control plane replaces the
  replica as it would any dead one; stopping the replica signals its process group, the containers included.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sageforge.ports import free_port
from sageforge.serving.runtime.contract import InferenceError
from sageforge.serving.runtime.server import ping

_PING_INTERVAL = 0.05
_TAIL_LINES = 5
_PR_SET_PDEATHSIG = 1
# What this process's own environment says for itself alone; a container gets its own values.
_OWN_VARIABLES = ("SAGEFORGE_PIPELINE", "SAGEFORGE_INFERENCE_MODULE", "SAGEMAKER_BIND_TO_PORT", "SAGEMAKER_BASE_DIR")


@dataclass
class _Container:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))

    def forward_output(self) -> None:
        """Copy the container's output to this process's, prefixed with its name; keep its last lines."""
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.strip():
                self.tail.append(line.strip())
            print(f"[{self.name}] {line}", flush=True)

    def healthy(self) -> bool:
        return ping("127.0.0.1", self.port, timeout=2.0)


class Pipeline:
    """The running containers, in order, and each serving thread's kept connections to them."""

    def __init__(self, containers: list[_Container]) -> None:
        self.containers = containers
        self._connections = threading.local()

    def transform(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        last = len(self.containers) - 1
        for position, container in enumerate(self.containers):
            headers = {"Content-Type": content_type} if content_type else {}
            if position == last and accept:
                headers["Accept"] = accept
            status, body, answered_type = self._post(position, body, headers)
            if not 200 <= status < 300:
                raise InferenceError(status, body.decode("utf-8", "replace"), origin=container.name)
            content_type = answered_type
        return body, content_type

    def _post(self, position: int, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes, str]:
        """One request to a container over this thread's kept connection; a kept connection the container closed
        meanwhile fails before any answer, and the request goes once more on a new one."""
        pool: dict[int, http.client.HTTPConnection] = self._connections.__dict__.setdefault("pool", {})
        try:
            return _exchange(pool, position, self.containers[position].port, body, headers)
        except (OSError, http.client.HTTPException):
            try:
                return _exchange(pool, position, self.containers[position].port, body, headers)
            except (OSError, http.client.HTTPException) as error:
                name = self.containers[position].name
                raise RuntimeError(f"container {name} could not be reached: {error}") from None


def _exchange(
    pool: dict[int, http.client.HTTPConnection], position: int, port: int, body: bytes, headers: Mapping[str, str]
) -> tuple[int, bytes, str]:
    connection = pool.get(position) or pool.setdefault(position, http.client.HTTPConnection("127.0.0.1", port))
    try:
        connection.request("POST", "/invocations", body, dict(headers))
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    except BaseException:
        connection.close()
        del pool[position]
        raise


def model_fn(model_dir: str) -> Pipeline:
    base = Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))
    members: list[dict[str, Any]] = json.loads(os.environ["SAGEFORGE_PIPELINE"])
    inherited = {name: value for name, value in os.environ.items() if name not in _OWN_VARIABLES}
    containers: list[_Container] = []
    try:
        for member in members:
            containers.append(_start(member, base, inherited))
        for container in containers:
            while not container.healthy():
                if container.process.poll() is not None:
                    last = f": {container.tail[-1]}" if container.tail else ""
                    raise RuntimeError(
                        f"container {container.name} exited with code {container.process.returncode}{last}"
                    )
                time.sleep(_PING_INTERVAL)
    except BaseException:
        for container in containers:
            container.process.kill()
        raise
    threading.Thread(target=_watch, args=(containers,), name="sageforge-pipeline-watch", daemon=True).start()
    print(f"inference pipeline of {len(containers)} containers serving", flush=True)
    return Pipeline(containers)


def transform_fn(model: Pipeline, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    return model.transform(body, content_type, accept)


def _start(member: Mapping[str, Any], base: Path, inherited: Mapping[str, str]) -> _Container:
    port = free_port()
    directory = base / member["directory"]
    (directory / "model").mkdir(parents=True, exist_ok=True)
    environment = {
        **inherited,
        **member["environment"],
        "SAGEMAKER_BASE_DIR": str(directory),
        "SAGEMAKER_BIND_TO_PORT": str(port),
    }
    process = subprocess.Popen(
        member["command"],
        cwd=directory,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    container = _Container(member["name"], port, process)
    threading.Thread(target=container.forward_output, name=f"sageforge-{container.name}", daemon=True).start()
    return container


def _watch(containers: list[_Container]) -> None:
    """End this process when any container exits: the replica is dead, and the control plane replaces it."""
    while True:
        for container in containers:
            code = container.process.poll()
            if code is not None:
                print(
                    f"container {container.name} of the inference pipeline exited with code {code}; stopping",
                    file=sys.stderr,
                    flush=True,
                )
                os._exit(1)
        time.sleep(0.2)


def _die_with_parent() -> None:
    """In the forked child: die with this process, even if it is killed without a chance to stop them."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
