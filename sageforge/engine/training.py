"""``TrainingEngine``: the entry point the training-job manager calls to run, stop and shut down jobs.

Each submitted job runs on its own thread (see ``run.TrainingRun``) in a fresh directory under
``<work_dir>/training/``, removed once the job's artifacts are uploaded.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

from sageforge.engine.backends.base import Backend, ContainerBackend
from sageforge.engine.errors import EngineShutDown, JobAlreadyRunning, NoContainerBackend
from sageforge.engine.run import RunContext, TrainingRun
from sageforge.engine.scheduler import CpuScheduler
from sageforge.engine.status import SecondaryStatus, TrainingListener, TrainingOutcome
from sageforge.engine.workload import TrainingWorkload
from sageforge.store.logs.base import LogStore
from sageforge.store.objects.base import ObjectStore

__all__ = ["TrainingEngine", "TrainingListener", "TrainingOutcome"]


class TrainingEngine:
    """Runs training workloads; thread-safe.

    ``endpoint_url`` is the server's own URL, given to instances as their AWS and S3 endpoint. ``cpus`` caps what
    the scheduler hands out (default: the CPUs this process may use). ``stop_grace_seconds`` is the time between
    SIGTERM and SIGKILL when a job is stopped, hits MaxRuntimeInSeconds or loses an instance.
    ``container_backend`` runs the workloads that run their own image (bring your own container); the engine
    closes it when it shuts down.
    """

    def __init__(
        self,
        objects: ObjectStore,
        logs: LogStore,
        backend: Backend,
        work_dir: Path,
        endpoint_url: str,
        *,
        stop_grace_seconds: float = 120.0,
        cpus: int | None = None,
        log_flush_interval: float = 0.5,
        container_backend: ContainerBackend | None = None,
        python_environments: Path | None = None,
    ) -> None:
        self._context = RunContext(
            objects=objects,
            logs=logs,
            backend=backend,
            scheduler=CpuScheduler(cpus),
            endpoint_url=endpoint_url,
            stop_grace_seconds=stop_grace_seconds,
            log_flush_interval=log_flush_interval,
            python_environments=python_environments or work_dir / "python-environments",
            container_backend=container_backend,
        )
        self._work_dir = work_dir / "training"
        self._runs: dict[str, tuple[TrainingRun, threading.Thread]] = {}
        self._lock = threading.Lock()
        self._shut_down = False

    @property
    def scheduler(self) -> CpuScheduler:
        return self._context.scheduler

    def runs_images(self) -> bool:
        """Whether a workload that runs its image (``runs_image``) can run now: a container engine answers."""
        backend = self._context.container_backend
        return backend is not None and backend.available()

    def submit(self, workload: TrainingWorkload, listener: TrainingListener) -> None:
        """Start running ``workload`` on a thread of its own and return; progress goes to ``listener``.

        Raises ``JobAlreadyRunning`` for a job name that is running, ``InvalidMetricDefinition`` for a metric
        regex that does not compile, ``EngineShutDown`` after ``shutdown``, ``NoContainerBackend`` for a workload
        that runs its image on an engine without a container backend.
        """
        if workload.runs_image and self._context.container_backend is None:
            raise NoContainerBackend(f"no container backend runs the image of {workload.job_name}")
        directory = self._work_dir / f"{workload.job_name}-{uuid.uuid4().hex[:8]}"
        run = TrainingRun(workload, listener, self._context, directory)
        with self._lock:
            if self._shut_down:
                raise EngineShutDown("the training engine has shut down")
            if workload.job_name in self._runs:
                raise JobAlreadyRunning(workload.job_name)
            thread = threading.Thread(
                target=self._run, args=(run, directory), name=f"sageforge-training-{workload.job_name}"
            )
            self._runs[workload.job_name] = (run, thread)
            thread.start()

    def stop(self, job_name: str) -> bool:
        """Ask a running job to stop (SIGTERM, SIGKILL after the grace period); ``False`` if it is not running."""
        with self._lock:
            entry = self._runs.get(job_name)
        if entry is None:
            return False
        entry[0].interrupt(SecondaryStatus.STOPPED)
        return True

    def running(self) -> list[str]:
        """Names of the jobs not yet finished."""
        with self._lock:
            return sorted(self._runs)

    def shutdown(self, grace_seconds: float | None = None) -> None:
        """Stop every job (with at most ``grace_seconds`` before SIGKILL, if given) and wait for them to end."""
        with self._lock:
            self._shut_down = True
            entries = list(self._runs.values())
        for run, _ in entries:
            run.interrupt(SecondaryStatus.STOPPED, grace_seconds)
        for _, thread in entries:
            thread.join()
        if self._context.container_backend is not None:
            self._context.container_backend.close()

    def _run(self, run: TrainingRun, directory: Path) -> None:
        try:
            outcome = run.execute()
        finally:
            # Staged data can be large; what is worth keeping is in the object store by now.
            shutil.rmtree(directory, ignore_errors=True)
            with self._lock:
                del self._runs[run.workload.job_name]
        # After the job has left the table, so that a listener may look at ``running`` or submit a retry.
        run.report_finished(outcome)
