"""SageMaker Runtime: InvokeEndpoint, handed to the serving router, with AWS's errors and invocation metrics.

Every invocation that reaches a variant records, in the metric store (namespace ``AWS/SageMaker``, dimensions
EndpointName and VariantName): Invocations, Invocation4XXErrors and Invocation5XXErrors (the container's
status), InvocationModelErrors (any answer but 2xx, timeouts included), InvocationsPerInstance, and
ModelLatency / OverheadLatency in microseconds (the replica's round trip, and the rest of this handler).

LIMITATIONS (differences from AWS):
- InvokeEndpointAsync and InvokeEndpointWithResponseStream are not implemented.
- TargetModel (multi-model endpoints), TargetContainerHostname, InferenceComponentName, SessionId and
  EnableExplanations are accepted and ignored.
- An endpoint that is Creating, Failed or deleted is "not found", as AWS words it for an unknown endpoint.
- OverheadLatency counts from the moment the request is dispatched to this handler, not from its arrival.
- Built-in XGBoost (``sageforge.algorithms.xgboost.inference``) has no RecordIO-protobuf reader yet: such
  requests are answered 415 (a ModelError); selectable inference output (``SAGEMAKER_INFERENCE_OUTPUT``) is not
  supported. Like the real container it sets no CustomAttributes on its answers; a container that does has
  them passed back.
"""

from __future__ import annotations

import time
from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.errors import AwsError
from sageforge.services.sagemaker.arns import resource_arn
from sageforge.serving.controller import endpoint_log_group
from sageforge.serving.errors import EndpointNotServing, InvocationTimeout, NoCapacity, VariantNotFound
from sageforge.serving.router import Invocation, InvocationResult, Router
from sageforge.store.metrics.base import MetricStore, Sample

NAMESPACE = "AWS/SageMaker"


class ValidationError(AwsError):
    code = "ValidationError"


class ServiceUnavailable(AwsError):
    code = "ServiceUnavailable"
    status = 503


class ModelError(AwsError):
    code = "ModelError"
    status = 424


class RuntimeHandlers:
    def __init__(self, router: Router, metrics: MetricStore) -> None:
        self._router = router
        self._metrics = metrics

    @operation("InvokeEndpoint")
    async def invoke_endpoint(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        name = request["EndpointName"]
        invocation = Invocation(
            body=request["Body"],
            content_type=request.get("ContentType"),
            accept=request.get("Accept"),
            custom_attributes=request.get("CustomAttributes"),
            inference_id=request.get("InferenceId"),
            target_variant=request.get("TargetVariant"),
        )
        try:
            result = await self._router.invoke(
                resource_arn(context.region, context.account_id, "endpoint", name), invocation
            )
        except EndpointNotServing:
            raise ValidationError(f"Endpoint {name} of account {context.account_id} not found.") from None
        except VariantNotFound:
            raise ValidationError(
                f"The production variant {invocation.target_variant} does not exist in endpoint {name}."
            ) from None
        except NoCapacity as problem:
            raise ServiceUnavailable(f"Endpoint {name} cannot take the request now: {problem}.") from None
        except InvocationTimeout:
            raise ModelError(
                "Your invocation timed out while waiting for a response from container primary. Review the latency "
                "metrics for each container in Amazon CloudWatch, resolve the issue, and try again.",
                fields={"LogStreamArn": _log_group_arn(context, name)},
            ) from None
        self._record(name, result, overhead_seconds=time.perf_counter() - started - result.model_seconds)
        if not 200 <= result.status < 300:
            raise _model_error(context, name, result)
        output: dict[str, Any] = {"Body": result.body, "InvokedProductionVariant": result.variant}
        if result.content_type:
            output["ContentType"] = result.content_type
        if result.custom_attributes is not None:
            output["CustomAttributes"] = result.custom_attributes
        return output

    def _record(self, endpoint: str, result: InvocationResult, overhead_seconds: float) -> None:
        status = result.status
        self._metrics.record(
            NAMESPACE,
            {"EndpointName": endpoint, "VariantName": result.variant},
            [
                Sample("Invocations", 1),
                Sample("Invocation4XXErrors", 1 if 400 <= status < 500 else 0),
                Sample("Invocation5XXErrors", 1 if status >= 500 else 0),
                Sample("InvocationModelErrors", 0 if 200 <= status < 300 else 1),
                Sample("InvocationsPerInstance", 1 / result.instance_count),
                Sample("ModelLatency", round(result.model_seconds * 1e6), "Microseconds"),
                Sample("OverheadLatency", round(max(0.0, overhead_seconds) * 1e6), "Microseconds"),
            ],
        )


def _model_error(context: RequestContext, endpoint: str, result: InvocationResult) -> ModelError:
    text = result.body.decode("utf-8", "replace")
    kind = "client" if result.status < 500 else "server"
    region = context.region
    return ModelError(
        f'Received {kind} error ({result.status}) from {result.container or "primary"} with message "{text}". See '
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group="
        f"{endpoint_log_group(endpoint)} in account {context.account_id} for more information.",
        fields={
            "OriginalStatusCode": str(result.status),
            "OriginalMessage": text,
            "LogStreamArn": _log_group_arn(context, endpoint),
        },
    )


def _log_group_arn(context: RequestContext, endpoint: str) -> str:
    return f"arn:aws:logs:{context.region}:{context.account_id}:log-group:{endpoint_log_group(endpoint)}"
