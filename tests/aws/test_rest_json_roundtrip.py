"""The rest-json protocol against botocore itself: requests botocore serializes parse back to the parameters
given, and our responses and errors parse with botocore's rest-json parser to what we wrote."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from sageforge.aws.context import AwsRequest, BytesBody, Headers, RequestContext
from sageforge.aws.errors import AwsError
from sageforge.aws.protocol.rest_json import MAX_BODY_BYTES, PayloadTooLarge, RestJsonProtocol
from sageforge.aws.specs import service_model

RUNTIME = service_model("sagemaker-runtime")
LAMBDA = service_model("lambda")  # not served, but its operations exercise every binding rest-json has
PROTOCOL = RestJsonProtocol()


def sent(model: ServiceModel, operation: str, params: dict[str, Any]) -> AwsRequest:
    serialized = create_serializer("rest-json").serialize_to_request(params, model.operation_model(operation))
    url = urlsplit(serialized["url_path"])
    query = "&".join(f"{k}={v}" for k, v in serialized["query_string"].items())
    body = serialized["body"]
    headers = Headers([(k, str(v)) for k, v in serialized["headers"].items()])
    return AwsRequest(
        serialized["method"], url.path, query, headers, BytesBody(body if isinstance(body, bytes) else body.encode())
    )


def parsed(model: ServiceModel, request: AwsRequest) -> tuple[str, dict[str, Any]]:
    name = PROTOCOL.operation_name(request, model)
    return name, PROTOCOL.parse(request, model.operation_model(name))


def botocore_parse(response: Any, model: ServiceModel, operation: str) -> dict[str, Any]:
    body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
    return create_parser("rest-json").parse(
        {"status_code": response.status, "headers": dict(response.headers), "body": body},
        model.operation_model(operation).output_shape,
    )


def test_invoke_endpoint_request_parses_to_the_parameters_sent() -> None:
    params = {
        "EndpointName": "my-endpoint",
        "Body": b"1.0,2.0,3.0\n4,5,6",
        "ContentType": "text/csv",
        "Accept": "application/json",
        "CustomAttributes": "trace=abc",
        "TargetVariant": "Variant-B",
        "InferenceId": "request 17",
    }
    assert parsed(RUNTIME, sent(RUNTIME, "InvokeEndpoint", params)) == ("InvokeEndpoint", params)


def test_other_runtime_paths_name_their_operations() -> None:
    request = sent(RUNTIME, "InvokeEndpointAsync", {"EndpointName": "e", "InputLocation": "s3://b/k"})
    assert PROTOCOL.operation_name(request, RUNTIME) == "InvokeEndpointAsync"
    with pytest.raises(AwsError) as caught:
        PROTOCOL.operation_name(AwsRequest("GET", "/nowhere", "", Headers([]), BytesBody(b"")), RUNTIME)
    assert caught.value.status == 404


def test_labels_query_strings_and_json_bodies() -> None:
    listed = sent(LAMBDA, "ListVersionsByFunction", {"FunctionName": "fn:1", "Marker": "m", "MaxItems": 5})
    assert parsed(LAMBDA, listed) == (
        "ListVersionsByFunction",
        {"FunctionName": "fn:1", "Marker": "m", "MaxItems": 5},
    )
    tagged = sent(LAMBDA, "TagResource", {"Resource": "arn:aws:lambda:us-east-1:1:function:f", "Tags": {"a": "b"}})
    assert parsed(LAMBDA, tagged) == (
        "TagResource",
        {"Resource": "arn:aws:lambda:us-east-1:1:function:f", "Tags": {"a": "b"}},
    )
    invoked = sent(LAMBDA, "Invoke", {"FunctionName": "f", "Payload": b'{"x": 1}', "InvocationType": "Event"})
    assert parsed(LAMBDA, invoked) == (
        "Invoke",
        {"FunctionName": "f", "Payload": b'{"x": 1}', "InvocationType": "Event"},
    )


def test_invoke_endpoint_output_parses_back() -> None:
    output = {
        "Body": b"0.25\n0.75\n",
        "ContentType": "text/csv; charset=utf-8",
        "InvokedProductionVariant": "AllTraffic",
        "CustomAttributes": "seen=1",
    }
    context = RequestContext(sent(RUNTIME, "InvokeEndpoint", {"EndpointName": "e", "Body": b""}))
    response = PROTOCOL.serialize(output, RUNTIME.operation_model("InvokeEndpoint"), context)
    result = botocore_parse(response, RUNTIME, "InvokeEndpoint")
    # Given bytes rather than a stream, botocore's parser hands back the blob payload decoded.
    result["Body"] = result["Body"].encode()
    assert {k: v for k, v in result.items() if k != "ResponseMetadata"} == output
    assert result["ResponseMetadata"]["RequestId"] == context.request_id


def test_json_outputs_and_status_codes() -> None:
    output = {"FunctionName": "f", "Timeout": 3, "LastModified": "2026-03-04T05:06:07.000+0000"}
    context = RequestContext(sent(LAMBDA, "GetFunction", {"FunctionName": "f"}))
    response = PROTOCOL.serialize({"Configuration": output}, LAMBDA.operation_model("GetFunction"), context)
    assert botocore_parse(response, LAMBDA, "GetFunction")["Configuration"] == output
    created = PROTOCOL.serialize({"FunctionName": "f"}, LAMBDA.operation_model("CreateFunction"), context)
    assert created.status == 201
    url = {
        "FunctionUrl": "https://x",
        "FunctionArn": "a",
        "AuthType": "NONE",
        "CreationTime": "t",
        "LastModifiedTime": "t",
    }
    assert (
        botocore_parse(
            PROTOCOL.serialize(url, LAMBDA.operation_model("GetFunctionUrlConfig"), context),
            LAMBDA,
            "GetFunctionUrlConfig",
        )["FunctionUrl"]
        == "https://x"
    )


def test_model_error_carries_typed_members() -> None:
    context = RequestContext(sent(RUNTIME, "InvokeEndpoint", {"EndpointName": "e", "Body": b""}))
    error = AwsError(
        'Received client error (415) from primary with message "unsupported".',
        code="ModelError",
        status=424,
        fields={"OriginalStatusCode": "415", "OriginalMessage": "unsupported", "LogStreamArn": "arn:aws:logs:x"},
    )
    response = PROTOCOL.serialize_error(error, RUNTIME, context)
    assert response.status == 424
    result = botocore_parse(response, RUNTIME, "InvokeEndpoint")
    assert result["Error"] == {"Code": "ModelError", "Message": error.message}
    modeled = create_parser("rest-json").parse(
        {"status_code": 424, "headers": dict(response.headers), "body": response.body},
        RUNTIME.shape_for_error_code("ModelError"),
    )
    assert modeled["OriginalStatusCode"] == 415
    assert modeled["OriginalMessage"] == "unsupported"
    assert modeled["LogStreamArn"] == "arn:aws:logs:x"


def test_bodies_over_the_limit_are_refused_before_they_are_read() -> None:
    headers = Headers([("content-length", str(MAX_BODY_BYTES + 1))])
    with pytest.raises(PayloadTooLarge) as caught:
        PROTOCOL.reads_whole_body(AwsRequest("POST", "/endpoints/e/invocations", "", headers, BytesBody(b"")))
    assert caught.value.status == 413
    assert PROTOCOL.reads_whole_body(AwsRequest("POST", "/", "", Headers([("content-length", "10")]), BytesBody(b"")))
    # Without a declared length (chunked), the payload member's own limit applies when parsed.
    request = sent(RUNTIME, "InvokeEndpoint", {"EndpointName": "e", "Body": b"x" * (MAX_BODY_BYTES + 1)})
    with pytest.raises(PayloadTooLarge):
        parsed(RUNTIME, request)
