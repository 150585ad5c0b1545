"""The transform-job manager: the rules of CreateTransformJob and StopTransformJob, the record, and the bridge
from the batch controller's events to the job's status machine.

CreateTransformJob checks what SageMaker checks before a job exists -- a free name, an existing model, the
payload limits, the filters, and input objects to read (listed now, as SageMaker does, so a prefix with nothing
under it is a ValidationException) -- then stores the request as given and hands the batch controller a
``TransformSpec``. A model sageforge cannot run makes a job that fails at once, with the reason.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from sageforge.aws.errors import ResourceInUse, ValidationException
from sageforge.engine.channels import StagedObject
from sageforge.engine.errors import InvalidS3Uri, StagingError
from sageforge.engine.workload import Compression, DataType, S3Location
from sageforge.services.sagemaker.arns import resource_arn
from sageforge.services.sagemaker.containers import InferenceContainer, NotRunnable, model_container
from sageforge.services.sagemaker.models.manager import ModelManager, containers
from sageforge.services.sagemaker.transform import entities
from sageforge.services.sagemaker.transform.entities import TransformJobStatus
from sageforge.serving.batch.controller import BatchController, TransformOutcome
from sageforge.serving.batch.data_processing import RecordProcessing
from sageforge.serving.batch.sources import plan_inputs
from sageforge.serving.batch.spec import (
    DEFAULT_INVOCATION_MAX_RETRIES,
    DEFAULT_INVOCATION_TIMEOUT,
    AssemblyType,
    BatchStrategy,
    DataProcessing,
    ExecutionParameters,
    JoinSource,
    SplitType,
    TransformSpec,
)
from sageforge.store.metadata.records import NoSuchRecord, Record, RecordExists, RecordQuery, RecordStore
from sageforge.store.objects.base import ObjectStore

log = logging.getLogger(__name__)

KIND = "TransformJob"
# SageMaker's limits on MaxPayloadInMB, alone and times MaxConcurrentTransforms (botocore's documentation).
_MAX_PAYLOAD_IN_MB = 100
_RESTART_REASON = (
    "InternalServerError: The sageforge server stopped while this job was running, and the job's containers "
    "ended with it. Start a new transform job."
)


class TransformJobManager:
    def __init__(
        self, records: RecordStore, models: ModelManager, objects: ObjectStore, batch: BatchController
    ) -> None:
        self._records = records
        self._models = models
        self._objects = objects
        self._batch = batch

    # --- operations -------------------------------------------------------------------------------------------

    def create(self, account: str, region: str, request: dict[str, Any]) -> str:
        name = request["TransformJobName"]
        arn = resource_arn(region, account, "transform-job", name)
        taken = ResourceInUse(
            "Transform job names must be unique within an AWS account and region, and a transform job with this "
            f"name already exists ({arn})"
        )
        if self._exists(account, region, name):
            raise taken  # before anything is listed
        model = self._models.describe(account, region, request["ModelName"]).body["request"]
        _check_limits(request)
        data_processing = _data_processing(request)
        source = request["TransformInput"]["DataSource"]["S3DataSource"]
        if source["S3DataType"] not in ("S3Prefix", "ManifestFile"):
            raise ValidationException(
                f"S3DataType {source['S3DataType']} is not supported for transform jobs; use S3Prefix or ManifestFile."
            )
        output = _s3_location(request["TransformOutput"]["S3OutputPath"], "TransformOutput.S3OutputPath")
        try:
            inputs = plan_inputs(
                self._objects,
                _s3_location(source["S3Uri"], "TransformInput.DataSource.S3DataSource.S3Uri"),
                cast(DataType, source["S3DataType"]),
                cast(Compression, request["TransformInput"].get("CompressionType", "None")),
                region=region,
                role_arn=model.get("ExecutionRoleArn"),
            )
        except StagingError as error:
            raise ValidationException(str(error).removeprefix("ClientError: ")) from None
        try:
            self._records.create(
                KIND,
                account,
                region,
                name,
                arn,
                TransformJobStatus.IN_PROGRESS,
                entities.new_job_body(request, time.time()),
            )
        except RecordExists as exc:
            raise taken from exc
        if request.get("Tags"):
            self._records.add_tags(arn, {tag["Key"]: tag["Value"] for tag in request["Tags"]})
        listener = _Listener(self, arn)
        try:
            container = model_container(containers(model))
        except NotRunnable as problem:
            listener.on_finished(TransformOutcome("Failed", time.time(), f"ClientError: {problem}"))
            return arn
        self._batch.submit(_transform_spec(arn, request, container, inputs, output, data_processing), listener)
        return arn

    def describe(self, account: str, region: str, name: str) -> Record:
        try:
            return self._records.get(KIND, account, region, name)
        except NoSuchRecord as exc:
            raise ValidationException(f"Could not find requested job with name {name}") from exc

    def list(self, query: RecordQuery) -> tuple[list[Record], int]:
        return self._records.query(query)

    def stop(self, account: str, region: str, name: str) -> None:
        record = self.describe(account, region, name)
        if record.status == TransformJobStatus.STOPPING:
            return  # asked twice: the first request is under way
        if not entities.can_advance(record.status, TransformJobStatus.STOPPING):
            raise ValidationException(
                f"The request was rejected because the transform job is in status {record.status}."
            )
        self._transition(record.arn, TransformJobStatus.STOPPING, time.time())
        self._batch.stop(record.arn)

    def recover(self) -> None:
        """Jobs a previous server left running have no containers any more: they end Failed with a reason."""
        for record in self._records.with_status(KIND, entities.ACTIVE_STATUSES):
            log.warning("transform job %s was running when the server stopped; marking it Failed", record.name)
            self._finish(record.arn, TransformOutcome("Failed", time.time(), _RESTART_REASON))

    def shutdown(self) -> None:
        self._batch.shutdown()

    # --- batch events -------------------------------------------------------------------------------------------

    def _exists(self, account: str, region: str, name: str) -> bool:
        try:
            self._records.get(KIND, account, region, name)
        except NoSuchRecord:
            return False
        return True

    def _transition(self, arn: str, to: TransformJobStatus, at: float) -> None:
        def change(record: Record) -> tuple[str, dict[str, Any]]:
            if not entities.can_advance(record.status, to):
                return record.status, record.body
            return entities.advance(record.status, record.body, to, at)

        self._records.update(arn, change)

    def _started(self, arn: str, at: float, parameters: ExecutionParameters) -> None:
        def change(record: Record) -> tuple[str, dict[str, Any]]:
            state = {
                **record.body["state"],
                "TransformStartTime": at,
                "ExecutionParameters": {
                    "MaxConcurrentTransforms": parameters.max_concurrent_transforms,
                    "MaxPayloadInMB": parameters.max_payload_in_mb,
                    "BatchStrategy": parameters.batch_strategy,
                },
            }
            return record.status, {**record.body, "state": state}

        self._records.update(arn, change)

    def _finish(self, arn: str, outcome: TransformOutcome) -> None:
        ending = TransformJobStatus(outcome.status)

        def change(record: Record) -> tuple[str, dict[str, Any]]:
            to = ending
            if record.status == TransformJobStatus.STOPPING and to is TransformJobStatus.COMPLETED:
                to = TransformJobStatus.STOPPED  # it finished as the stop came: the stop was asked for first
            if not entities.can_advance(record.status, to):
                return record.status, record.body
            status, body = entities.advance(record.status, record.body, to, outcome.at)
            if outcome.failure_reason:
                body["state"]["FailureReason"] = outcome.failure_reason[:1024]
            return status, body

        self._records.update(arn, change)


class _Listener:
    """One job's batch events, written to its record."""

    def __init__(self, manager: TransformJobManager, arn: str) -> None:
        self._manager = manager
        self._arn = arn

    def on_started(self, at: float, parameters: ExecutionParameters) -> None:
        self._manager._started(self._arn, at, parameters)

    def on_finished(self, outcome: TransformOutcome) -> None:
        self._manager._finish(self._arn, outcome)


