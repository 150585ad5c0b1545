"""The training-job manager: the rules of CreateTrainingJob/StopTrainingJob, the record, and the bridge
from engine events to the job's status machine.

What a job runs follows from its image: a built-in's algorithm module, script mode's toolkit for a framework
image (``script_mode.py``), or the image itself on the engine's container backend; a job that cannot run here
fails at once with a FailureReason saying why.

Requests are stored as given (already validated against the botocore shape) and echoed by
DescribeTrainingJob; the state the engine drives is kept beside them. An in-process caller that launches a
job (a tuning job) can watch it through a ``JobObserver``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Protocol

from sageforge.algorithms import registry
from sageforge.aws.errors import ResourceInUse, ValidationException
from sageforge.engine.backends.base import Backend
from sageforge.engine.status import LAUNCHING_MESSAGE, STOPPING_MESSAGE, SecondaryStatus
from sageforge.engine.training import TrainingEngine, TrainingOutcome
from sageforge.engine.workload import ChannelSpec, MetricDefinition, S3Location, TrainingWorkload
from sageforge.services.sagemaker.arns import resource_arn
from sageforge.services.sagemaker.training import entities, script_mode
from sageforge.store.metadata.records import NoSuchRecord, Record, RecordExists, RecordQuery, RecordStore

log = logging.getLogger(__name__)

KIND = "TrainingJob"
_RESTART_REASON = (
    "InternalServerError: The sageforge server stopped while this job was running, and the job's processes "
    "ended with it. Start a new training job."
)
_METRIC_FLUSH_SECONDS = 1.0
_SHUTDOWN_REASON = "InternalServerError: The sageforge server shut down while this job was running."


class JobObserver(Protocol):
    """What an in-process caller sees of a job it launched. Calls come from engine threads."""

    def on_metric(self, name: str, value: float, at: float) -> None:
        """A metric definition matched a log line: every observation, in order, as it is scraped."""
        ...

    def on_finished(self, record: Record) -> None:
        """The job ended; ``record`` is its final record. Always the last call."""
        ...


class TrainingJobManager:
    def __init__(self, records: RecordStore, engine: TrainingEngine, backend: Backend) -> None:
        self._records = records
        self._engine = engine
        self._backend = backend
        self._shutting_down = threading.Event()

    # --- operations -------------------------------------------------------------------------------------------

    def create(
        self,
        account: str,
        region: str,
        request: dict[str, Any],
        *,
        observer: JobObserver | None = None,
        tuning_job_arn: str | None = None,
    ) -> str:
        """Create and start the job. A tuning job passes its ARN, which the record keeps (DescribeTrainingJob's
        TuningJobArn), and may watch the job with ``observer``."""
        name = request["TrainingJobName"]
        algorithm = request.get("AlgorithmSpecification")
        if not algorithm or not (algorithm.get("TrainingImage") or algorithm.get("AlgorithmName")):
            raise ValidationException("AlgorithmSpecification.TrainingImage or AlgorithmName is required.")
        if request.get("ResourceConfig", {}).get("InstanceCount", 0) < 1:
            raise ValidationException("ResourceConfig.InstanceCount must be at least 1.")
        if "StoppingCondition" not in request:
            raise ValidationException("StoppingCondition is required.")
        # A channel without an InputMode takes the job's TrainingInputMode, as in SageMaker.
        default_mode = algorithm.get("TrainingInputMode", "File")
        channels = [_channel(channel, default_mode) for channel in request.get("InputDataConfig", [])]
        names = [channel.name for channel in channels]
        if len(set(names)) != len(names):
            raise ValidationException("Channel names must be unique within InputDataConfig.")
        output = _s3_location(request["OutputDataConfig"]["S3OutputPath"], "OutputDataConfig.S3OutputPath")
        checkpoint_uri = request.get("CheckpointConfig", {}).get("S3Uri")
        checkpoint = _s3_location(checkpoint_uri, "CheckpointConfig.S3Uri") if checkpoint_uri else None
        image = algorithm.get("TrainingImage") or algorithm["AlgorithmName"]
        hyperparameters = request.get("HyperParameters", {})
        framework = script_mode.training_framework(image, hyperparameters)
        code = script_mode.source_code(hyperparameters) if framework is not None else None
        resolved = registry.resolve(image) if framework is None else None
        if resolved is not None:
            # Built-ins register their metric definitions on the job, as SageMaker does; a tuning job's trial
            # keeps the "ObjectiveMetric" definition its tuning job appends for an objective not registered.
            definitions = [d.to_api() for d in resolved.algorithm.metric_definitions]
            if tuning_job_arn is not None:
                registered = {d["Name"] for d in definitions}
                definitions += [d for d in algorithm.get("MetricDefinitions", []) if d["Name"] not in registered]
            request = {**request, "AlgorithmSpecification": {**algorithm, "MetricDefinitions": definitions}}
        arn = resource_arn(region, account, "training-job", name)
        now = time.time()
        body = entities.new_job_body(request, now, LAUNCHING_MESSAGE)
        if tuning_job_arn is not None:
            body["state"]["TuningJobArn"] = tuning_job_arn
        try:
            self._records.create(KIND, account, region, name, arn, entities.TrainingJobStatus.IN_PROGRESS, body)
        except RecordExists as exc:
            raise ResourceInUse(
                "Training job names must be unique within an AWS account and region, and a training job with "
                f"this name already exists ({resource_arn(region, account, 'training-job', name)})"
            ) from exc
        if request.get("Tags"):
            self._records.add_tags(arn, {t["Key"]: t["Value"] for t in request["Tags"]})
        listener = _JobListener(self, arn, observer)
        environment = dict(request.get("Environment", {}))
        failure: str | None = None
        command: tuple[str, ...] = ()
        runs_image = False
        if framework is not None:
            command = script_mode.TOOLKIT_COMMAND
            failure = script_mode.missing_framework_reason(image, framework)
        elif resolved is not None:
            command = (sys.executable, "-m", resolved.algorithm.train_module)
            environment["SAGEFORGE_ALGORITHM_VERSION"] = resolved.version
        elif self._engine.runs_images():
            # Bring your own container: the image itself, run as SageMaker runs it.
            command, runs_image = ("train",), True
        else:
            failure = (
                f"ClientError: The image '{image}' is neither a built-in algorithm nor a framework image that "
                "sageforge knows, and no container engine is available to run it (no Docker engine answers "
                "`docker info` on the server's machine)."
            )
        if failure is not None:
            listener.on_finished(TrainingOutcome.failed(failure, at=now))
            return arn
        resources = request["ResourceConfig"]
        workload = TrainingWorkload(
            job_name=name,
            job_arn=arn,
            region=region,
            instance_type=resources["InstanceType"],
            instance_count=resources.get("InstanceCount", 1),
            command=command,
            output=output,
            environment=environment,
            hyperparameters=hyperparameters,
            channels=tuple(channels),
            checkpoint=checkpoint,
            max_runtime_seconds=float(request["StoppingCondition"].get("MaxRuntimeInSeconds", 86400)),
            metric_definitions=tuple(
                MetricDefinition(d["Name"], d["Regex"])
                for d in request["AlgorithmSpecification"].get("MetricDefinitions", [])
            ),
            role_arn=request["RoleArn"],
            image=image,
            source_code=code,
            runs_image=runs_image,
        )
        self._engine.submit(workload, listener)
        return arn

    def describe(self, account: str, region: str, name: str) -> Record:
        try:
            return self._records.get(KIND, account, region, name)
        except NoSuchRecord as exc:
            raise ValidationException("Requested resource not found.") from exc

    def list(self, query: RecordQuery) -> tuple[list[Record], int]:
        return self._records.query(query)

    def stop(self, account: str, region: str, name: str) -> None:
        record = self.describe(account, region, name)
        if not entities.can_advance(record.body, SecondaryStatus.STOPPING):
            raise ValidationException(
                f"The request was rejected because the training job is in status {record.status}."
            )
        self._transition(record.arn, SecondaryStatus.STOPPING, STOPPING_MESSAGE, time.time())
        self._engine.stop(name)

    def recover(self) -> None:
        """Jobs a previous server left running have no processes any more: they end Failed with a reason."""
        for record in self._records.with_status(KIND, entities.ACTIVE_STATUSES):
            log.warning("training job %s was running when the server stopped; marking it Failed", record.name)
            self._finish(record.arn, TrainingOutcome.failed(_RESTART_REASON, at=time.time()))

    def shutdown(self) -> None:
        self._shutting_down.set()
        self._engine.shutdown()
        self._backend.close()

    # --- engine events ------------------------------------------------------------------------------------------

    def _transition(self, arn: str, to: SecondaryStatus, message: str, at: float) -> None:
        def change(record: Record) -> tuple[str, dict[str, Any]]:
            if not entities.can_advance(record.body, to):
                return record.status, record.body
            return entities.advance(record.body, to, message, at)

        self._records.update(arn, change)

    def _record_metrics(self, arn: str, metrics: dict[str, tuple[float, float]]) -> None:
        """Merge the latest (value, time) of each metric into the record's FinalMetrics."""

        def change(record: Record) -> tuple[str, dict[str, Any]]:
            state = {**record.body["state"]}
            latest = {name: {"Value": value, "Timestamp": at} for name, (value, at) in metrics.items()}
            state["FinalMetrics"] = {**state["FinalMetrics"], **latest}
            return record.status, {**record.body, "state": state}

        self._records.update(arn, change)

    def _finish(self, arn: str, outcome: TrainingOutcome) -> Record:
        ending = SecondaryStatus(outcome.secondary_status)
        reason = outcome.failure_reason
        if self._shutting_down.is_set() and ending is not SecondaryStatus.COMPLETED:
            ending, reason = SecondaryStatus.FAILED, _SHUTDOWN_REASON

        def change(record: Record) -> tuple[str, dict[str, Any]]:
            if not entities.can_advance(record.body, ending):
                return record.status, record.body
            status, body = entities.advance(record.body, ending, outcome.message, outcome.at)
            state = dict(body["state"])
            if reason:
                state["FailureReason"] = reason[:1024]
            if outcome.model_artifact:
                state["S3ModelArtifacts"] = outcome.model_artifact
            if outcome.training_start is not None:
                state["TrainingStartTime"] = outcome.training_start
            state["TrainingEndTime"] = outcome.at
            return status, {**body, "state": state}

        return self._records.update(arn, change)


