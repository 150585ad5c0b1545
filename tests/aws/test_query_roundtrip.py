"""The query protocol against botocore's own serializer and parser: what a client sends parses to the same
parameters, and what we write parses back to the same output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from sageforge.aws.context import AwsRequest, BytesBody, Headers, RequestContext
from sageforge.aws.errors import AwsError, InternalFailure
from sageforge.aws.protocol.query import QueryProtocol

PROTOCOL = QueryProtocol()


def _model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def _operation(service: str, name: str) -> OperationModel:
    return _model(service).operation_model(name)


def _request(body: dict[str, Any], method: str = "POST") -> AwsRequest:
    encoded = urlencode(body)
    return AwsRequest(
        method=method,
        raw_path="/",
        query_string=encoded if method == "GET" else "",
        headers=Headers([("content-type", "application/x-www-form-urlencoded; charset=utf-8")]),
        body=BytesBody(b"" if method == "GET" else encoded.encode()),
    )


def _client_request(operation: OperationModel, params: dict[str, Any]) -> AwsRequest:
    serialized = create_serializer("query").serialize_to_request(params, operation)
    return _request(serialized["body"])


def _parse_response(operation: OperationModel, output: dict[str, Any]) -> dict[str, Any]:
    response = PROTOCOL.serialize(output, operation, RequestContext(_request({})))
    assert response.status == 200
    assert isinstance(response.body, bytes)
    parsed: dict[str, Any] = create_parser("query").parse(
        {"body": response.body, "headers": dict(response.headers), "status_code": 200}, operation.output_shape
    )
    assert parsed.pop("ResponseMetadata")["RequestId"]
    return parsed


REQUESTS = [
    pytest.param(
        "iam",
        "CreateRole",
        {
            "RoleName": "r1",
            "AssumeRolePolicyDocument": '{"Version": "2012-10-17", "Statement": []}',
            "MaxSessionDuration": 3600,
            "Tags": [{"Key": "team", "Value": "ml & data"}, {"Key": "env", "Value": "dev\nline"}],
        },
        id="list-of-structures-and-integers",
    ),
    pytest.param(
        "autoscaling",
        "DescribeScheduledActions",
        {
            "ScheduledActionNames": ["a", "b", "c"],
            "StartTime": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
            "EndTime": datetime(2024, 5, 2, 8, 0, 0, 250000, tzinfo=UTC),
            "IncludeManagedResources": False,
            "MaxRecords": 10,
        },
        id="timestamps-booleans-string-lists",
    ),
    pytest.param("autoscaling", "DescribeScheduledActions", {"ScheduledActionNames": []}, id="empty-list"),
    pytest.param(
        "sns",
        "Publish",
        {
            "TopicArn": "arn:aws:sns:us-east-1:000000000000:t",
            "Message": "héllo = world?&",
            "MessageAttributes": {
                "colour": {"DataType": "String", "StringValue": "blue"},
                "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
            },
        },
        id="map-with-named-key-and-value-and-blob",
    ),
    pytest.param(
        "sdb",
        "BatchPutAttributes",
        {
            "DomainName": "d",
            "Items": [
                {"Name": "i1", "Attributes": [{"Name": "a", "Value": "1", "Replace": True}]},
                {"Name": "i2", "Attributes": [{"Name": "b", "Value": "2"}, {"Name": "c", "Value": "3"}]},
            ],
        },
        id="flattened-lists-with-member-names",
    ),
    pytest.param(
        "rds",
        "ModifyDBCluster",
        {
            "DBClusterIdentifier": "c1",
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 8.0},
            "ApplyImmediately": True,
        },
        id="nested-structure-with-doubles",
    ),
    pytest.param("sts", "GetCallerIdentity", {}, id="no-input"),
]


@pytest.mark.parametrize(("service", "operation", "params"), REQUESTS)
def test_client_request_parses_to_its_parameters(service: str, operation: str, params: dict[str, Any]) -> None:
    model = _operation(service, operation)
    request = _client_request(model, params)
    assert PROTOCOL.operation_name(request, model.service_model) == operation
    assert PROTOCOL.parse(request, model) == params


def test_get_request_reads_the_query_string() -> None:
    model = _operation("iam", "GetRole")
    request = _request({"Action": "GetRole", "Version": "2010-05-08", "RoleName": "SageForgeRole"}, method="GET")
    assert PROTOCOL.operation_name(request, model.service_model) == "GetRole"
    assert PROTOCOL.parse(request, model) == {"RoleName": "SageForgeRole"}


def test_unconvertible_values_are_left_for_validation() -> None:
    model = _operation("iam", "ListRoles")
    request = _request({"Action": "ListRoles", "MaxItems": "lots"})
    assert PROTOCOL.parse(request, model) == {"MaxItems": "lots"}


def test_unknown_and_missing_actions_are_rejected() -> None:
    service = _model("sts")
    with pytest.raises(AwsError) as unknown:
        PROTOCOL.operation_name(_request({"Action": "Bogus", "Version": "2011-06-15"}), service)
    assert unknown.value.code == "InvalidAction"
    with pytest.raises(AwsError) as missing:
        PROTOCOL.operation_name(_request({"Version": "2011-06-15"}), service)
    assert missing.value.code == "MissingAction"


CREATED = datetime(2023, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

RESPONSES = [
    pytest.param(
        "iam",
        "GetRole",
        {
            "Role": {
                "Path": "/",
                "RoleName": "SageForgeRole",
                "RoleId": "AROA000000000000000001",
                "Arn": "arn:aws:iam::000000000000:role/SageForgeRole",
                "CreateDate": CREATED,
                "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%7D",
                "MaxSessionDuration": 3600,
                "Tags": [{"Key": "a", "Value": '<b> & "c"\r\n'}],
                "RoleLastUsed": {"LastUsedDate": CREATED, "Region": "us-west-2"},
            }
        },
        id="nested-structures-timestamps-escaping",
    ),
    pytest.param(
        "iam", "GetAccountSummary", {"SummaryMap": {"Roles": 3, "Users": 0, "Policies": 12}}, id="map-of-integers"
    ),
    pytest.param(
        "autoscaling",
        "DescribeScheduledActions",
        {
            "ScheduledUpdateGroupActions": [
                {"ScheduledActionName": "a", "StartTime": CREATED, "MinSize": 1, "DesiredCapacity": 2},
                {"ScheduledActionName": "b", "Recurrence": "0 * * * *"},
            ],
            "NextToken": "more",
        },
        id="list-of-structures",
    ),
    pytest.param("autoscaling", "DescribeScheduledActions", {"ScheduledUpdateGroupActions": []}, id="empty-list"),
    pytest.param(
        "sdb",
        "Select",
        {
            "Items": [
                {"Name": "i1", "Attributes": [{"Name": "a", "Value": "1"}, {"Name": "b", "Value": "2"}]},
                {"Name": "i2", "Attributes": [{"Name": "c", "Value": "3"}]},
            ]
        },
        id="flattened-lists",
    ),
    pytest.param(
        "iam",
        "CreateVirtualMFADevice",
        {"VirtualMFADevice": {"SerialNumber": "arn:aws:iam::000000000000:mfa/x", "QRCodePNG": b"\x89PNG\x00"}},
        id="blob",
    ),
    pytest.param("iam", "ListRoles", {"Roles": [], "IsTruncated": False}, id="boolean-false"),
]


@pytest.mark.parametrize(("service", "operation", "output"), RESPONSES)
def test_serialized_output_parses_back(service: str, operation: str, output: dict[str, Any]) -> None:
    assert _parse_response(_operation(service, operation), output) == output


def test_output_without_result_carries_response_metadata() -> None:
    model = _operation("iam", "DeleteRole")
    response = PROTOCOL.serialize({}, model, RequestContext(_request({}), request_id="req-1"))
    assert isinstance(response.body, bytes)
    assert b"<DeleteRoleResponse" in response.body and b"<RequestId>req-1</RequestId>" in response.body


@pytest.mark.parametrize(
    ("error", "status", "fault"),
    [
        (AwsError("Role x & y not found", code="NoSuchEntity", status=404), 404, "Sender"),
        (InternalFailure("boom"), 500, "Receiver"),
    ],
)
def test_errors_parse_back(error: AwsError, status: int, fault: str) -> None:
    service = _model("iam")
    response = PROTOCOL.serialize_error(error, service, RequestContext(_request({}), request_id="req-2"))
    assert response.status == status
    assert isinstance(response.body, bytes)
    parsed = create_parser("query").parse(
        {"body": response.body, "headers": dict(response.headers), "status_code": status}, None
    )
    assert parsed["Error"] == {"Type": fault, "Code": error.code, "Message": error.message}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"
