"""One replica: a process speaking the inference contract, started through an engine backend, its output
pumped to the endpoint's log stream, and a connection pool for the router.

The backend places the replica as a one-host job: the address of the machine it runs on (loopback for local
processes, a node of the cluster for Ray) and a port free there, which the process binds
(``SAGEFORGE_BIND_ADDRESS``, ``SAGEMAKER_BIND_TO_PORT``) and the router connects to.

A replica is healthy once ``GET /ping`` answers 200 within its startup timeout; a process that exits first, or
a ping that never passes, fails the start with a reason naming the variant and the last line the process
wrote. Requests are counted in and out (``acquire``/``release``) so a replica can be drained: it takes no new
request, and is stopped once those in flight have their answers.
"""

from __future__ import annotations

import collections
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sageforge.engine.backends.base import Backend, InstanceHandle, InstanceSpec
from sageforge.engine.errors import LaunchError
from sageforge.engine.instance_types import InstanceResources
from sageforge.engine.logs import JobLogWriter
from sageforge.serving.connection import ConnectionLost, ConnectionPool, Response
from sageforge.serving.errors import DeploymentFailed, InvocationTimeout
from sageforge.serving.runtime.server import ping

_PING_INTERVAL = 0.05
_PING_TIMEOUT = 2.0  # what SageMaker gives /ping
_TAIL_LINES = 20
# Taken from the server's environment; nothing else of it reaches a replica.
_INHERITED_VARIABLES = ("PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


class ReplicaUnreachable(Exception):
    """The request never reached the replica's model, or the connection broke before any answer."""


@dataclass(frozen=True)
class ReplicaSpec:
    """How to run one replica of a variant: ``environment`` is the container's (the process also gets the port
    and a few of the server's variables); ``directory`` holds the staged ``model/``."""

    endpoint: str
    variant: str
    image: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    directory: Path
    resources: InstanceResources
    startup_timeout: float
    # What a failed start says before its details; None: the words SageMaker uses for an endpoint's variant.
    unhealthy_message: str | None = None


class Replica:
    def __init__(
        self, spec: ReplicaSpec, backend: Backend, logs: JobLogWriter, on_exit: Callable[[Replica, int], None]
    ) -> None:
        self.spec = spec
        # Shaped like an EC2 instance id, as SageMaker names an endpoint's log streams.
        self.instance_id = "i-" + secrets.token_hex(9)[:17]
        self.log_stream = f"{spec.variant}/{self.instance_id}"
        # Where the process listens, known once ``start`` has placed it.
        self.address = ""
        self.port = 0
        self._backend = backend
        self._logs = logs
        self._on_exit = on_exit
        self._handle: InstanceHandle | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._exit_code: int | None = None
        self._output_done = threading.Event()
        self._serving = False
        self._stopping = False
        self._in_flight = 0
        self._lock = threading.Condition()
        self._pool: ConnectionPool | None = None

    # --- life cycle -----------------------------------------------------------------------------------------

    def start(self, cancelled: threading.Event) -> None:
        """Launch the process and return once ``/ping`` passes; raise ``DeploymentFailed`` with the reason
        otherwise (the process is stopped then). ``cancelled`` abandons the wait."""
        spec = self.spec
        with self._lock:
            if self._stopping or cancelled.is_set():  # stopped, or its deployment abandoned, before the launch
                self._output_done.set()
                raise DeploymentFailed("The replica was stopped before it started.")
        job_name = f"{spec.endpoint}/{spec.variant}"
        try:
            placement = self._backend.place(job_name, [self.instance_id], spec.resources)
        except LaunchError as error:
            self._output_done.set()
            raise DeploymentFailed(self._unhealthy(str(error))) from None
        self.address, self.port = placement.addresses[self.instance_id], placement.collective_port
        self._pool = ConnectionPool(self.address, self.port)
        environment = {
            **{name: os.environ[name] for name in _INHERITED_VARIABLES if name in os.environ},
            # Python inference code would otherwise buffer its output, and the endpoint's log would lag.
            "PYTHONUNBUFFERED": "1",
            **spec.environment,
            "SAGEFORGE_BIND_ADDRESS": self.address,
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
        }
        self._logs.open_stream(self.log_stream)
        try:
            self._handle = self._backend.launch(
                InstanceSpec(
                    job_name=job_name,
                    host=self.instance_id,
                    command=spec.command,
                    environment=environment,
                    directory=spec.directory,
                    resources=spec.resources,
                    image=spec.image,
                )
            )
        except LaunchError as error:
            self._output_done.set()  # nothing runs, and nothing will
            raise DeploymentFailed(self._unhealthy(str(error))) from None
        threading.Thread(target=self._pump, name=f"sageforge-replica-{self.instance_id}", daemon=True).start()
        deadline = time.monotonic() + spec.startup_timeout
        while not ping(self.address, self.port, _PING_TIMEOUT):
            if self._output_done.wait(_PING_INTERVAL):
                raise DeploymentFailed(self._unhealthy(f"The container exited with code {self._exit_code}"))
            if cancelled.is_set() or time.monotonic() > deadline:
                self.stop(0)
                if cancelled.is_set():
                    raise DeploymentFailed("The deployment was cancelled.")
                raise DeploymentFailed(self._unhealthy(f"/ping did not pass within {spec.startup_timeout:g} s"))
        with self._lock:
            # The pump marks the exit under this lock: either it has (and the start fails) or it will see
            # the replica serving and report the exit, so a replica never dies unnoticed.
            if self._output_done.is_set():
                raise DeploymentFailed(self._unhealthy(f"The container exited with code {self._exit_code}"))
            self._serving = True

    def stop(self, grace_seconds: float) -> None:
        """Refuse new requests and signal the process (SIGKILL after ``grace_seconds``); returns at once."""
        with self._lock:
            self._stopping = True
            self._serving = False
        if self._handle is not None:
            self._handle.terminate(grace_seconds)
        if self._pool is not None:
            self._pool.close()

    def drain(self, timeout: float) -> None:
        """Take no new request and wait (up to ``timeout``) for those in flight to be answered."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._serving = False
            while self._in_flight and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())

    def wait_closed(self, timeout: float) -> bool:
        """Whether the process has exited and its last output reached the log within ``timeout``."""
        return self._output_done.wait(timeout)

    @property
    def running(self) -> bool:
        """Whether the process runs, or is about to (a replica counts from its creation until it has exited)."""
        return not self._output_done.is_set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # --- requests -------------------------------------------------------------------------------------------

    def acquire(self) -> bool:
        """Count a request in; False when the replica takes no requests (starting, draining or gone)."""
        with self._lock:
            if not self._serving:
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if not self._in_flight:
                self._lock.notify_all()

    async def post(self, path: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
        """Send one request over a kept connection (between ``acquire`` and ``release``); response headers are
        named in lower case."""
        assert self._pool is not None, "acquire() passes only once the replica serves"
        try:
            return await self._pool.request("POST", path, body, headers, timeout)
        except TimeoutError:
            raise InvocationTimeout(self.instance_id) from None
        except ConnectionLost as error:
            raise ReplicaUnreachable(str(error)) from None

    # --- internals ------------------------------------------------------------------------------------------

    def _pump(self) -> None:
        assert self._handle is not None
        for line in self._handle.lines():
            self._logs.write(self.log_stream, line.text, line.at)
            if line.text.strip():
                self._tail.append(line.text.strip())
        code = self._handle.wait()
        self._exit_code = code
        with self._lock:
            was_serving = self._serving and not self._stopping
            self._serving = False
            self._output_done.set()
        if was_serving:
            self._on_exit(self, -1 if code is None else code)

    def _unhealthy(self, detail: str) -> str:
        last = f" Last log line: {self._tail[-1]}" if self._tail else ""
        message = self.spec.unhealthy_message or (
            f"The primary container for production variant {self.spec.variant} did not pass the ping health check. "
            "Please check CloudWatch logs for this endpoint."
        )
        return f"{message} ({detail}.{last})"
