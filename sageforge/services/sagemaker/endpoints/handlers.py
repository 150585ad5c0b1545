"""SageMaker endpoint operations: CreateEndpoint, DescribeEndpoint, ListEndpoints, DeleteEndpoint,
UpdateEndpoint and UpdateEndpointWeightsAndCapacities.

LIMITATIONS (differences from AWS):
- Only models whose one container is a built-in algorithm image with an inference module (XGBoost, Linear
  Learner, k-NN, Factorization Machines, K-Means, PCA, Random Cut Forest, IP Insights) are served; other
  images, and inference pipelines, fail the endpoint with a FailureReason saying so.
- Updates are blue/green all at once whatever DeploymentConfig says (it is stored and echoed as
  LastDeploymentConfig); there are no canary or linear traffic shifts, baking periods or alarm rollbacks.
- DeleteEndpoint removes the endpoint at once (no Deleting status); its replicas finish the requests they
  took and then stop in the background.
- UpdateEndpointWeightsAndCapacities applies new weights at once; if an instance it adds cannot start, the
  endpoint stays InService with a FailureReason and its previous weights (a variant resized earlier in the
  same request keeps its new count).
- After a server restart, an endpoint that was Updating serves its previous configuration (InService, with a
  FailureReason); one that was Creating is created again.
- An update is refused unless the endpoint is InService. Serverless variants run as one instance;
  ManagedInstanceScaling, RoutingConfig (the router always sends to the least busy healthy instance),
  DataCaptureConfig and AsyncInferenceConfig are not applied. DeployedImages' ResolvedImage is the image
  as specified, not a digest.
"""

from __future__ import annotations

from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.services.sagemaker.endpoints.entities import EndpointStatus
from sageforge.services.sagemaker.endpoints.manager import KIND, EndpointManager
from sageforge.services.sagemaker.listing import list_records, timestamp
from sageforge.store.metadata.records import Record, RecordStore


class EndpointHandlers:
    def __init__(self, endpoints: EndpointManager, records: RecordStore) -> None:
        self._endpoints = endpoints
        self._records = records

    @operation("CreateEndpoint")
    def create_endpoint(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {"EndpointArn": self._endpoints.create(context.account_id, context.region, request)}

    @operation("DescribeEndpoint")
    def describe_endpoint(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return describe_output(self._endpoints.describe(context.account_id, context.region, request["EndpointName"]))

    @operation("ListEndpoints")
    def list_endpoints(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        records, next_token = list_records(self._records.query, KIND, context, request)
        response: dict[str, Any] = {
            "Endpoints": [
                {
                    "EndpointName": r.name,
                    "EndpointArn": r.arn,
                    "CreationTime": timestamp(r.created_at),
                    "LastModifiedTime": timestamp(r.updated_at),
                    "EndpointStatus": r.status,
                }
                for r in records
            ]
        }
        if next_token:
            response["NextToken"] = next_token
        return response

    @operation("DeleteEndpoint")
    def delete_endpoint(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._endpoints.delete(context.account_id, context.region, request["EndpointName"])
        return {}

    @operation("UpdateEndpoint")
    def update_endpoint(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {"EndpointArn": self._endpoints.update(context.account_id, context.region, request)}

    @operation("UpdateEndpointWeightsAndCapacities")
    def update_endpoint_weights_and_capacities(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = self._endpoints.update_weights_and_capacities(context.account_id, context.region, request)
        return {"EndpointArn": arn}


def describe_output(record: Record) -> dict[str, Any]:
    state = record.body["state"]
    creating_since = record.created_at if record.status == EndpointStatus.CREATING else None
    output: dict[str, Any] = {
        "EndpointName": record.name,
        "EndpointArn": record.arn,
        "EndpointConfigName": state["EndpointConfigName"],
        "ProductionVariants": [_variant_summary(variant, creating_since) for variant in state["Variants"]],
        "EndpointStatus": record.status,
        "CreationTime": timestamp(record.created_at),
        "LastModifiedTime": timestamp(record.updated_at),
    }
    if "FailureReason" in state:
        output["FailureReason"] = state["FailureReason"]
    deployment_config = state.get("LastDeploymentConfig") or record.body["request"].get("DeploymentConfig")
    if deployment_config:
        output["LastDeploymentConfig"] = deployment_config
    pending = state.get("Pending")
    if pending:
        output["PendingDeploymentSummary"] = {
            "EndpointConfigName": pending["EndpointConfigName"],
            "ProductionVariants": [
                {**_variant_summary(variant, pending["StartTime"]), "InstanceType": variant["InstanceType"]}
                for variant in pending["Variants"]
            ],
            "StartTime": timestamp(pending["StartTime"]),
        }
    return output


def _variant_summary(variant: dict[str, Any], creating_since: float | None) -> dict[str, Any]:
    """A variant as DescribeEndpoint shows it: current values once it serves, a Creating status while it
    is being deployed (``creating_since``)."""
    summary: dict[str, Any] = {
        "VariantName": variant["VariantName"],
        "DeployedImages": [
            {
                "SpecifiedImage": container["Image"],
                "ResolvedImage": container["Image"],
                "ResolutionTime": timestamp(variant["ResolutionTime"]),
            }
            for container in variant["Containers"]
            if "Image" in container
        ],
        "DesiredWeight": variant["DesiredWeight"],
        "DesiredInstanceCount": variant["DesiredInstanceCount"],
    }
    if creating_since is not None:
        summary["VariantStatus"] = [{"Status": "Creating", "StartTime": timestamp(creating_since)}]
    elif "CurrentWeight" in variant:
        summary["CurrentWeight"] = variant["CurrentWeight"]
        summary["CurrentInstanceCount"] = variant["CurrentInstanceCount"]
    return summary