def _check_limits(request: dict[str, Any]) -> None:
    payload, concurrency = request.get("MaxPayloadInMB"), request.get("MaxConcurrentTransforms")
    if payload is not None and payload > _MAX_PAYLOAD_IN_MB:
        raise ValidationException(f"MaxPayloadInMB must be at most {_MAX_PAYLOAD_IN_MB}, not {payload}.")
    if payload and concurrency and payload * concurrency > _MAX_PAYLOAD_IN_MB:
        raise ValidationException(
            f"MaxConcurrentTransforms ({concurrency}) times MaxPayloadInMB ({payload}) must be at most "
            f"{_MAX_PAYLOAD_IN_MB}."
        )


def _data_processing(request: dict[str, Any]) -> DataProcessing:
    given = request.get("DataProcessing", {})
    processing = DataProcessing(
        input_filter=given.get("InputFilter") or "$",
        output_filter=given.get("OutputFilter") or "$",
        join_source=cast(JoinSource, given.get("JoinSource", "None")),
    )
    if processing.active:
        transform_input = request["TransformInput"]
        try:
            RecordProcessing.of(
                processing, transform_input.get("ContentType"), transform_input.get("SplitType") == "Line"
            )
        except ValueError as error:
            raise ValidationException(str(error)) from None
    return processing


def _s3_location(uri: str, member: str) -> S3Location:
    try:
        if uri.startswith("s3://"):
            return S3Location.parse(uri)
    except InvalidS3Uri:
        pass
    raise ValidationException(f"{member} '{uri}' is not a valid S3 URI; it must look like s3://bucket/prefix.")


def _transform_spec(
    arn: str,
    request: dict[str, Any],
    container: InferenceContainer,
    inputs: tuple[StagedObject, ...],
    output: S3Location,
    data_processing: DataProcessing,
) -> TransformSpec:
    transform_input, transform_output = request["TransformInput"], request["TransformOutput"]
    resources = request["TransformResources"]
    client = request.get("ModelClientConfig", {})
    return TransformSpec(
        key=arn,
        name=request["TransformJobName"],
        image=container.image,
        command=container.command,
        environment={**container.environment, **request.get("Environment", {})},
        files=container.files,
        instance_type=resources["InstanceType"],
        instance_count=resources["InstanceCount"],
        inputs=inputs,
        output=output,
        content_type=transform_input.get("ContentType"),
        split_type=cast(SplitType, transform_input.get("SplitType", "None")),
        accept=transform_output.get("Accept"),
        assemble_with=cast(AssemblyType, transform_output.get("AssembleWith", "None")),
        data_processing=data_processing,
        batch_strategy=cast(BatchStrategy | None, request.get("BatchStrategy")),
        max_payload_in_mb=request.get("MaxPayloadInMB"),
        max_concurrent_transforms=request.get("MaxConcurrentTransforms"),
        invocation_timeout=float(client.get("InvocationsTimeoutInSeconds", DEFAULT_INVOCATION_TIMEOUT)),
        invocation_max_retries=client.get("InvocationsMaxRetries", DEFAULT_INVOCATION_MAX_RETRIES),
    )
