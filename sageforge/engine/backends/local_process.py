"""The default backend: each instance is an OS process on this machine, in its own process group.

Every host's address is ``127.0.0.1``. Stopping signals the whole process group, so whatever the training command
started stops with it; when the command's own process exits, the rest of its group is killed, as a container's
would be. On Linux each process also gets ``PR_SET_PDEATHSIG=SIGKILL``, so instances die if the server is killed.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Literal

from sageforge.engine.backends.base import InstanceSpec, OutputLine, Placement
from sageforge.engine.errors import LaunchError
from sageforge.engine.instance_types import InstanceResources
from sageforge.ports import free_port

# CloudWatch caps an event at 256 KiB; a longer line arrives as several.
_MAX_LINE_BYTES = 256 * 1024
_PR_SET_PDEATHSIG = 1


def _die_with_parent_preexec() -> Callable[[], None] | None:
    if sys.platform != "linux":
        return None
    # Resolved before any fork: the child may only make the raw call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    sigkill = int(signal.SIGKILL)

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, sigkill)

    return die_with_parent


_PREEXEC = _die_with_parent_preexec()


class LocalProcessBackend:
    """Runs each instance as ``subprocess.Popen(spec.command, cwd=spec.directory, env=spec.environment)``."""

    name = "local"
    cpus: int | None = None

    def __init__(self) -> None:
        # PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process. Forking from one
        # long-lived thread keeps instances alive after the job thread that asked for them has gone.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sageforge-spawner")

    def place(self, job_name: str, hosts: Sequence[str], resources: InstanceResources) -> Placement:
        return Placement({host: "127.0.0.1" for host in hosts}, free_port())

    def launch(self, spec: InstanceSpec) -> ProcessHandle:
        return self._spawner.submit(_spawn, spec).result()

    def close(self) -> None:
        self._spawner.shutdown(wait=True)


def _spawn(spec: InstanceSpec) -> ProcessHandle:
    try:
        process = subprocess.Popen(
            list(spec.command),
            cwd=spec.directory,
            env=dict(spec.environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_PREEXEC,
        )
    except OSError as error:
        raise LaunchError(f"cannot run {spec.command[0]!r}: {error.strerror or error}") from error
    return ProcessHandle(process)


class ProcessHandle:
    """An ``InstanceHandle`` over a ``Popen`` whose stdout and stderr are pipes."""

    failure: str | None = None  # the process runs here: it cannot be lost without the server

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._lines: queue.Queue[OutputLine | None] = queue.Queue()
        self._exited = threading.Event()
        self._exit_code: int | None = None
        self._lock = threading.Lock()
        self._kill_timer: threading.Timer | None = None
        self._kill_at = 0.0
        assert process.stdout is not None and process.stderr is not None
        for stream, pipe in (("stdout", process.stdout), ("stderr", process.stderr)):
            threading.Thread(
                target=self._read, args=(pipe, stream), name=f"sageforge-{stream}-{process.pid}", daemon=True
            ).start()
        threading.Thread(target=self._reap, name=f"sageforge-reap-{process.pid}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def lines(self) -> Iterator[OutputLine]:
        open_streams = 2
        while open_streams:
            line = self._lines.get()
            if line is None:
                open_streams -= 1
            else:
                yield line

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._exited.wait(timeout):
            return None
        return self._exit_code

    def terminate(self, grace_seconds: float) -> None:
        with self._lock:
            if self._exited.is_set():
                return
            kill_at = time.monotonic() + grace_seconds
            if self._kill_timer is not None:
                if kill_at >= self._kill_at:
                    return
                # A later call with a shorter grace period (a stop, then a server shutdown) brings SIGKILL forward.
                self._kill_timer.cancel()
            else:
                self._signal_group(signal.SIGTERM)
            self._kill_at = kill_at
            self._kill_timer = threading.Timer(grace_seconds, self._signal_group, (signal.SIGKILL,))
            self._kill_timer.daemon = True
            self._kill_timer.start()

    def _read(self, pipe: IO[bytes], stream: Literal["stdout", "stderr"]) -> None:
        with pipe:
            for raw in iter(lambda: pipe.readline(_MAX_LINE_BYTES), b""):
                text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
                self._lines.put(OutputLine(text, stream, time.time()))
        self._lines.put(None)

    def _reap(self) -> None:
        code = self._process.wait()
        # What the command left behind dies with it, as in a container; this also closes the pipes it shared.
        self._signal_group(signal.SIGKILL)
        with self._lock:
            if self._kill_timer is not None:
                self._kill_timer.cancel()
            self._exit_code = code if code >= 0 else 128 - code
            self._exited.set()

    def _signal_group(self, signum: signal.Signals) -> None:
        try:
            os.killpg(self._process.pid, signum)
        except ProcessLookupError:
            pass  # the whole group has already exited
