"""SageMaker model operations: CreateModel, DescribeModel, ListModels, DeleteModel.

LIMITATIONS (differences from AWS):
- Images are not pulled or checked at CreateModel: any image is accepted, and an endpoint that deploys a
  model whose image is neither a built-in algorithm nor a framework container sageforge can serve fails with a
  FailureReason saying so.
- InferenceExecutionConfig Mode Direct is refused (ValidationException); Serial pipelines are served.
- ModelPackageName, VpcConfig, EnableNetworkIsolation and ExecutionRoleArn are stored and echoed but have no
  effect; DeploymentRecommendation is never computed.
"""

from __future__ import annotations

from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.specs import service_model
from sageforge.services.sagemaker.listing import list_records, timestamp
from sageforge.services.sagemaker.models.manager import KIND, ModelManager
from sageforge.store.metadata.records import Record, RecordStore

# Members a CreateModel request and a DescribeModel response share are echoed as given.
_model = service_model("sagemaker")
ECHOED = frozenset(_model.operation_model("CreateModel").input_shape.members) & frozenset(
    _model.operation_model("DescribeModel").output_shape.members
) - {"ModelName"}


class ModelHandlers:
    def __init__(self, models: ModelManager, records: RecordStore) -> None:
        self._models = models
        self._records = records

    @operation("CreateModel")
    def create_model(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {"ModelArn": self._models.create(context.account_id, context.region, request)}

    @operation("DescribeModel")
    def describe_model(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._models.describe(context.account_id, context.region, request["ModelName"])
        return describe_output(record)

    @operation("ListModels")
    def list_models(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        records, next_token = list_records(self._records.query, KIND, context, request)
        response: dict[str, Any] = {
            "Models": [
                {"ModelName": r.name, "ModelArn": r.arn, "CreationTime": timestamp(r.created_at)} for r in records
            ]
        }
        if next_token:
            response["NextToken"] = next_token
        return response

    @operation("DeleteModel")
    def delete_model(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._models.delete(context.account_id, context.region, request["ModelName"])
        return {}


def describe_output(record: Record) -> dict[str, Any]:
    request = record.body["request"]
    output: dict[str, Any] = {key: request[key] for key in ECHOED if key in request}
    output.update(ModelName=record.name, ModelArn=record.arn, CreationTime=timestamp(record.created_at))
    return output
