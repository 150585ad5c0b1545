"""Endpoints through boto3: creation to InService (or Failed with a reason), descriptions, listings, scaling,
blue/green updates that succeed or roll back, deletion, and endpoints brought back after a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sageforge.testing.server import RunningServer
from tests.hosting import FEATURES, Hosting, assert_no_replicas, csv_body, local_predictions, tarball
from tests.sagemaker.support import XGBOOST_IMAGE, unique

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:000000000000"


def error_of(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error: dict[str, Any] = caught.value.response["Error"]
    return error


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def scores(response: dict[str, Any]) -> list[float]:
    return [float(value) for value in response["Body"].decode().split(",")]


def test_an_endpoint_is_created_described_scaled_listed_and_deleted(hosting: Hosting) -> None:
    sagemaker = hosting.sagemaker
    model = hosting.model()
    config = hosting.config(("A", model, 1.0, 1), ("B", model, 3.0, 1))
    endpoint = hosting.endpoint(config, wait=False)
    creating = hosting.describe(endpoint)
    assert creating["EndpointStatus"] == "Creating"
    assert creating["EndpointArn"] == f"{ACCOUNT_ARN}:endpoint/{endpoint}"
    assert [v["VariantStatus"][0]["Status"] for v in creating["ProductionVariants"]] == ["Creating", "Creating"]

    described = hosting.wait(endpoint)
    assert described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == config
    assert "FailureReason" not in described
    summary = {v["VariantName"]: v for v in described["ProductionVariants"]}
    assert (summary["B"]["CurrentWeight"], summary["B"]["DesiredWeight"]) == (3.0, 3.0)
    assert (summary["A"]["CurrentInstanceCount"], summary["A"]["DesiredInstanceCount"]) == (1, 1)
    assert summary["A"]["DeployedImages"][0]["SpecifiedImage"] == XGBOOST_IMAGE
    listed = sagemaker.list_endpoints(NameContains=endpoint, StatusEquals="InService")["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [(endpoint, "InService")]

    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "A", "DesiredWeight": 0.0, "DesiredInstanceCount": 2}],
    )
    assert hosting.describe(endpoint)["EndpointStatus"] == "Updating"
    scaled = {v["VariantName"]: v for v in hosting.wait(endpoint)["ProductionVariants"]}
    assert (scaled["A"]["CurrentWeight"], scaled["A"]["CurrentInstanceCount"]) == (0.0, 2)
    assert {hosting.invoke(endpoint, csv_body(FEATURES[:1]))["InvokedProductionVariant"] for _ in range(10)} == {"B"}
    unknown = error_of(
        sagemaker.update_endpoint_weights_and_capacities,
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "C", "DesiredWeight": 1.0}],
    )
    assert unknown["Code"] == "ValidationException" and '"C"' in unknown["Message"]

    sagemaker.delete_endpoint(EndpointName=endpoint)
    assert error_of(sagemaker.describe_endpoint, EndpointName=endpoint) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint "{endpoint}".',
    }
    assert error_of(sagemaker.delete_endpoint, EndpointName=endpoint)["Code"] == "ValidationException"


def test_creating_needs_an_existing_config_and_models_and_a_free_name(hosting: Hosting) -> None:
    sagemaker = hosting.sagemaker
    assert error_of(sagemaker.create_endpoint, EndpointName=unique("e"), EndpointConfigName="nothing") == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint configuration "{ACCOUNT_ARN}:endpoint-config/nothing".',
    }
    model = hosting.model()
    config = hosting.config(("AllTraffic", model, 1.0, 1))
    sagemaker.delete_model(ModelName=model)
    assert error_of(sagemaker.create_endpoint, EndpointName=unique("e"), EndpointConfigName=config) == {
        "Code": "ValidationException",
        "Message": f'Could not find model "{ACCOUNT_ARN}:model/{model}".',
    }
    endpoint = hosting.served_endpoint()
    taken = error_of(sagemaker.create_endpoint, EndpointName=endpoint, EndpointConfigName=config)
    assert taken["Message"] == f'Cannot create already existing endpoint "{ACCOUNT_ARN}:endpoint/{endpoint}".'


@pytest.mark.parametrize(
    ("artifact", "reason"),
    [
        (
            tarball({"xgboost-model": b"these bytes are not a model"}),
            "The primary container for production variant AllTraffic did not pass the ping health check",
        ),
        (b"not even a tarball", "is a valid tar.gz archive"),
    ],
    ids=["not-a-model", "not-a-tarball"],
)
def test_an_artifact_that_is_not_a_model_fails_the_endpoint(hosting: Hosting, artifact: bytes, reason: str) -> None:
    model = hosting.model(hosting.artifact(artifact))
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    described = hosting.describe(endpoint)
    assert described["EndpointStatus"] == "Failed"
    assert reason in described["FailureReason"]
    if "ping" in reason:
        assert "Unable to load model" in described["FailureReason"]
        logs = hosting.server.client("logs")
        group = f"/aws/sagemaker/Endpoints/{endpoint}"
        wait_until(
            lambda: any(
                "Unable to load model" in e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]
            ),
            "the replica's last words in the endpoint's log",
        )
    assert_no_replicas(hosting.server)


def test_an_image_that_is_not_a_servable_built_in_fails_the_endpoint(hosting: Hosting) -> None:
    model = hosting.model(Image="111122223333.dkr.ecr.us-east-1.amazonaws.com/my-own-image:1")
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    described = hosting.describe(endpoint)
    assert described["EndpointStatus"] == "Failed"
    assert "is not a built-in algorithm image that sageforge can serve" in described["FailureReason"]


def test_update_is_blue_green_and_retains_variant_properties(hosting: Hosting) -> None:
    sagemaker = hosting.sagemaker
    endpoint = hosting.served_endpoint()
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=endpoint, DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}]
    )
    hosting.wait(endpoint)
    new_config = hosting.config(("AllTraffic", hosting.model(), 1.0, 1))
    failures: list[Exception] = []
    answers: list[list[float]] = []
    stop = threading.Event()

    def invoke_until_stopped() -> None:
        while not stop.is_set():
            try:
                answers.append(scores(hosting.invoke(endpoint, csv_body(FEATURES[:2]))))
            except Exception as error:  # any failure during the switch fails the test
                failures.append(error)

    load = threading.Thread(target=invoke_until_stopped)
    load.start()
    try:
        sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new_config, RetainAllVariantProperties=True)
        updating = hosting.describe(endpoint)
        assert updating["EndpointStatus"] == "Updating"
        assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == new_config
        assert (
            error_of(sagemaker.update_endpoint, EndpointName=endpoint, EndpointConfigName=new_config)["Message"]
            == f'Cannot update in-progress endpoint "{ACCOUNT_ARN}:endpoint/{endpoint}".'
        )
        updated = hosting.wait(endpoint)
    finally:
        stop.set()
        load.join()
    assert failures == []
    assert answers and all(answer == local_predictions(FEATURES[:2]) for answer in answers)
    assert updated["EndpointStatus"] == "InService" and updated["EndpointConfigName"] == new_config
    assert "PendingDeploymentSummary" not in updated
    # RetainAllVariantProperties kept the instance count set after the old configuration.
    assert updated["ProductionVariants"][0]["CurrentInstanceCount"] == 2


def test_an_update_whose_model_fails_to_load_rolls_back(hosting: Hosting) -> None:
    endpoint = hosting.served_endpoint()
    old_config = hosting.describe(endpoint)["EndpointConfigName"]
    broken = hosting.model(hosting.artifact(tarball({"xgboost-model": b"garbage"})))
    hosting.sagemaker.update_endpoint(
        EndpointName=endpoint, EndpointConfigName=hosting.config(("AllTraffic", broken, 1.0, 1))
    )
    described = hosting.wait(endpoint)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == old_config
    assert "did not pass the ping health check" in described["FailureReason"]
    assert "PendingDeploymentSummary" not in described
    assert scores(hosting.invoke(endpoint, csv_body(FEATURES[:3]))) == local_predictions(FEATURES[:3])


def test_endpoints_in_service_come_back_after_a_restart(
    server_factory: Callable[..., RunningServer], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = server_factory(data_dir)
    first.client("s3").create_bucket(Bucket="hosting-restart")
    hosting = Hosting(first.client, first, "hosting-restart")
    endpoints = [hosting.served_endpoint(), hosting.served_endpoint()]
    first.stop()
    assert first.app.state.platform.serving.replica_count() == 0

    second = server_factory(data_dir)
    again = Hosting(second.client, second, "hosting-restart")
    for endpoint in endpoints:
        assert again.wait(endpoint)["EndpointStatus"] == "InService"
        assert scores(again.invoke(endpoint, csv_body(FEATURES[:2]))) == local_predictions(FEATURES[:2])
    for endpoint in endpoints:
        again.sagemaker.delete_endpoint(EndpointName=endpoint)
    assert_no_replicas(second)
