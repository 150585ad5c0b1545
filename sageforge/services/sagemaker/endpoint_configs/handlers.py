"""SageMaker endpoint-configuration operations: Create/Describe/List/DeleteEndpointConfig.

LIMITATIONS (differences from AWS):
- DataCaptureConfig, AsyncInferenceConfig, ExplainerConfig, ShadowProductionVariants, KmsKeyId, VpcConfig and
  the variants' accelerator, volume, managed-scaling and routing settings are stored and echoed but have no
  effect. A ServerlessConfig variant is served by one instance.
"""

from __future__ import annotations

from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.specs import service_model
from sageforge.services.sagemaker.endpoint_configs.manager import KIND, EndpointConfigManager
from sageforge.services.sagemaker.listing import list_records, timestamp
from sageforge.store.metadata.records import Record, RecordStore

# Members a CreateEndpointConfig request and a DescribeEndpointConfig response share are echoed as given.
_model = service_model("sagemaker")
ECHOED = frozenset(_model.operation_model("CreateEndpointConfig").input_shape.members) & frozenset(
    _model.operation_model("DescribeEndpointConfig").output_shape.members
) - {"EndpointConfigName"}


class EndpointConfigHandlers:
    def __init__(self, configs: EndpointConfigManager, records: RecordStore) -> None:
        self._configs = configs
        self._records = records

    @operation("CreateEndpointConfig")
    def create_endpoint_config(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {"EndpointConfigArn": self._configs.create(context.account_id, context.region, request)}

    @operation("DescribeEndpointConfig")
    def describe_endpoint_config(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._configs.describe(context.account_id, context.region, request["EndpointConfigName"])
        return describe_output(record)

    @operation("ListEndpointConfigs")
    def list_endpoint_configs(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        records, next_token = list_records(self._records.query, KIND, context, request)
        response: dict[str, Any] = {
            "EndpointConfigs": [
                {"EndpointConfigName": r.name, "EndpointConfigArn": r.arn, "CreationTime": timestamp(r.created_at)}
                for r in records
            ]
        }
        if next_token:
            response["NextToken"] = next_token
        return response

    @operation("DeleteEndpointConfig")
    def delete_endpoint_config(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._configs.delete(context.account_id, context.region, request["EndpointConfigName"])
        return {}


def describe_output(record: Record) -> dict[str, Any]:
    request = record.body["request"]
    output: dict[str, Any] = {key: request[key] for key in ECHOED if key in request}
    output.update(
        EndpointConfigName=record.name, EndpointConfigArn=record.arn, CreationTime=timestamp(record.created_at)
    )
    return output
