"""Runs transform jobs: replicas up, objects through them, outputs stored, replicas down.

Each job runs on a thread of its own:

1. the model (and other files) are staged into the job's directory (``serving.artifacts``) and ``InstanceCount`` replicas are
   started exactly as an endpoint's are (``serving.replica``, the engine backend, the instance type's
   resources), with ``SAGEMAKER_BATCH=true`` among their variables, and waited for until ``/ping`` passes;
2. the first replica's ``GET /execution-parameters`` answer settles whatever the job left open
   (``TransformSpec.settle``), and each instance's data log says what was settled;
3. the instances share the objects (``instance.Instance``) on one event loop;
4. the replicas stop and the listener hears the outcome: Completed, Failed with the first object's failure
   (``ClientError: s3://bucket/key: ...``), or Stopped.

Replica output goes to log group ``/aws/sagemaker/TransformJobs``, stream ``<job>/<instance id>``, and the
platform's own lines about the data to ``<job>/<instance id>/data-log``, as SageMaker writes them.
``stop(key)`` abandons the job (requests in flight are dropped, no further output is stored); a replica that
dies fails the job.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal, Protocol

from sageforge.engine.backends.base import Backend
from sageforge.engine.instance_types import instance_resources
from sageforge.engine.logs import JobLogWriter
from sageforge.engine.workspace import PYTHON_ENVIRONMENTS_VARIABLE
from sageforge.serving.artifacts import stage_files
from sageforge.serving.batch.data_processing import RecordProcessing
from sageforge.serving.batch.instance import Instance, JobPlan, JobProgress
from sageforge.serving.batch.spec import MIB, STRATEGY_VARIABLES, ExecutionParameters, TransformSpec
from sageforge.serving.errors import DeploymentFailed
from sageforge.serving.replica import Replica, ReplicaSpec
from sageforge.store.logs.base import LogStore
from sageforge.store.objects.base import ObjectStore

log = logging.getLogger(__name__)

TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
_PARAMETERS_TIMEOUT = 2.0
_INTERNAL_ERROR = "InternalServerError: An internal error occurred while transforming; the sageforge log has details."


@dataclass(frozen=True)
class TransformOutcome:
    status: Literal["Completed", "Failed", "Stopped"]
    at: float
    failure_reason: str | None = None


class TransformListener(Protocol):
    """What the job's owner hears; calls come from the job's thread."""

    def on_started(self, at: float, parameters: ExecutionParameters) -> None:
        """Every instance serves and the job's settings are settled: records start to flow. ``at`` is when the
        job began to start its instances."""
        ...

    def on_finished(self, outcome: TransformOutcome) -> None:
        """The job ended; always the last call."""
        ...


@dataclass
class _Job:
    spec: TransformSpec
    listener: TransformListener
    directory: Path
    # Set by stop(): replicas abandon their start, the event loop's work is cancelled.
    cancelled: threading.Event = field(default_factory=threading.Event)
    stopped: bool = False
    # Why the job must end now, whatever its objects say (a replica died).
    fatal: str | None = None
    replicas: list[Replica] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self) -> None:
        """Cancel the job's event-loop work, from any thread (at once if it has not begun)."""
        with self.lock:
            self.cancelled.set()
            if self.loop is not None and self.task is not None:
                self.loop.call_soon_threadsafe(self.task.cancel)


