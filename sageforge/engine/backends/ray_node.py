"""What the Ray backend runs on a node: one agent (a threaded Ray actor) per instance.

The agent holds its bundle's CPUs, memory and GPUs for the instance's whole life. It unpacks the instance's
directory (a tar sent through Ray's object store) into a directory of its node, runs the command there with the
local backend (own process group, SIGTERM then SIGKILL, ``PR_SET_PDEATHSIG``, so the process dies with the
agent), buffers its output lines for the server to poll, and packs what the instance wrote or changed for the
server to copy back. This module imports nothing of Ray: the backend wraps the class with ``ray.remote``.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import threading
from collections.abc import Mapping
from pathlib import Path

from sageforge.engine.backends.base import InstanceSpec, OutputLine
from sageforge.engine.backends.local_process import LocalProcessBackend, ProcessHandle
from sageforge.engine.errors import LaunchError
from sageforge.engine.instance_types import InstanceResources
from sageforge.ports import free_port

# (text, stream, at) of each line, whether both streams have closed, and the exit code once known.
Poll = tuple[list[tuple[str, str, float]], bool, int | None]
# The files an instance wrote or changed (a tar) and the paths it deleted, relative to its directory.
Changes = tuple[bytes, list[str]]
_Signature = tuple[int, int]  # size, mtime in ns


def pack(directory: Path, only: set[str] | None = None) -> bytes:
    """``directory`` as an uncompressed tar (regular files, folders and links; FIFOs and devices are left out).

    ``only``: just these relative file paths (and the folders above them)."""
    buffer = io.BytesIO()

    def keep(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            return None
        if only is not None and member.isfile() and member.name not in only:
            return None
        return member

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for child in sorted(directory.iterdir()) if directory.is_dir() else []:
            tar.add(child, arcname=child.name, filter=keep)
    return buffer.getvalue()


def unpack(archive: bytes, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        tar.extractall(directory, filter="tar")


def signatures(directory: Path) -> dict[str, _Signature]:
    """Every regular file under ``directory``: relative path -> (size, mtime)."""
    found: dict[str, _Signature] = {}
    for path in directory.rglob("*"):
        if path.is_file() and not path.is_symlink():
            status = path.stat()
            found[path.relative_to(directory).as_posix()] = (status.st_size, status.st_mtime_ns)
    return found


class NodeAgent:
    """One instance on one node. Methods are called from the server through Ray, several at once."""

    def __init__(self, work_dir: str) -> None:
        self._work_dir = Path(work_dir)
        # Kept for the agent's life: its spawner thread is the parent whose end kills the process (PDEATHSIG).
        self._processes = LocalProcessBackend()
        self._directory: Path | None = None
        self._shipped: dict[str, _Signature] = {}
        self._handle: ProcessHandle | None = None
        self._lines: list[tuple[str, str, float]] = []
        self._ended = False
        self._ready = threading.Condition()

    def where(self) -> tuple[str, str, int]:
        """This node's Ray id and address, and a free port on it."""
        import ray  # only ever called inside a Ray worker

        context = ray.get_runtime_context()
        # On every interface, as the job's processes bind it.
        return context.get_node_id(), ray.util.get_node_ip_address(), free_port("")  # type: ignore[no-untyped-call]

    def start(
        self, name: str, command: tuple[str, ...], environment: Mapping[str, str], home: str, archive: bytes
    ) -> str | None:
        """Unpack ``archive`` into a fresh directory and run ``command`` there; ``None``, or why it cannot start.

        ``home`` is the directory's path on the server: environment values naming it are rewritten to name the
        node's copy instead (``SAGEMAKER_BASE_DIR`` and the like). The GPUs Ray gave the bundle, if any, are
        the process's ``CUDA_VISIBLE_DEVICES``."""
        import ray  # only ever called inside a Ray worker

        directory = self._work_dir / name
        shutil.rmtree(directory, ignore_errors=True)
        unpack(archive, directory)
        self._directory = directory
        self._shipped = signatures(directory)
        rewritten = {key: value.replace(home, str(directory)) for key, value in environment.items()}
        gpus = ray.get_gpu_ids()
        if gpus:
            rewritten["CUDA_VISIBLE_DEVICES"] = ",".join(str(gpu) for gpu in gpus)
        spec = InstanceSpec(name, name, command, rewritten, directory, InstanceResources(0, 0))
        try:
            self._handle = self._processes.launch(spec)
        except LaunchError as error:
            self.remove()
            return str(error)
        threading.Thread(target=self._read, args=(self._handle,), daemon=True).start()
        return None

    def poll(self, timeout: float) -> Poll:
        """The lines written since the last poll (waiting up to ``timeout`` for one), whether the output has
        ended, and the exit code once the process has exited."""
        with self._ready:
            self._ready.wait_for(lambda: self._lines or self._ended, timeout)
            lines, self._lines = self._lines, []
            ended = self._ended
        assert self._handle is not None
        return lines, ended, self._handle.wait(0) if ended else None

    def terminate(self, grace_seconds: float) -> None:
        if self._handle is not None:
            self._handle.terminate(grace_seconds)

    def changes(self) -> Changes:
        """What the instance wrote or changed in its directory, and what it deleted there."""
        assert self._directory is not None
        now = signatures(self._directory)
        changed = {path for path, signature in now.items() if self._shipped.get(path) != signature}
        deleted = sorted(set(self._shipped) - set(now))
        return pack(self._directory, changed), deleted

    def remove(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)

    def _read(self, handle: ProcessHandle) -> None:
        for line in handle.lines():
            with self._ready:
                self._lines.append((line.text, line.stream, line.at))
                self._ready.notify_all()
        handle.wait()
        with self._ready:
            self._ended = True
            self._ready.notify_all()


def to_output_lines(polled: list[tuple[str, str, float]]) -> list[OutputLine]:
    return [OutputLine(text, "stderr" if stream == "stderr" else "stdout", at) for text, stream, at in polled]