class _JobListener:
    """Receives one job's engine events and writes them to its record.

    Metric lines can arrive many times a second; their latest values reach the record at most once per
    ``_METRIC_FLUSH_SECONDS`` while the job runs, and all of them when it ends. An observer sees every one.
    """

    def __init__(self, manager: TrainingJobManager, arn: str, observer: JobObserver | None) -> None:
        self._manager = manager
        self._arn = arn
        self._observer = observer
        self._pending: dict[str, tuple[float, float]] = {}
        self._flushed_at = 0.0

    def on_status(self, secondary_status: str, message: str, at: float) -> None:
        self._manager._transition(self._arn, SecondaryStatus(secondary_status), message, at)

    def on_metric(self, name: str, value: float, at: float) -> None:
        if self._observer is not None:
            self._observer.on_metric(name, value, at)
        self._pending[name] = (value, at)
        if at - self._flushed_at >= _METRIC_FLUSH_SECONDS:
            self._flush()

    def on_finished(self, outcome: TrainingOutcome) -> None:
        self._flush()
        record = self._manager._finish(self._arn, outcome)
        if self._observer is not None:
            self._observer.on_finished(record)

    def _flush(self) -> None:
        if self._pending:
            self._manager._record_metrics(self._arn, self._pending)
            self._pending = {}
        self._flushed_at = time.time()


def _s3_location(uri: str, member: str) -> S3Location:
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise ValidationException(f"{member} '{uri}' is not a valid S3 URI; it must look like s3://bucket/prefix.")
    return S3Location.parse(uri)


def _channel(channel: dict[str, Any], default_mode: str) -> ChannelSpec:
    source = channel.get("DataSource", {}).get("S3DataSource")
    if source is None:
        raise ValidationException(
            f"Channel '{channel['ChannelName']}' must have DataSource.S3DataSource; other data sources are not supported."
        )
    return ChannelSpec(
        name=channel["ChannelName"],
        uri=_s3_location(source["S3Uri"], f"InputDataConfig channel '{channel['ChannelName']}' S3Uri"),
        data_type=source["S3DataType"],
        distribution=source.get("S3DataDistributionType", "FullyReplicated"),
        compression=channel.get("CompressionType", "None"),
        content_type=channel.get("ContentType"),
        # File, Pipe or FastFile (botocore's enum checks that); FastFile is staged as File.
        input_mode=channel.get("InputMode", default_mode),
        record_wrapper=channel.get("RecordWrapperType", "None"),
    )
