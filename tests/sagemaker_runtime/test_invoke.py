"""InvokeEndpoint through boto3: predictions equal to the artifact loaded locally, Accept, traffic split and
target variants, AWS's errors, invocation metrics and endpoint logs, and faults under load."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sageforge.testing.server import RunningServer
from tests.hosting import FEATURES, Hosting, csv_body, local_predictions

RECORDIO = "application/x-recordio-protobuf"


def error_of(hosting: Hosting, endpoint: str, body: bytes, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        hosting.invoke(endpoint, body, **params)
    response: dict[str, Any] = caught.value.response
    return response


def test_predictions_equal_the_artifact_loaded_locally(hosting: Hosting) -> None:
    endpoint = hosting.served_endpoint()
    rows = FEATURES[:25]
    response = hosting.invoke(endpoint, csv_body(rows), CustomAttributes="trace=1", InferenceId="req-1")
    assert response["ContentType"] == "text/csv"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert [float(v) for v in response["Body"].decode().split(",")] == local_predictions(rows)
    as_json = hosting.invoke(endpoint, csv_body(rows[:3]), Accept="application/json")
    assert as_json["ContentType"] == "application/json"
    assert json.loads(as_json["Body"]) == {"predictions": [{"score": s} for s in local_predictions(rows[:3])]}
    libsvm = "\n".join(" ".join(f"{i}:{v!r}" for i, v in enumerate(map(float, row))) for row in rows[:2]).encode()
    as_lines = hosting.invoke(endpoint, libsvm, ContentType="text/libsvm", Accept="application/jsonlines")
    assert [json.loads(line)["score"] for line in as_lines["Body"].decode().splitlines()] == local_predictions(rows[:2])


def test_recordio_protobuf_through_the_sdks_serializer_and_deserializer(hosting: Hosting) -> None:
    from sagemaker.deserializers import RecordDeserializer
    from sagemaker.serializers import RecordSerializer

    endpoint = hosting.served_endpoint()
    rows = FEATURES[:7]
    response = hosting.invoke(
        endpoint, RecordSerializer().serialize(rows).read(), ContentType=RECORDIO, Accept=RECORDIO
    )
    assert response["ContentType"] == RECORDIO
    records = RecordDeserializer().deserialize(io.BytesIO(response["Body"]), RECORDIO)
    assert [list(record.label["score"].float32_tensor.values) for record in records] == [
        [score] for score in local_predictions(rows)
    ]
    failure = error_of(hosting, endpoint, b"not records", ContentType=RECORDIO)
    assert failure["OriginalStatusCode"] == 415
    assert "Loading recordio-protobuf data failed" in failure["OriginalMessage"]


def test_traffic_follows_variant_weights_and_target_variant(hosting: Hosting) -> None:
    model = hosting.model()
    endpoint = hosting.endpoint(hosting.config(("Blue", model, 1.0, 1), ("Green", model, 1.0, 1)))
    one_row = csv_body(FEATURES[:1])
    seen = [hosting.invoke(endpoint, one_row)["InvokedProductionVariant"] for _ in range(40)]
    assert set(seen) == {"Blue", "Green"}
    targeted = {hosting.invoke(endpoint, one_row, TargetVariant="Green")["InvokedProductionVariant"] for _ in range(10)}
    assert targeted == {"Green"}
    missing = error_of(hosting, endpoint, one_row, TargetVariant="Purple")["Error"]
    assert missing["Code"] == "ValidationError" and "Purple" in missing["Message"]


def test_unknown_creating_and_deleted_endpoints_are_not_found(hosting: Hosting) -> None:
    body = csv_body(FEATURES[:1])
    unknown = error_of(hosting, "no-such-endpoint", body)
    assert unknown["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert unknown["Error"] == {
        "Code": "ValidationError",
        "Message": "Endpoint no-such-endpoint of account 000000000000 not found.",
    }
    creating = hosting.endpoint(hosting.config(("AllTraffic", hosting.model(), 1.0, 1)), wait=False)
    assert error_of(hosting, creating, body)["Error"]["Code"] == "ValidationError"
    assert hosting.describe(creating)["EndpointStatus"] == "Creating"  # so the call above met a Creating endpoint
    hosting.wait(creating)
    assert hosting.invoke(creating, body)["Body"]
    hosting.sagemaker.delete_endpoint(EndpointName=creating)
    assert (
        error_of(hosting, creating, body)["Error"]["Message"]
        == f"Endpoint {creating} of account 000000000000 not found."
    )


def test_container_errors_are_model_errors_and_metrics_count_them(hosting: Hosting) -> None:
    endpoint = hosting.served_endpoint()
    for _ in range(3):
        hosting.invoke(endpoint, csv_body(FEATURES[:1]))
    failure = error_of(hosting, endpoint, b"1.0,2.0\n3.0,oops")
    assert failure["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert failure["Error"]["Code"] == "ModelError"
    assert failure["Error"]["Message"].startswith('Received client error (415) from primary with message "Loading csv')
    assert f"/aws/sagemaker/Endpoints/{endpoint}" in failure["Error"]["Message"]
    assert failure["OriginalStatusCode"] == 415
    assert "line 2, column 2: 'oops' is not a number" in failure["OriginalMessage"]
    assert failure["LogStreamArn"].endswith(f":log-group:/aws/sagemaker/Endpoints/{endpoint}")
    assert error_of(hosting, endpoint, b"1", Accept="image/png")["OriginalStatusCode"] == 406

    cloudwatch = hosting.server.client("cloudwatch")
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}]

    def total(metric: str, statistic: str = "Sum") -> tuple[float, str]:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=datetime.now(UTC) - timedelta(minutes=5),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=600,
            Statistics=[statistic],
        )["Datapoints"]
        return (points[0][statistic], points[0]["Unit"]) if points else (0.0, "")

    assert total("Invocations") == (5.0, "None")
    assert total("Invocation4XXErrors") == (2.0, "None")
    assert total("InvocationModelErrors") == (2.0, "None")
    assert total("Invocation5XXErrors") == (0.0, "None")
    assert total("InvocationsPerInstance") == (5.0, "None")
    latency, unit = total("ModelLatency", "Maximum")
    assert unit == "Microseconds" and 0 < latency < 10_000_000
    assert total("OverheadLatency", "SampleCount")[0] == 5.0
    listed = cloudwatch.list_metrics(Namespace="AWS/SageMaker", Dimensions=[dimensions[0]])["Metrics"]
    assert {m["MetricName"] for m in listed} >= {"Invocations", "ModelLatency", "OverheadLatency"}

    logs = hosting.server.client("logs")

    def logged() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = logs.filter_log_events(logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}")[
            "events"
        ]
        return events

    _wait(lambda: any("oops" in event["message"] for event in logged()), "the replica's log line about the bad row")
    assert {event["logStreamName"].split("/")[0] for event in logged()} == {"AllTraffic"}


def test_payloads_over_six_megabytes_are_refused(hosting: Hosting) -> None:
    endpoint = hosting.served_endpoint()
    refused = error_of(hosting, endpoint, b"1" * (6 * 1024 * 1024 + 1))
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert refused["Error"]["Message"] == "HTTP content length exceeded 6291456 bytes."


def test_a_replica_killed_under_load_costs_no_request(hosting: Hosting) -> None:
    endpoint = hosting.served_endpoint(count=2)
    before = _replica_pids(endpoint)
    assert len(before) == 2
    with _Load(hosting, endpoint) as load:
        load.wait_for(30)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: len(_replica_pids(endpoint) - {victim}) == 2, "a replacement replica")
        load.wait_for(len(load.answers) + 30)
    assert load.failures == []
    assert all(answer == local_predictions(FEATURES[:1]) for answer in load.answers)


def test_deleting_an_endpoint_under_load_answers_what_it_accepted(hosting: Hosting) -> None:
    endpoint = hosting.served_endpoint()
    with _Load(hosting, endpoint, rows=5000) as load:
        load.wait_for(3)
        hosting.sagemaker.delete_endpoint(EndpointName=endpoint)
        _wait(lambda: len(load.failures) >= 3, "requests after the deletion to be refused")
    expected = local_predictions(FEATURES[:1]) * 5000
    assert load.answers and all(answer == expected for answer in load.answers)
    for failure in load.failures:
        assert isinstance(failure, ClientError)
        assert failure.response["Error"]["Message"] == f"Endpoint {endpoint} of account 000000000000 not found."


class _Load:
    """Threads invoking an endpoint through boto3 until stopped; answers and failures are kept."""

    def __init__(self, hosting: Hosting, endpoint: str, rows: int = 1, threads: int = 3) -> None:
        self._hosting, self._endpoint = hosting, endpoint
        self._body = csv_body(FEATURES[:1].repeat(rows, axis=0))
        self.answers: list[list[float]] = []
        self.failures: list[Exception] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def wait_for(self, count: int) -> None:
        _wait(lambda: len(self.answers) >= count, f"{count} answers")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                body = self._hosting.invoke(self._endpoint, self._body)["Body"]
                self.answers.append([float(value) for value in body.decode().split(",")])
            except Exception as error:  # kept for the test to judge
                self.failures.append(error)


def _wait(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _replica_pids(endpoint: str) -> set[int]:
    """The live replica processes of ``endpoint`` (Linux: found by the model directory in their environment)."""
    marker = f"/endpoints/{endpoint}/".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environment = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue  # a process that ended meanwhile
            if any(item.startswith(b"SAGEMAKER_BASE_DIR=") and marker in item for item in environment):
                found.add(int(entry.name))
    return found


def test_invocations_are_authenticated_and_validated(server: RunningServer) -> None:
    with pytest.raises(ClientError) as caught:
        server.client("sagemaker-runtime", aws_secret_access_key="wrong").invoke_endpoint(EndpointName="e", Body=b"1")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    unvalidated = server.client(
        "sagemaker-runtime", config=Config(parameter_validation=False, retries={"max_attempts": 1})
    )
    with pytest.raises(ClientError) as caught:
        unvalidated.invoke_endpoint(EndpointName="not_a_valid_name", Body=b"1")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "'endpointName' failed to satisfy constraint" in caught.value.response["Error"]["Message"]
