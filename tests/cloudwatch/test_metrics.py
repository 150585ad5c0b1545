"""CloudWatch metrics through boto3 on each protocol (rpc-v2-cbor, json, query): PutMetricData,
GetMetricStatistics, GetMetricData, ListMetrics, their errors, and metrics the platform records itself."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sageforge.store.metrics.base import Sample
from sageforge.testing.server import RunningServer

from .conftest import PROTOCOLS

# A whole minute ten minutes ago: recent enough for every check, old enough that all periods are complete.
BASE = datetime.fromtimestamp(math.floor(time.time() / 60) * 60 - 600, tz=UTC)
HOST = [{"Name": "Host", "Value": "a"}]


def _at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


@pytest.fixture
def namespace() -> str:
    return f"Test/{uuid.uuid4().hex}"


def _put_latencies(client: Any, namespace: str) -> None:
    client.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": "Latency", "Dimensions": HOST, "Timestamp": _at(5), "Value": 10, "Unit": "Milliseconds"},
            {
                "MetricName": "Latency",
                "Dimensions": HOST,
                "Timestamp": _at(30),
                "Values": [1, 2, 3, 4],
                "Counts": [1, 1, 1, 5],
                "Unit": "Milliseconds",
            },
            {
                "MetricName": "Latency",
                "Dimensions": HOST,
                "Timestamp": _at(65),
                "StatisticValues": {"SampleCount": 4, "Sum": 100, "Minimum": 5, "Maximum": 50},
                "Unit": "Milliseconds",
            },
            {"MetricName": "Latency", "Timestamp": _at(5), "Value": 999},  # no dimensions: another metric
        ],
    )


def test_each_client_speaks_its_protocol(speaking: Callable[[str], Any]) -> None:
    seen: dict[str, tuple[str, dict[str, str]]] = {}
    for protocol in PROTOCOLS:
        client = speaking(protocol)

        def remember(request: Any, protocol: str = protocol, **_: Any) -> None:
            seen[protocol] = (request.url, {k.lower(): v for k, v in request.headers.items()})

        client.meta.events.register("before-send.cloudwatch.ListMetrics", remember)
        client.list_metrics(Namespace="Nothing/Here")
        client.meta.events.unregister("before-send.cloudwatch.ListMetrics", remember)
    cbor_url, cbor_headers = seen["smithy-rpc-v2-cbor"]
    assert cbor_url.endswith("/service/GraniteServiceVersion20100801/operation/ListMetrics")
    assert cbor_headers["smithy-protocol"] == b"rpc-v2-cbor"
    assert seen["json"][1]["x-amz-target"] == b"GraniteServiceVersion20100801.ListMetrics"
    assert seen["query"][1]["content-type"].startswith(b"application/x-www-form-urlencoded")


def test_statistics_per_period(cloudwatch: Any, namespace: str) -> None:
    _put_latencies(cloudwatch, namespace)
    response = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="Latency",
        Dimensions=HOST,
        StartTime=BASE,
        EndTime=_at(180),
        Period=60,
        Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"],
    )
    assert response["Label"] == "Latency"
    points = sorted(response["Datapoints"], key=lambda p: p["Timestamp"])
    assert [p["Timestamp"] for p in points] == [BASE, _at(60)]
    assert points[0] == {
        "Timestamp": BASE,
        "SampleCount": 9.0,
        "Sum": 36.0,
        "Average": 4.0,
        "Minimum": 1.0,
        "Maximum": 10.0,
        "Unit": "Milliseconds",
    }
    assert (points[1]["SampleCount"], points[1]["Average"], points[1]["Maximum"]) == (4.0, 25.0, 50.0)
    other_unit = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="Latency",
        Dimensions=HOST,
        StartTime=BASE,
        EndTime=_at(180),
        Period=60,
        Statistics=["Sum"],
        Unit="Seconds",
    )
    assert other_unit["Datapoints"] == []


def test_percentiles(cloudwatch: Any, namespace: str) -> None:
    _put_latencies(cloudwatch, namespace)
    response = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="Latency",
        Dimensions=HOST,
        StartTime=BASE,
        EndTime=_at(120),
        Period=60,
        ExtendedStatistics=["p50", "p90", "p0.5"],
    )
    points = sorted(response["Datapoints"], key=lambda p: p["Timestamp"])
    assert points[0]["ExtendedStatistics"] == {"p50": 4.0, "p90": 10.0, "p0.5": 1.0}
    # The second minute holds only a statistic set whose minimum and maximum differ: no percentiles.
    assert points[1]["ExtendedStatistics"] == {} and points[1]["Unit"] == "Milliseconds"


def test_metric_data_series_in_pages(cloudwatch: Any, namespace: str) -> None:
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": "Count", "Timestamp": _at(60 * i + 1), "Value": float(i)} for i in range(5)],
    )
    queries = [
        {
            "Id": "sums",
            "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Count"}, "Period": 60, "Stat": "Sum"},
        },
        {
            "Id": "tops",
            "Label": "top",
            "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Count"}, "Period": 120, "Stat": "p100"},
        },
        {
            "Id": "hidden",
            "ReturnData": False,
            "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Count"}, "Period": 60, "Stat": "Sum"},
        },
    ]
    whole = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=BASE, EndTime=_at(300))
    assert "NextToken" not in whole
    sums, tops = whole["MetricDataResults"]
    assert (sums["Id"], sums["Label"], sums["StatusCode"]) == ("sums", "Count", "Complete")
    assert sums["Values"] == [4.0, 3.0, 2.0, 1.0, 0.0]  # newest first by default
    assert sums["Timestamps"] == [_at(240), _at(180), _at(120), _at(60), BASE]
    assert (tops["Label"], tops["Values"], tops["Timestamps"]) == ("top", [4.0, 3.0, 1.0], [_at(240), _at(120), BASE])

    pages = []
    token: dict[str, str] = {}
    while True:
        response = cloudwatch.get_metric_data(
            MetricDataQueries=queries,
            StartTime=BASE,
            EndTime=_at(300),
            ScanBy="TimestampAscending",
            MaxDatapoints=3,
            **token,
        )
        pages.append(response["MetricDataResults"])
        if "NextToken" not in response:
            break
        token = {"NextToken": response["NextToken"]}
    assert [[len(result["Values"]) for result in results] for results in pages] == [[3, 0], [2, 1], [0, 2]]
    assert [[result["StatusCode"] for result in results] for results in pages][0] == ["PartialData", "PartialData"]
    assert [v for results in pages for v in results[0]["Values"]] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [v for results in pages for v in results[1]["Values"]] == [1.0, 3.0, 4.0]


def test_list_metrics_filters(cloudwatch: Any, namespace: str) -> None:
    _put_latencies(cloudwatch, namespace)
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": "Errors", "Dimensions": [*HOST, {"Name": "Api", "Value": "get"}], "Value": 1},
            {"MetricName": "Old", "Timestamp": datetime.now(tz=UTC) - timedelta(hours=4), "Value": 1},
        ],
    )

    def listed(**filters: Any) -> list[tuple[str, list[tuple[str, str]]]]:
        metrics = cloudwatch.list_metrics(Namespace=namespace, **filters)["Metrics"]
        return [(m["MetricName"], [(d["Name"], d["Value"]) for d in m["Dimensions"]]) for m in metrics]

    errors = ("Errors", [("Api", "get"), ("Host", "a")])
    # Creation order; metrics first written in one request by name and dimensions.
    assert listed() == [("Latency", []), ("Latency", [("Host", "a")]), errors, ("Old", [])]
    assert listed(MetricName="Errors") == [errors]
    assert listed(Dimensions=[{"Name": "Host"}]) == [("Latency", [("Host", "a")]), errors]
    assert listed(Dimensions=[{"Name": "Host", "Value": "a"}, {"Name": "Api"}]) == [errors]
    assert listed(Dimensions=[{"Name": "Api", "Value": "put"}]) == []
    assert ("Old", []) not in listed(RecentlyActive="PT3H")


def test_list_metrics_pages(aws: Callable[..., Any], namespace: str) -> None:
    cloudwatch = aws("cloudwatch")  # boto3's own choice of protocol
    cloudwatch.put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": f"m{i:04d}", "Value": 1} for i in range(1000)]
    )
    first = cloudwatch.list_metrics(Namespace=namespace)
    second = cloudwatch.list_metrics(Namespace=namespace, NextToken=first["NextToken"])
    assert len(first["Metrics"]) == len(second["Metrics"]) == 500 and "NextToken" not in second
    names = [m["MetricName"] for m in first["Metrics"] + second["Metrics"]]
    assert names == [f"m{i:04d}" for i in range(1000)]
    linked = cloudwatch.list_metrics(Namespace=namespace, MetricName="m0001", IncludeLinkedAccounts=True)
    assert linked["OwningAccounts"] == ["000000000000"]


def test_invocation_metrics_recorded_by_the_platform_are_served(server: RunningServer, aws: Callable[..., Any]) -> None:
    endpoint = [{"Name": "EndpointName", "Value": f"ep-{uuid.uuid4().hex[:8]}"}, {"Name": "VariantName", "Value": "v1"}]
    metrics = server.app.state.platform.metrics
    for latency in (1200, 800, 1000):
        metrics.record(
            "AWS/SageMaker",
            {d["Name"]: d["Value"] for d in endpoint},
            [Sample("Invocations", 1), Sample("ModelLatency", latency, "Microseconds")],
        )
    now = datetime.now(tz=UTC)
    response = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=endpoint,
        StartTime=now - timedelta(minutes=2),
        EndTime=now + timedelta(minutes=1),
        Period=180,
        Statistics=["SampleCount", "Average"],
    )
    (point,) = response["Datapoints"]
    assert (point["SampleCount"], point["Average"], point["Unit"]) == (3.0, 1000.0, "Microseconds")


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_errors_carry_cloudwatch_codes(speaking: Callable[[str], Any], protocol: str) -> None:
    client = speaking(protocol)
    with pytest.raises(client.exceptions.InvalidParameterCombinationException) as caught:
        client.put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Value": 1, "Values": [1]}])
    assert caught.value.response["Error"]["Message"] == (
        "The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you "
        "have specified both."
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _code(lambda: client.put_metric_data(Namespace="N", MetricData=[{"MetricName": "m" * 256, "Value": 1}])) == (
        "ValidationError"
    )


@pytest.mark.parametrize("protocol", ["smithy-rpc-v2-cbor", "query"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -(2.0**361)])
def test_values_must_be_finite_and_in_range(speaking: Callable[[str], Any], protocol: str, value: float) -> None:
    client = speaking(protocol)
    put = lambda: client.put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Value": value}])  # noqa: E731
    assert _code(put) == "InvalidParameterValue"


def test_large_requests_arrive_compressed(cloudwatch: Any, namespace: str) -> None:
    encodings: list[str] = []

    def remember(request: Any, **_: Any) -> None:
        encodings.append(request.headers.get("Content-Encoding", b"").decode())

    cloudwatch.meta.events.register("before-send.cloudwatch.PutMetricData", remember)
    try:
        data = [{"MetricName": f"m{i:03d}", "Values": [float(v) for v in range(20)]} for i in range(100)]
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
    finally:
        cloudwatch.meta.events.unregister("before-send.cloudwatch.PutMetricData", remember)
    assert encodings == ["gzip"]
    assert len(cloudwatch.list_metrics(Namespace=namespace)["Metrics"]) == 100


STATISTICS = {"Namespace": "N", "MetricName": "m", "StartTime": BASE, "EndTime": _at(60), "Period": 60}
QUERY = {"Id": "q", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}
WINDOW = {"StartTime": BASE, "EndTime": _at(60)}


@pytest.mark.parametrize(
    ("operation", "params", "code"),
    [
        ("put_metric_data", {"Namespace": "N", "MetricData": [{"MetricName": "m"}]}, "MissingParameter"),
        ("put_metric_data", {"Namespace": "N", "MetricData": []}, "MissingParameter"),
        (
            "put_metric_data",
            {"Namespace": "AWS/EC2", "MetricData": [{"MetricName": "m", "Value": 1}]},
            "InvalidParameterValue",
        ),
        (
            "put_metric_data",
            {"Namespace": "N", "MetricData": [{"MetricName": "m", "Values": [1, 2], "Counts": [1]}]},
            "InvalidParameterValue",
        ),
        (
            "put_metric_data",
            {"Namespace": "N", "MetricData": [{"MetricName": "m", "Timestamp": BASE - timedelta(days=15), "Value": 1}]},
            "InvalidParameterValue",
        ),
        (
            "put_metric_data",
            {
                "Namespace": "N",
                "MetricData": [
                    {"MetricName": "m", "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 2, "Maximum": 1}}
                ],
            },
            "InvalidParameterValue",
        ),
        (
            "get_metric_statistics",
            {**STATISTICS, "Statistics": ["Sum"], "ExtendedStatistics": ["p9"]},
            "InvalidParameterCombination",
        ),
        ("get_metric_statistics", STATISTICS, "MissingParameter"),
        ("get_metric_statistics", {**STATISTICS, "Period": 45, "Statistics": ["Sum"]}, "InvalidParameterValue"),
        ("get_metric_statistics", {**STATISTICS, "EndTime": BASE, "Statistics": ["Sum"]}, "InvalidParameterValue"),
        (
            "get_metric_statistics",
            {**STATISTICS, "Period": 1, "Statistics": ["Sum"], "EndTime": _at(1441)},
            "InvalidParameterCombination",
        ),
        ("get_metric_statistics", {**STATISTICS, "ExtendedStatistics": ["tm99"]}, "InvalidParameterValue"),
        (
            "get_metric_data",
            {"MetricDataQueries": [{"Id": "q", "Expression": "SUM(METRICS())"}], **WINDOW},
            "InvalidParameterValue",
        ),
        ("get_metric_data", {"MetricDataQueries": [QUERY, QUERY], **WINDOW}, "ValidationError"),
        ("get_metric_data", {"MetricDataQueries": [{**QUERY, "Id": "Q"}], **WINDOW}, "ValidationError"),
        ("get_metric_data", {"MetricDataQueries": [{**QUERY, "Period": 60}], **WINDOW}, "ValidationError"),
        ("get_metric_data", {"MetricDataQueries": [QUERY], "NextToken": "garbage", **WINDOW}, "InvalidNextToken"),
        ("list_metrics", {"NextToken": "garbage"}, "InvalidParameterValue"),
    ],
)
def test_invalid_requests(aws: Callable[..., Any], operation: str, params: dict[str, Any], code: str) -> None:
    client = aws("cloudwatch")
    assert _code(lambda: getattr(client, operation)(**params)) == code
