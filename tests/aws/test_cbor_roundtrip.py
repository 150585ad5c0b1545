"""The rpc-v2-cbor protocol against botocore's own serializer and parser: what a client sends parses to the
same parameters, what we write parses back to the same output, errors included; and the gateway's choice of
protocol for services that accept several."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session
import cbor2
import pytest
from botocore.model import OperationModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from sageforge.aws.context import AwsRequest, BytesBody, Headers, RequestContext
from sageforge.aws.errors import AwsError, InternalFailure
from sageforge.aws.protocol import protocol_for
from sageforge.aws.protocol.rpcv2_cbor import RpcV2CborProtocol

PROTOCOL = RpcV2CborProtocol()
SESSION = botocore.session.get_session()
MODEL = SESSION.get_service_model("cloudwatch")
WHEN = datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)


def _operation(name: str) -> OperationModel:
    return MODEL.operation_model(name)


def _sent(operation: str, params: dict[str, Any]) -> AwsRequest:
    serialized = create_serializer("smithy-rpc-v2-cbor").serialize_to_request(params, _operation(operation))
    headers = Headers([(k, v) for k, v in serialized["headers"].items()])
    return AwsRequest(serialized["method"], serialized["url_path"], "", headers, BytesBody(serialized["body"]))


def _parsed(response_body: bytes, headers: list[tuple[str, str]], status: int, operation: str) -> dict[str, Any]:
    parsed: dict[str, Any] = create_parser("smithy-rpc-v2-cbor").parse(
        {"body": response_body, "headers": dict(headers), "status_code": status}, _operation(operation).output_shape
    )
    return parsed


def _request(path: str = "/", headers: list[tuple[str, str]] | None = None) -> AwsRequest:
    return AwsRequest("POST", path, "", Headers(headers or []), BytesBody(b""))


REQUESTS = [
    pytest.param(
        "PutMetricData",
        {
            "Namespace": "App/Serving",
            "MetricData": [
                {
                    "MetricName": "Latency",
                    "Dimensions": [{"Name": "Host", "Value": "a"}, {"Name": "Api", "Value": "get é"}],
                    "Timestamp": WHEN,
                    "Values": [1.5, 2.0, -3.25],
                    "Counts": [1.0, 4.0, 0.5],
                    "Unit": "Milliseconds",
                    "StorageResolution": 1,
                },
                {
                    "MetricName": "Load",
                    "Timestamp": datetime(2026, 3, 4, tzinfo=UTC),
                    "StatisticValues": {"SampleCount": 3.0, "Sum": 6.0, "Minimum": 1.0, "Maximum": 3.0},
                },
            ],
        },
        id="nested-lists-timestamps-doubles",
    ),
    pytest.param(
        "GetMetricData",
        {
            "MetricDataQueries": [
                {
                    "Id": "q1",
                    "MetricStat": {
                        "Metric": {"Namespace": "N", "MetricName": "M", "Dimensions": [{"Name": "d", "Value": "v"}]},
                        "Period": 60,
                        "Stat": "p99",
                    },
                    "ReturnData": False,
                }
            ],
            "StartTime": WHEN,
            "EndTime": datetime(2026, 3, 5, tzinfo=UTC),
            "ScanBy": "TimestampAscending",
            "MaxDatapoints": 100800,
        },
        id="booleans-integers-enums",
    ),
    pytest.param(
        "PutMetricAlarm",
        {"AlarmName": "a", "EvaluationPeriods": 2, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0.0},
        id="zero-double",
    ),
    pytest.param("ListMetrics", {}, id="empty-input"),
]


@pytest.mark.parametrize(("operation", "params"), REQUESTS)
def test_client_request_parses_to_its_parameters(operation: str, params: dict[str, Any]) -> None:
    request = _sent(operation, params)
    assert PROTOCOL.operation_name(request, MODEL) == operation
    assert PROTOCOL.parse(request, _operation(operation)) == params


def test_unknown_members_are_dropped_and_epoch_numbers_are_timestamps() -> None:
    body = cbor2.dumps({"Namespace": "N", "MetricName": "M", "StartTime": 1_700_000_000, "Bogus": 1})
    request = AwsRequest(
        "POST", "/service/GraniteServiceVersion20100801/operation/GetMetricStatistics", "", Headers([]), BytesBody(body)
    )
    assert PROTOCOL.parse(request, _operation("GetMetricStatistics")) == {
        "Namespace": "N",
        "MetricName": "M",
        "StartTime": datetime.fromtimestamp(1_700_000_000, tz=UTC),
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("POST", "/service/Other/operation/ListMetrics", b"", "UnknownOperationException"),
        ("POST", "/service/GraniteServiceVersion20100801/operation/Bogus", b"", "UnknownOperationException"),
        ("GET", "/service/GraniteServiceVersion20100801/operation/ListMetrics", b"", "UnknownOperationException"),
        ("POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", b"\xff\x00", "SerializationException"),
        (
            "POST",
            "/service/GraniteServiceVersion20100801/operation/ListMetrics",
            cbor2.dumps([1]),
            "SerializationException",
        ),
    ],
)
def test_malformed_requests_are_rejected(method: str, path: str, body: bytes, code: str) -> None:
    request = AwsRequest(method, path, "", Headers([("smithy-protocol", "rpc-v2-cbor")]), BytesBody(body))
    with pytest.raises(AwsError) as caught:
        PROTOCOL.operation_name(request, MODEL)
        PROTOCOL.parse(request, _operation("ListMetrics"))
    assert caught.value.code == code


RESPONSES = [
    pytest.param(
        "GetMetricStatistics",
        {
            "Label": "Latency",
            "Datapoints": [
                {
                    "Timestamp": WHEN,
                    "SampleCount": 3.0,
                    "Average": 2.5,
                    "Unit": "Milliseconds",
                    "ExtendedStatistics": {"p99": 4.0, "p50.5": 2.0},
                },
                {"Timestamp": datetime(2026, 3, 4, 5, 7, tzinfo=UTC), "Maximum": -1.5, "Unit": "None"},
            ],
        },
        id="maps-timestamps-doubles",
    ),
    pytest.param(
        "GetMetricData",
        {
            "MetricDataResults": [
                {
                    "Id": "q",
                    "Label": "M",
                    "Timestamps": [WHEN, WHEN],
                    "Values": [1.0, 0.5],
                    "StatusCode": "PartialData",
                },
                {"Id": "r", "Label": "N", "Timestamps": [], "Values": [], "StatusCode": "Complete"},
            ],
            "NextToken": "more",
            "Messages": [],
        },
        id="timestamp-lists-and-empty-lists",
    ),
    pytest.param("GetMetricWidgetImage", {"MetricWidgetImage": b"\x89PNG\x00\xff"}, id="blob"),
    pytest.param("DescribeAlarms", {"MetricAlarms": [{"AlarmName": "a", "ActionsEnabled": False}]}, id="boolean"),
    pytest.param("ListMetrics", {}, id="empty-output"),
]


@pytest.mark.parametrize(("operation", "output"), RESPONSES)
def test_serialized_output_parses_back(operation: str, output: dict[str, Any]) -> None:
    context = RequestContext(_request(), request_id="req-1")
    response = PROTOCOL.serialize(output, _operation(operation), context)
    assert response.status == 200 and isinstance(response.body, bytes)
    assert ("smithy-protocol", "rpc-v2-cbor") in response.headers
    parsed = _parsed(response.body, response.headers, 200, operation)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == output


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (AwsError("Value & values", code="InvalidParameterCombination"), "Sender"),
        (InternalFailure("boom"), "Receiver"),
    ],
)
def test_errors_parse_back_with_their_query_codes(error: AwsError, fault: str) -> None:
    response = PROTOCOL.serialize_error(error, MODEL, RequestContext(_request(), request_id="req-2"))
    assert isinstance(response.body, bytes)
    parsed = _parsed(response.body, response.headers, error.status, "ListMetrics")
    assert parsed["Error"] == {
        "Code": error.code,
        "Message": error.message,
        "QueryErrorCode": error.code,
        "Type": fault,
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"
    assert response.status == error.status


@pytest.mark.parametrize(
    ("service", "request_", "expected"),
    [
        ("cloudwatch", _request("/service/GraniteServiceVersion20100801/operation/ListMetrics"), "smithy-rpc-v2-cbor"),
        ("cloudwatch", _request(headers=[("Smithy-Protocol", "rpc-v2-cbor")]), "smithy-rpc-v2-cbor"),
        ("cloudwatch", _request(headers=[("X-Amz-Target", "GraniteServiceVersion20100801.ListMetrics")]), "json"),
        ("cloudwatch", _request(headers=[("Content-Type", "application/x-www-form-urlencoded")]), "query"),
        ("sagemaker", _request("/service/SageMaker/operation/ListModels"), "json"),
        ("sts", _request(headers=[("X-Amz-Target", "x")]), "query"),
    ],
)
def test_the_protocol_is_chosen_per_request(service: str, request_: AwsRequest, expected: str) -> None:
    assert protocol_for(request_, SESSION.get_service_model(service)) == expected