class BatchController:
    def __init__(
        self,
        objects: ObjectStore,
        logs: LogStore,
        backend: Backend,
        directory: Path,
        *,
        stop_grace_seconds: float = 10.0,
        python_environments: Path | None = None,
    ) -> None:
        self._objects = objects
        # Given to replicas, so script-mode requirements environments are built once across jobs.
        self._python_environments = python_environments
        self._backend = backend
        self._logs = JobLogWriter(logs, TRANSFORM_LOG_GROUP)
        # What a previous server left here belongs to jobs that are gone.
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self._directory = directory
        self._stop_grace = stop_grace_seconds
        self._jobs: dict[str, _Job] = {}
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def submit(self, spec: TransformSpec, listener: TransformListener) -> None:
        job = _Job(spec, listener, self._directory / f"{spec.name}-{uuid.uuid4().hex[:8]}")
        with self._lock:
            if self._closing.is_set():
                listener.on_finished(TransformOutcome("Failed", time.time(), _INTERNAL_ERROR))
                return
            self._jobs[spec.key] = job
            thread = threading.Thread(target=self._run, args=(job,), name=f"sageforge-transform-{spec.name}")
            self._threads.add(thread)
        thread.start()

    def stop(self, key: str) -> None:
        """Abandon the job: it ends Stopped, storing nothing more."""
        job = self._jobs.get(key)
        if job is not None:
            job.stopped = True
            job.cancel()

    def shutdown(self) -> None:
        """Abandon every job, wait for their replicas to exit, and close the backend and the log writer."""
        self._closing.set()
        with self._lock:
            jobs, threads = list(self._jobs.values()), list(self._threads)
        for job in jobs:
            job.cancel()
        for thread in threads:
            thread.join()
        self._backend.close()
        self._logs.close()

    def replica_count(self) -> int:
        """Replica processes of every job still running (those stopping included)."""
        with self._lock:
            return sum(replica.running for job in self._jobs.values() for replica in job.replicas)

    # --- one job ------------------------------------------------------------------------------------------

    def _run(self, job: _Job) -> None:
        outcome = TransformOutcome("Failed", time.time(), _INTERNAL_ERROR)
        try:
            outcome = self._transform(job)
        except Exception:
            log.exception("transform job %s failed unexpectedly", job.spec.name)
        finally:
            self._stop_replicas(job)
            shutil.rmtree(job.directory, ignore_errors=True)
            with self._lock:
                self._jobs.pop(job.spec.key, None)
                self._threads.discard(threading.current_thread())
            self._logs.flush()
            job.listener.on_finished(outcome)

    def _transform(self, job: _Job) -> TransformOutcome:
        spec = job.spec
        # TransformStartTime is when the job starts on its instances (SageMaker bills from it), model staging
        # and container start included.
        launched = time.time()
        try:
            processing = (
                RecordProcessing.of(spec.data_processing, spec.content_type, spec.split_type == "Line")
                if spec.data_processing.active
                else None
            )
            stage_files(self._objects, spec.files, job.directory)
            self._start_replicas(job)
        except (DeploymentFailed, ValueError) as error:
            return self._ended(job, f"ClientError: {error}")
        parameters = spec.settle(_execution_parameters(job.replicas[0]))
        setting = (
            f"[sagemaker logs]: MaxConcurrentTransforms={parameters.max_concurrent_transforms}, "
            f"MaxPayloadInMB={parameters.max_payload_in_mb}, "
            f"BatchStrategy={STRATEGY_VARIABLES[parameters.batch_strategy]}"
        )
        for replica in job.replicas:
            self._data_log(replica, setting)
        job.listener.on_started(launched, parameters)
        progress = JobProgress(deque(spec.inputs))
        plan = JobPlan(spec, parameters, processing)
        try:
            asyncio.run(self._instances(job, plan, progress))
        except asyncio.CancelledError:
            pass
        if progress.failures and not job.stopped and job.fatal is None:
            more = len(progress.failures) - 1
            return self._ended(
                job, f"ClientError: {progress.failures[0]}" + (f" ({more} more objects failed.)" if more else "")
            )
        return self._ended(job, None)

    async def _instances(self, job: _Job, plan: JobPlan, progress: JobProgress) -> None:
        with job.lock:
            job.loop, job.task = asyncio.get_running_loop(), asyncio.current_task()
            if job.cancelled.is_set():
                return
        output_dir = job.directory / "output"
        output_dir.mkdir()
        await asyncio.gather(
            *(
                Instance(plan, replica, self._objects, progress, output_dir, partial(self._data_log, replica)).run()
                for replica in job.replicas
            )
        )

    def _ended(self, job: _Job, reason: str | None) -> TransformOutcome:
        at = time.time()
        if job.stopped:
            return TransformOutcome("Stopped", at)
        if self._closing.is_set():
            return TransformOutcome(
                "Failed", at, "InternalServerError: The sageforge server shut down while this job ran."
            )
        reason = job.fatal or reason
        if reason is not None:
            return TransformOutcome("Failed", at, reason)
        return TransformOutcome("Completed", at)

    # --- replicas -------------------------------------------------------------------------------------------

    def _start_replicas(self, job: _Job) -> None:
        """Start every instance at once; if any fails, the others are stopped (by ``_run``) and the first
        failure is raised."""
        spec = job.spec
        environment = {**_container_environment(spec), "SAGEMAKER_BASE_DIR": str(job.directory)}
        if self._python_environments is not None:
            environment[PYTHON_ENVIRONMENTS_VARIABLE] = str(self._python_environments)
        replicas = [
            Replica(
                ReplicaSpec(
                    endpoint=spec.name,
                    variant=spec.name,  # the log stream is "<variant>/<instance id>", as a transform job's is
                    image=spec.image,
                    command=spec.command,
                    environment=environment,
                    directory=job.directory,
                    resources=instance_resources(spec.instance_type),
                    startup_timeout=spec.startup_timeout,
                    unhealthy_message=(
                        "The model container did not pass the ping health check. Please check CloudWatch logs for "
                        "this transform job."
                    ),
                ),
                self._backend,
                self._logs,
                on_exit=partial(self._on_replica_exit, job),
            )
            for _ in range(spec.instance_count)
        ]
        with self._lock:
            job.replicas = replicas
        for replica in replicas:
            self._logs.open_stream(f"{replica.log_stream}/data-log")
        with ThreadPoolExecutor(max_workers=len(replicas)) as pool:
            starts = [pool.submit(replica.start, job.cancelled) for replica in replicas]
        for future in starts:
            error = future.exception()
            if error is not None:
                raise error

    def _stop_replicas(self, job: _Job) -> None:
        for replica in job.replicas:
            replica.stop(self._stop_grace)
        for replica in job.replicas:
            replica.wait_closed(self._stop_grace + 5)

    def _on_replica_exit(self, job: _Job, replica: Replica, code: int) -> None:
        job.fatal = (
            f"ClientError: The model container of instance {replica.instance_id} exited with code {code} while the "
            "job was transforming. Please check CloudWatch logs for this transform job."
        )
        job.cancel()

    def _data_log(self, replica: Replica, line: str) -> None:
        self._logs.write(f"{replica.log_stream}/data-log", line, time.time())


