"""SageMaker batch transform operations: CreateTransformJob, DescribeTransformJob, ListTransformJobs and
StopTransformJob (tags through ``services.sagemaker.tags``).

LIMITATIONS (differences from AWS):
- Only models whose one container is a built-in algorithm image with an inference module run (as on
  endpoints); other images, and inference pipelines, make a job that fails at once with a FailureReason.
- S3Prefix and ManifestFile inputs only (AugmentedManifestFile is refused); DataCaptureConfig, KMS keys,
  TransformAmiVersion and ExperimentConfig are stored and echoed but have no effect. TFRecord CRCs are not
  checked. RecordIO records keep their padding under SingleRecord (SageMaker drops it). MaxPayloadInMB 0 sends
  each object whole with a Content-Length (no chunked encoding).
- With DataProcessing, a JSON record joined with a CSV answer gets the answer's fields as strings.
- The instances of one job share its objects as each becomes free; each object is transformed by one instance.
- FailureReason names the first object that failed and what the container said; SageMaker says
  "ClientError: See job logs for more information" and keeps the details in the data log, which sageforge
  writes too (stream ``<job>/<instance id>/data-log``).
- After a server restart, a job that was InProgress or Stopping is Failed with a reason.
"""

from __future__ import annotations

from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.specs import service_model
from sageforge.services.sagemaker.listing import list_records, timestamp
from sageforge.services.sagemaker.transform.jobs import KIND, TransformJobManager
from sageforge.serving.batch.spec import (
    DEFAULT_BATCH_STRATEGY,
    DEFAULT_MAX_CONCURRENT_TRANSFORMS,
    DEFAULT_MAX_PAYLOAD_IN_MB,
)
from sageforge.store.metadata.records import Record

# Members a CreateTransformJob request and a DescribeTransformJob response share are echoed as given.
_model = service_model("sagemaker")
ECHOED = frozenset(_model.operation_model("CreateTransformJob").input_shape.members) & frozenset(
    _model.operation_model("DescribeTransformJob").output_shape.members
) - {"TransformJobName"}
# Settings a job settles when it starts, and what DescribeTransformJob says before then.
_SETTLED = {
    "MaxConcurrentTransforms": DEFAULT_MAX_CONCURRENT_TRANSFORMS,
    "MaxPayloadInMB": DEFAULT_MAX_PAYLOAD_IN_MB,
    "BatchStrategy": DEFAULT_BATCH_STRATEGY,
}


class TransformHandlers:
    def __init__(self, jobs: TransformJobManager) -> None:
        self._jobs = jobs

    @operation("CreateTransformJob")
    def create_transform_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {"TransformJobArn": self._jobs.create(context.account_id, context.region, request)}

    @operation("DescribeTransformJob")
    def describe_transform_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return describe_output(self._jobs.describe(context.account_id, context.region, request["TransformJobName"]))

    @operation("ListTransformJobs")
    def list_transform_jobs(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        records, next_token = list_records(self._jobs.list, KIND, context, request)
        response: dict[str, Any] = {"TransformJobSummaries": [summary(record) for record in records]}
        if next_token:
            response["NextToken"] = next_token
        return response

    @operation("StopTransformJob")
    def stop_transform_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._jobs.stop(context.account_id, context.region, request["TransformJobName"])
        return {}


def describe_output(record: Record) -> dict[str, Any]:
    request, state = record.body["request"], record.body["state"]
    output: dict[str, Any] = {key: request[key] for key in ECHOED if key in request}
    settled = state.get("ExecutionParameters", {})
    for key, default in _SETTLED.items():
        # A MaxConcurrentTransforms of 0 asks the container: describe what it answered.
        output[key] = settled[key] if key in settled else request.get(key) or default
    # The defaults SageMaker documents, shown as it shows them.
    output["Environment"] = request.get("Environment", {})
    output["TransformInput"] = {"CompressionType": "None", "SplitType": "None", **request["TransformInput"]}
    output["TransformOutput"] = {"AssembleWith": "None", **request["TransformOutput"]}
    output["DataProcessing"] = {
        "InputFilter": "$",
        "OutputFilter": "$",
        "JoinSource": "None",
        **request.get("DataProcessing", {}),
    }
    output.update(
        TransformJobName=record.name,
        TransformJobArn=record.arn,
        TransformJobStatus=record.status,
        CreationTime=timestamp(record.created_at),
    )
    if "FailureReason" in state:
        output["FailureReason"] = state["FailureReason"]
    if "TransformStartTime" in state:
        output["TransformStartTime"] = timestamp(state["TransformStartTime"])
    if "TransformEndTime" in state:
        output["TransformEndTime"] = timestamp(state["TransformEndTime"])
    return output


def summary(record: Record) -> dict[str, Any]:
    state = record.body["state"]
    item: dict[str, Any] = {
        "TransformJobName": record.name,
        "TransformJobArn": record.arn,
        "CreationTime": timestamp(record.created_at),
        "LastModifiedTime": timestamp(record.updated_at),
        "TransformJobStatus": record.status,
    }
    if "TransformEndTime" in state:
        item["TransformEndTime"] = timestamp(state["TransformEndTime"])
    if "FailureReason" in state:
        item["FailureReason"] = state["FailureReason"]
    return item
