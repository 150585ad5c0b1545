"""SageMaker training-job operations: translate the wire shapes to the manager and back.

LIMITATIONS (differences from AWS):
- Only built-in algorithm images run; other images fail at once with a FailureReason saying so.
- Only S3 data sources in File mode; VpcConfig, encryption, spot and debugger settings are accepted and
  echoed but have no effect.
- FinalMetricDataList holds the last value of each metric definition seen in the logs.
"""

from __future__ import annotations

import math
from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.specs import service_model
from sageforge.services.sagemaker.listing import list_records, timestamp
from sageforge.services.sagemaker.training.jobs import KIND, TrainingJobManager
from sageforge.store.metadata.records import Record

# Members a CreateTrainingJob request and a DescribeTrainingJob response share are echoed as given.
_model = service_model("sagemaker")
ECHOED = frozenset(_model.operation_model("CreateTrainingJob").input_shape.members) & frozenset(
    _model.operation_model("DescribeTrainingJob").output_shape.members
) - {"TrainingJobName"}


class TrainingHandlers:
    def __init__(self, jobs: TrainingJobManager) -> None:
        self._jobs = jobs

    @operation("CreateTrainingJob")
    def create_training_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._jobs.create(context.account_id, context.region, request)
        return {"TrainingJobArn": arn}

    @operation("DescribeTrainingJob")
    def describe_training_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._jobs.describe(context.account_id, context.region, request["TrainingJobName"])
        return describe_output(record)

    @operation("ListTrainingJobs")
    def list_training_jobs(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        records, next_token = list_records(self._jobs.list, KIND, context, request)
        response: dict[str, Any] = {"TrainingJobSummaries": [summary(record) for record in records]}
        if next_token:
            response["NextToken"] = next_token
        return response

    @operation("StopTrainingJob")
    def stop_training_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._jobs.stop(context.account_id, context.region, request["TrainingJobName"])
        return {}


def describe_output(record: Record) -> dict[str, Any]:
    request, state = record.body["request"], record.body["state"]
    output: dict[str, Any] = {key: request[key] for key in ECHOED if key in request}
    # SageMaker describes an unencrypted output with an empty KmsKeyId, and the SDK's Estimator.attach reads it.
    output["OutputDataConfig"] = {"KmsKeyId": "", **request["OutputDataConfig"]}
    output.update(
        TrainingJobName=record.name,
        TrainingJobArn=record.arn,
        TrainingJobStatus=record.status,
        SecondaryStatus=state["SecondaryStatus"],
        CreationTime=timestamp(record.created_at),
        LastModifiedTime=timestamp(record.updated_at),
        ModelArtifacts={"S3ModelArtifacts": state.get("S3ModelArtifacts") or _artifact_path(record)},
        SecondaryStatusTransitions=[
            {key: timestamp(value) if key.endswith("Time") else value for key, value in transition.items()}
            for transition in state["SecondaryStatusTransitions"]
        ],
    )
    if "FailureReason" in state:
        output["FailureReason"] = state["FailureReason"]
    if "TuningJobArn" in state:
        output["TuningJobArn"] = state["TuningJobArn"]
    if state["FinalMetrics"]:
        output["FinalMetricDataList"] = [
            {"MetricName": name, "Value": metric["Value"], "Timestamp": timestamp(metric["Timestamp"])}
            for name, metric in sorted(state["FinalMetrics"].items())
        ]
    start, end = state.get("TrainingStartTime"), state.get("TrainingEndTime")
    if start is not None:
        output["TrainingStartTime"] = timestamp(start)
    if end is not None:
        output["TrainingEndTime"] = timestamp(end)
    if start is not None and end is not None:
        # Whole seconds, at least one, per instance for billing -- as SageMaker reports them.
        seconds = max(1, math.ceil(end - start))
        output["TrainingTimeInSeconds"] = seconds
        output["BillableTimeInSeconds"] = seconds * request["ResourceConfig"].get("InstanceCount", 1)
    return output


def summary(record: Record) -> dict[str, Any]:
    state = record.body["state"]
    item: dict[str, Any] = {
        "TrainingJobName": record.name,
        "TrainingJobArn": record.arn,
        "CreationTime": timestamp(record.created_at),
        "LastModifiedTime": timestamp(record.updated_at),
        "TrainingJobStatus": record.status,
        "SecondaryStatus": state["SecondaryStatus"],
    }
    if "TrainingEndTime" in state:
        item["TrainingEndTime"] = timestamp(state["TrainingEndTime"])
    return item


def _artifact_path(record: Record) -> str:
    return f"{record.body['request']['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{record.name}/output/model.tar.gz"
