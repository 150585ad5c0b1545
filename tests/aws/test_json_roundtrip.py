"""The json protocol against botocore's own serializer and parser: what a client sends parses to the same
parameters, and what we write parses back to the same output, errors included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from sageforge.aws.context import AwsRequest, BytesBody, Headers, RequestContext
from sageforge.aws.errors import ResourceInUse
from sageforge.aws.protocol.json import JsonProtocol

PROTOCOL = JsonProtocol()
MODEL = botocore.session.get_session().get_service_model("sagemaker")


def _sent(operation: str, params: dict[str, Any]) -> AwsRequest:
    serialized = create_serializer("json").serialize_to_request(params, MODEL.operation_model(operation))
    headers = Headers([(k, v) for k, v in serialized["headers"].items()])
    return AwsRequest("POST", "/", "", headers, BytesBody(serialized["body"]))


def test_requests_parse_to_the_parameters_sent() -> None:
    params = {
        "TrainingJobName": "job-1",
        "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::000000000000:role/R",
        "HyperParameters": {"num_round": "10", "eta": "0.1"},
        "OutputDataConfig": {"S3OutputPath": "s3://b/o"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "EnableNetworkIsolation": False,
        "Tags": [{"Key": "k", "Value": "v"}],
    }
    request = _sent("CreateTrainingJob", params)
    assert PROTOCOL.operation_name(request, MODEL) == "CreateTrainingJob"
    assert PROTOCOL.parse(request, MODEL.operation_model("CreateTrainingJob")) == params

    after = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    listed = _sent("ListTrainingJobs", {"CreationTimeAfter": after, "MaxResults": 5})
    assert PROTOCOL.parse(listed, MODEL.operation_model("ListTrainingJobs")) == {
        "CreationTimeAfter": after,
        "MaxResults": 5,
    }


def test_outputs_and_errors_parse_back() -> None:
    operation = MODEL.operation_model("ListTrainingJobs")
    created = datetime(2026, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)
    output = {
        "TrainingJobSummaries": [
            {
                "TrainingJobName": "a",
                "TrainingJobArn": "arn:aws:sagemaker:us-east-1:000000000000:training-job/a",
                "CreationTime": created,
                "TrainingJobStatus": "Completed",
            }
        ],
        "NextToken": "t",
    }
    context = RequestContext(_sent("ListTrainingJobs", {}))
    response = PROTOCOL.serialize(output, operation, context)
    parsed = create_parser("json").parse(
        {"status_code": response.status, "headers": dict(response.headers), "body": response.body},
        operation.output_shape,
    )
    assert {k: v for k, v in parsed.items() if k != "ResponseMetadata"} == output

    error = PROTOCOL.serialize_error(ResourceInUse("taken"), MODEL, context)
    parsed_error = create_parser("json").parse(
        {"status_code": error.status, "headers": dict(error.headers), "body": error.body}, operation.output_shape
    )
    assert parsed_error["Error"] == {"Code": "ResourceInUse", "Message": "taken"}
    assert error.status == 400


def test_non_finite_floats_arrive_as_floats() -> None:
    cloudwatch = botocore.session.get_session().get_service_model("cloudwatch")
    operation = cloudwatch.operation_model("PutMetricData")
    params = {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": float("inf")}]}
    serialized = create_serializer("json").serialize_to_request(params, operation)
    request = AwsRequest("POST", "/", "", Headers(list(serialized["headers"].items())), BytesBody(serialized["body"]))
    assert PROTOCOL.parse(request, operation)["MetricData"][0]["Value"] == float("inf")
