"""One training job from submission to outcome, on the job's own thread.

Phases: wait for CPUs (Starting) -> lay out the instance directories and plan the channels (Starting) -> stage
data and checkpoints (Downloading) -> run every instance at once (Training) -> upload (Uploading) -> outcome.
Pipe channels are not staged: each instance's FIFOs are fed while it runs and removed when it exits.
A stop or MaxRuntimeInSeconds interrupts whichever phase is under way; instances get SIGTERM and, after the
grace period, SIGKILL, and whatever model they saved is still uploaded. The first instance to exit non-zero
fails the job and the others are terminated.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sageforge.engine.artifacts import download_checkpoints, has_files, upload_checkpoints, upload_tarball
from sageforge.engine.backends.base import Backend, ContainerBackend, InstanceHandle, InstanceSpec, Placement
from sageforge.engine.channels import host_share, plan_channel, stage_channel
from sageforge.engine.errors import EngineError, LaunchError
from sageforge.engine.instance_types import instance_resources
from sageforge.engine.logs import JobLogWriter, training_log_stream
from sageforge.engine.metrics import MetricScraper
from sageforge.engine.pipes import ChannelPipes
from sageforge.engine.scheduler import CpuScheduler
from sageforge.engine.source_code import stage_source_code
from sageforge.engine.status import (
    COMPLETED_MESSAGE,
    DOWNLOADING_MESSAGE,
    FAILED_MESSAGE,
    LAUNCHING_MESSAGE,
    MAX_RUNTIME_MESSAGE,
    PREPARING_MESSAGE,
    STOPPED_MESSAGE,
    STOPPING_MESSAGE,
    TRAINING_MESSAGE,
    UPLOADING_MESSAGE,
    JobStatus,
    SecondaryStatus,
    TrainingListener,
    TrainingOutcome,
)
from sageforge.engine.transfer import TransferInterrupted
from sageforge.engine.workload import TrainingWorkload
from sageforge.engine.workspace import PYTHON_ENVIRONMENTS_VARIABLE, InstanceWorkspace
from sageforge.store.logs.base import LogStore
from sageforge.store.objects.base import ObjectStore, ObjectStoreError

_log = logging.getLogger(__name__)

# Taken from the server's environment; nothing else of it reaches an instance.
_INHERITED_VARIABLES = ("PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
_FAILURE_REASON_CHARS = 1024
INTERNAL_FAILURE = "InternalServerError: We encountered an internal error. Please try again."


@dataclass(frozen=True)
class RunContext:
    """What every run of one engine shares."""

    objects: ObjectStore
    logs: LogStore
    backend: Backend
    scheduler: CpuScheduler
    endpoint_url: str
    stop_grace_seconds: float
    log_flush_interval: float
    # Script mode's requirements environments, cached across jobs (sageforge.frameworks.training.requirements).
    python_environments: Path
    # Runs the workloads that run their image (``runs_image``); None where none is configured.
    container_backend: ContainerBackend | None = None


@dataclass(frozen=True)
class _Exited:
    index: int
    code: int
    failure: str | None  # the backend's reason, when it ended the instance (``InstanceHandle.failure``)


@dataclass(frozen=True)
class _PipeFailed:
    """A Pipe channel could not be streamed to an instance; fails the job like a failed instance."""

    reason: str


_INTERRUPT = object()  # queued by ``interrupt`` to wake the training loop


class _Stopped(Exception):
    """Unwinds preparation when an interrupt has been acted on."""


class TrainingRun:
    def __init__(
        self, workload: TrainingWorkload, listener: TrainingListener, context: RunContext, directory: Path
    ) -> None:
        self.workload = workload
        self._listener = listener
        self._context = context
        self._directory = directory
        self._lock = threading.Lock()
        self._stop_reason: SecondaryStatus | None = None
        self._grace_seconds = context.stop_grace_seconds
        self._interrupted = threading.Event()
        self._events: queue.Queue[_Exited | _PipeFailed | object] = queue.Queue()
        self._stopping_reported = False
        self._started: float | None = None
        # Built here so that an invalid regex is refused by ``submit`` rather than failing the job later.
        self._scraper = MetricScraper(workload.metric_definitions)

    def interrupt(self, reason: SecondaryStatus, grace_seconds: float | None = None) -> None:
        """Stop the job (``Stopped`` or ``MaxRuntimeExceeded``); the first reason given sticks."""
        with self._lock:
            shortened = grace_seconds is not None and grace_seconds < self._grace_seconds
            if grace_seconds is not None:
                self._grace_seconds = min(self._grace_seconds, grace_seconds)
            if self._stop_reason is not None and not shortened:
                return
            self._stop_reason = self._stop_reason or reason
        self._interrupted.set()
        self._context.scheduler.wake()
        self._events.put(_INTERRUPT)

    def execute(self) -> TrainingOutcome:
        """Run the job to its end; never raises (an unexpected error is an internal failure)."""
        try:
            return self._execute()
        except Exception:
            _log.exception("training job %s failed inside the engine", self.workload.job_name)
            return self._outcome(SecondaryStatus.FAILED, failure_reason=INTERNAL_FAILURE)

    def report_finished(self, outcome: TrainingOutcome) -> None:
        self._notify(self._listener.on_finished, outcome)

    def _execute(self) -> TrainingOutcome:
        workload = self.workload
        resources = instance_resources(workload.instance_type)
        scheduler = self._context.scheduler
        self._status(SecondaryStatus.STARTING, LAUNCHING_MESSAGE)
        cpus = scheduler.request([resources] * workload.instance_count)
        if not scheduler.acquire(workload.job_name, cpus, cancelled=self._interrupted):
            self._report_stopping()
            return self._outcome(self._stop_status())
        self._started = time.time()
        deadline = threading.Timer(
            workload.max_runtime_seconds, self.interrupt, (SecondaryStatus.MAX_RUNTIME_EXCEEDED,)
        )
        deadline.daemon = True
        deadline.start()
        try:
            try:
                workspaces, pipes = self._prepare()
            except _Stopped:
                self._report_stopping()
                return self._outcome(self._stop_status())
            except EngineError as error:
                return self._outcome(SecondaryStatus.FAILED, failure_reason=str(error))
            failure = self._train(workspaces, pipes)
        finally:
            deadline.cancel()
            scheduler.release(workload.job_name)
        return self._conclude(workspaces, failure)

    def _prepare(self) -> tuple[list[InstanceWorkspace], list[ChannelPipes]]:
        workload, objects = self.workload, self._context.objects
        self._status(SecondaryStatus.STARTING, PREPARING_MESSAGE)
        workspaces = [InstanceWorkspace.create(self._directory / host, workload, host) for host in workload.hosts]
        plans = [
            plan_channel(objects, channel, region=workload.region, role_arn=workload.role_arn)
            for channel in workload.channels
        ]
        self._check_interrupt()
        self._status(SecondaryStatus.DOWNLOADING, DOWNLOADING_MESSAGE)
        pipes: list[ChannelPipes] = []
        try:
            if workload.source_code is not None:
                folders = [workspace.code_dir for workspace in workspaces]
                stage_source_code(objects, workload.source_code, folders, self._directory, stop=self._interrupted)
            for index, workspace in enumerate(workspaces):
                streams = []
                for channel, plan in zip(workload.channels, plans, strict=True):
                    share = host_share(plan, channel, index, len(workspaces))
                    if channel.is_pipe:
                        streams.append((channel, share))
                    else:
                        stage_channel(objects, share, workspace.channel_dir(channel.name), stop=self._interrupted)
                pipes.append(ChannelPipes(objects, workspace.data_dir, streams, self._pipe_failed))
                if workload.checkpoint is not None:
                    download_checkpoints(
                        objects, workload.checkpoint, workspace.checkpoints_dir, stop=self._interrupted
                    )
        except TransferInterrupted:
            raise _Stopped from None
        self._check_interrupt()
        return workspaces, pipes

    def _pipe_failed(self, reason: str) -> None:
        self._events.put(_PipeFailed(reason))

    def _train(self, workspaces: Sequence[InstanceWorkspace], pipes: Sequence[ChannelPipes]) -> str | None:
        """Run the instances to their end; the failure reason if the job failed."""
        workload = self.workload
        # ``TrainingEngine.submit`` takes an image-running workload only when there is a container backend.
        backend = self._context.container_backend if workload.runs_image else self._context.backend
        assert backend is not None
        try:
            placement = backend.place(workload.job_name, workload.hosts, instance_resources(workload.instance_type))
        except LaunchError as error:  # a cluster that cannot fit the job
            for instance_pipes in pipes:
                instance_pipes.close()
            return f"CapacityError: Unable to provision requested ML compute capacity ({error})."
        writer = JobLogWriter(self._context.logs, flush_interval=self._context.log_flush_interval)
        handles: list[InstanceHandle] = []
        pumps: list[threading.Thread] = []
        failure: str | None = None
        try:
            streams: list[str] = []
            for host, workspace, instance_pipes in zip(workload.hosts, workspaces, pipes, strict=True):
                started = time.time()
                instance_pipes.start(f"sageforge-{workload.job_name}-{host}-pipe")
                try:
                    handles.append(backend.launch(self._instance_spec(host, workspace, placement)))
                except LaunchError as error:
                    failure = f"AlgorithmError: {error}"
                    break
                streams.append(training_log_stream(workload.job_name, host, started))
                writer.open_stream(streams[-1])
            if failure is None:
                self._status(SecondaryStatus.TRAINING, TRAINING_MESSAGE)
            for index, handle in enumerate(handles):
                pump = threading.Thread(
                    target=self._pump,
                    args=(index, handle, streams[index], writer, pipes[index]),
                    name=f"sageforge-{workload.job_name}-{workload.hosts[index]}",
                    daemon=True,
                )
                pump.start()
                pumps.append(pump)
            failure = self._supervise(handles, workspaces, failure)
        except BaseException:
            # An error in the engine itself must not leave instances running with nobody watching them.
            self._terminate(handles)
            raise
        finally:
            for pump in pumps:
                pump.join()
            # Again for the instances that never launched (or all of them, after an engine error).
            for instance_pipes in pipes:
                instance_pipes.close()
            writer.close()
        return failure

    def _supervise(
        self, handles: Sequence[InstanceHandle], workspaces: Sequence[InstanceWorkspace], failure: str | None
    ) -> str | None:
        """Wait for every instance to exit, terminating all of them on an interrupt or the first failure."""
        terminating = failure is not None or self._interrupted.is_set()
        if failure is None and terminating:
            self._report_stopping()
        if terminating:
            self._terminate(handles)
        remaining = set(range(len(handles)))
        while remaining:
            event = self._events.get()
            if isinstance(event, _Exited):
                remaining.discard(event.index)
                if event.code != 0 and not terminating:
                    failure = event.failure or self._failure_reason(
                        workspaces[event.index], self.workload.hosts[event.index], event.code
                    )
                    terminating = True
                    self._terminate(handles)
            elif isinstance(event, _PipeFailed):
                if not terminating:
                    failure = event.reason
                    terminating = True
                    self._terminate(handles)
            else:
                if not terminating:
                    terminating = True
                    self._report_stopping()
                # Again on a later interrupt: it may have shortened the grace period.
                self._terminate(handles)
        return failure

    def _terminate(self, handles: Sequence[InstanceHandle]) -> None:
        with self._lock:
            grace = self._grace_seconds
        for handle in handles:
            handle.terminate(grace)

    def _pump(self, index: int, handle: InstanceHandle, stream: str, writer: JobLogWriter, pipes: ChannelPipes) -> None:
        """Carry one instance's output to the log store and the metric scraper, then report its exit."""
        host = self.workload.hosts[index]
        try:
            for line in handle.lines():
                writer.write(stream, line.text, line.at)
                for observation in self._scraper.scrape(line.text, line.at, host):
                    self._notify(self._listener.on_metric, observation.name, observation.value, observation.timestamp)
        finally:
            code = handle.wait()
            pipes.close()
            self._events.put(_Exited(index, code if code is not None else -1, handle.failure))

    def _conclude(self, workspaces: Sequence[InstanceWorkspace], failure: str | None) -> TrainingOutcome:
        workload, objects = self.workload, self._context.objects
        stop_status = self._stop_status() if self._stopping_reported else None
        model_artifact: str | None = None
        try:
            if failure is None:
                # A stopping job uploads within Stopping, which leads only to its end.
                if stop_status is None:
                    self._status(SecondaryStatus.UPLOADING, UPLOADING_MESSAGE)
                model_artifact = self._upload_outputs(workspaces, stopped=stop_status is not None)
            # Checkpoints are kept even for a failed job: they are what a retry resumes from.
            if workload.checkpoint is not None:
                folders = [workspace.checkpoints_dir for workspace in workspaces]
                upload_checkpoints(objects, folders, workload.checkpoint)
        except ObjectStoreError as error:
            reason = f"ClientError: Unable to upload training artifacts ({type(error).__name__}: {error})."
            return self._outcome(SecondaryStatus.FAILED, failure_reason=reason)
        if failure is not None:
            return self._outcome(SecondaryStatus.FAILED, failure_reason=failure)
        return self._outcome(stop_status or SecondaryStatus.COMPLETED, model_artifact=model_artifact)

    def _upload_outputs(self, workspaces: Sequence[InstanceWorkspace], *, stopped: bool) -> str | None:
        """Upload model.tar.gz (always, unless a stopped job saved nothing) and output.tar.gz (if any)."""
        workload, objects = self.workload, self._context.objects
        output = workload.output.join(workload.job_name, "output")
        model_dirs = [workspace.model_dir for workspace in workspaces]
        output_dirs = [workspace.output_data_dir for workspace in workspaces]
        if has_files(output_dirs):
            upload_tarball(objects, output_dirs, output.join("output.tar.gz"), self._directory)
        if stopped and not has_files(model_dirs):
            return None
        model = output.join("model.tar.gz")
        upload_tarball(objects, model_dirs, model, self._directory)
        return model.uri

    def _instance_spec(self, host: str, workspace: InstanceWorkspace, placement: Placement) -> InstanceSpec:
        workload = self.workload
        url = self._context.endpoint_url
        environment = {name: os.environ[name] for name in _INHERITED_VARIABLES if name in os.environ}
        # Python-based training code would otherwise buffer its output and the logs would not be live.
        environment["PYTHONUNBUFFERED"] = "1"
        environment.update(workload.environment)
        environment.update(
            {
                "TRAINING_JOB_NAME": workload.job_name,
                "TRAINING_JOB_ARN": workload.job_arn,
                "SAGEMAKER_BASE_DIR": str(workspace.root),
                "AWS_ENDPOINT_URL": url,
                "AWS_ENDPOINT_URL_S3": url,
                "S3_ENDPOINT_URL": url,
                "AWS_REGION": workload.region,
                "AWS_DEFAULT_REGION": workload.region,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "SAGEFORGE_HOSTS": json.dumps(dict(placement.addresses)),
                "SAGEFORGE_COLLECTIVE_PORT": str(placement.collective_port),
            }
        )
        if not workload.runs_image:
            environment[PYTHON_ENVIRONMENTS_VARIABLE] = str(self._context.python_environments)
        return InstanceSpec(
            job_name=workload.job_name,
            host=host,
            command=workload.command,
            environment=environment,
            directory=workspace.root,
            resources=instance_resources(workload.instance_type),
            image=workload.image,
        )

    def _failure_reason(self, workspace: InstanceWorkspace, host: str, code: int) -> str:
        try:
            with workspace.failure_file.open(encoding="utf-8", errors="replace") as failure_file:
                written = failure_file.read(_FAILURE_REASON_CHARS)
        except OSError:
            written = ""
        if written.strip():
            return written
        return f"AlgorithmError: the training process on {host} exited with exit code {code}; see the job's logs."

    def _check_interrupt(self) -> None:
        if self._interrupted.is_set():
            raise _Stopped

    def _stop_status(self) -> SecondaryStatus:
        with self._lock:
            return self._stop_reason or SecondaryStatus.STOPPED

    def _report_stopping(self) -> None:
        self._stopping_reported = True
        self._status(SecondaryStatus.STOPPING, STOPPING_MESSAGE)

    def _status(self, status: SecondaryStatus, message: str) -> None:
        self._notify(self._listener.on_status, status.value, message, time.time())

    def _outcome(
        self, status: SecondaryStatus, *, failure_reason: str | None = None, model_artifact: str | None = None
    ) -> TrainingOutcome:
        primary, message = _FINAL[status]
        return TrainingOutcome(
            status=primary,
            secondary_status=status,
            message=message,
            at=time.time(),
            failure_reason=failure_reason,
            model_artifact=model_artifact,
            training_start=self._started,
            final_metrics=self._scraper.final_values(),
            metrics=self._scraper.observations(),
        )

    @staticmethod
    def _notify(call: Callable[..., None], *args: Any) -> None:
        try:
            call(*args)
        except Exception:
            # The listener is the caller's code; its bug must not leave the job (and its processes) running.
            _log.exception("training listener %r failed", call)


_FINAL: dict[SecondaryStatus, tuple[JobStatus, str]] = {
    SecondaryStatus.COMPLETED: ("Completed", COMPLETED_MESSAGE),
    SecondaryStatus.FAILED: ("Failed", FAILED_MESSAGE),
    SecondaryStatus.STOPPED: ("Stopped", STOPPED_MESSAGE),
    SecondaryStatus.MAX_RUNTIME_EXCEEDED: ("Stopped", MAX_RUNTIME_MESSAGE),
}