def _container_environment(spec: TransformSpec) -> dict[str, str]:
    """The container's variables and the batch ones; the three settings only when the job gives them, as
    SageMaker passes them (the container's /execution-parameters answer decides the others)."""
    environment = {**spec.environment, "SAGEMAKER_BATCH": "true"}
    if spec.max_payload_in_mb is not None:
        environment["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(spec.max_payload_in_mb)
        if spec.max_payload_in_mb:
            # The built-in containers' own request limit (sageforge's runtime reads it too).
            environment["MAX_CONTENT_LENGTH"] = str(spec.max_payload_in_mb * MIB)
    if spec.batch_strategy is not None:
        environment["SAGEMAKER_BATCH_STRATEGY"] = STRATEGY_VARIABLES[spec.batch_strategy]
    if spec.max_concurrent_transforms:
        environment["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(spec.max_concurrent_transforms)
    return environment


def _execution_parameters(replica: Replica) -> Mapping[str, object]:
    """The container's answer to ``GET /execution-parameters``; empty when it has none."""
    connection = http.client.HTTPConnection(replica.address, replica.port, timeout=_PARAMETERS_TIMEOUT)
    try:
        connection.request("GET", "/execution-parameters")
        response = connection.getresponse()
        answer = json.loads(response.read()) if response.status == 200 else {}
    except (OSError, ValueError):
        return {}
    finally:
        connection.close()
    return answer if isinstance(answer, dict) else {}
