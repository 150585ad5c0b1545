"""Admission by CPUs: which waiting job may start its instances now.

Each instance asks for ``min(its type's vCPUs, this machine's CPUs)``. Jobs are admitted first come, first
served, when their request fits in the CPUs not held by running jobs, and always when nothing runs, so a job
bigger than the machine (an 8-vCPU type on a 2-core box) still runs, alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

from sageforge.engine.instance_types import InstanceResources


def machine_cpus() -> int:
    """CPUs this process may use (its affinity mask, which containers and taskset narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class CpuScheduler:
    def __init__(self, cpus: int | None = None) -> None:
        self.cpus = cpus or machine_cpus()
        self._held: dict[str, int] = {}
        self._waiting: list[str] = []
        self._condition = threading.Condition()

    def request(self, instances: Sequence[InstanceResources]) -> int:
        """CPUs a job with ``instances`` asks for."""
        return sum(min(instance.vcpus, self.cpus) for instance in instances)

    def acquire(self, job: str, cpus: int, *, cancelled: threading.Event) -> bool:
        """Block until ``job`` may hold ``cpus``; ``False`` once ``cancelled`` is set (call ``wake`` after setting it)."""
        with self._condition:
            self._waiting.append(job)
            try:
                while not cancelled.is_set():
                    if self._admissible(job, cpus):
                        self._held[job] = cpus
                        return True
                    self._condition.wait()
                return False
            finally:
                self._waiting.remove(job)
                # The next job in line may fit now.
                self._condition.notify_all()

    def wake(self) -> None:
        """Have waiting ``acquire`` calls look at their ``cancelled`` event again."""
        with self._condition:
            self._condition.notify_all()

    def release(self, job: str) -> None:
        with self._condition:
            self._held.pop(job, None)
            self._condition.notify_all()

    def held(self) -> dict[str, int]:
        """Running jobs and the CPUs each holds."""
        with self._condition:
            return dict(self._held)

    def waiting(self) -> list[str]:
        """Jobs waiting for CPUs, first in line first."""
        with self._condition:
            return list(self._waiting)

    def _admissible(self, job: str, cpus: int) -> bool:
        if self._waiting[0] != job:
            return False
        return not self._held or sum(self._held.values()) + cpus <= self.cpus
