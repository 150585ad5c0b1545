"""Training jobs through boto3: a real built-in XGBoost job, its record, logs and artifact, and the errors and
faults a SageMaker user can run into."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import xgboost
from botocore.config import Config
from botocore.exceptions import ClientError
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

from sageforge.testing.server import RunningServer
from tests.sagemaker.support import (
    channel,
    training_request,
    unique,
    wait_for,
    wait_for_end,
)


def test_xgboost_job_trains_a_real_model(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker, s3, logs = aws("sagemaker"), aws("s3"), aws("logs")
    name = unique("xgb")
    arn = sagemaker.create_training_job(**training_request(name, breast_cancer))["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{name}"

    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert job["TrainingTimeInSeconds"] >= 0 and job["BillableTimeInSeconds"] >= job["TrainingTimeInSeconds"]
    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert "#011validation-auc:" in definitions["validation:auc"]
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["validation:auc"] > 0.95 and metrics["train:auc"] > 0.95

    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{breast_cancer}/output/{name}/output/model.tar.gz"
    archive = s3.get_object(Bucket=breast_cancer, Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        model_bytes = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    booster = xgboost.Booster()
    booster.load_model(bytearray(model_bytes))
    data = load_breast_cancer()
    assert roc_auc_score(data.target, booster.predict(xgboost.DMatrix(data.data))) > 0.95

    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/")
    (stream,) = streams["logStreams"]
    assert stream["logStreamName"].startswith(f"{name}/algo-1-")
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"], startFromHead=True
    )["events"]
    assert any("validation-auc" in event["message"] for event in events)


def test_two_instances_train_one_model(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("xgb-dist")
    request = training_request(name, breast_cancer)
    request["ResourceConfig"]["InstanceCount"] = 2
    sagemaker.create_training_job(**request)
    job = wait_for_end(sagemaker, name, timeout=180)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["BillableTimeInSeconds"] == 2 * job["TrainingTimeInSeconds"]
    streams = aws("logs").describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
    )["logStreams"]
    assert sorted(s["logStreamName"].split("/")[1].rsplit("-", 1)[0] for s in streams) == ["algo-1", "algo-2"]


def test_missing_and_malformed_parameters(server: RunningServer, breast_cancer: str) -> None:
    raw = server.client("sagemaker", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    request = training_request(unique("bad"), breast_cancer)
    without_role = {k: v for k, v in request.items() if k != "RoleArn"}
    for bad, expected in [
        (without_role, "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"),
        ({**request, "TrainingJobName": "under_score"}, "Member must satisfy regular expression pattern"),
        (
            {**request, "ResourceConfig": {**request["ResourceConfig"], "InstanceCount": 0}},
            "InstanceCount must be at least 1",
        ),
        ({k: v for k, v in request.items() if k != "AlgorithmSpecification"}, "AlgorithmSpecification"),
        ({**request, "OutputDataConfig": {"S3OutputPath": "/tmp/out"}}, "'outputDataConfig.s3OutputPath'"),
        ({**request, "OutputDataConfig": {"S3OutputPath": "https://example.com/out"}}, "S3OutputPath"),
    ]:
        with pytest.raises(ClientError) as caught:
            raw.create_training_job(**bad)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert expected in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        raw.describe_training_job(TrainingJobName=request["TrainingJobName"])
    assert caught.value.response["Error"]["Message"] == "Requested resource not found."


def test_duplicate_name_is_refused(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("dup")
    sagemaker.create_training_job(**training_request(name, breast_cancer))
    with pytest.raises(ClientError) as caught:
        sagemaker.create_training_job(**training_request(name, breast_cancer))
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    wait_for_end(sagemaker, name)


def test_unknown_image_fails_the_job(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("unknown-image")
    spec = {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own:latest", "TrainingInputMode": "File"}
    sagemaker.create_training_job(**training_request(name, breast_cancer, AlgorithmSpecification=spec))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert "my-own:latest" in job["FailureReason"]


def test_missing_input_data_fails_the_job(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("no-data")
    channels = [channel("train", f"s3://{breast_cancer}/nothing-here/")]
    sagemaker.create_training_job(**training_request(name, breast_cancer, InputDataConfig=channels))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: No S3 objects found under S3 URL")


def test_malformed_csv_fails_the_job(aws: Callable[..., Any], bucket: str) -> None:
    sagemaker, s3 = aws("sagemaker"), aws("s3")
    s3.put_object(Bucket=bucket, Key="bad/train/data.csv", Body=b"1,0.5,0.25\n0,abc,0.1\n")
    name = unique("bad-csv")
    request = training_request(name, bucket, InputDataConfig=[channel("train", f"s3://{bucket}/bad/train/")])
    sagemaker.create_training_job(**request)
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError")
    assert "data.csv" in job["FailureReason"]


def test_unknown_hyperparameter_fails_like_the_container(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("bad-hp")
    request = training_request(name, breast_cancer)
    request["HyperParameters"]["not_a_parameter"] = "1"
    sagemaker.create_training_job(**request)
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert "not_a_parameter" in job["FailureReason"]


def _long_job(name: str, bucket: str, max_runtime: int = 300) -> dict[str, Any]:
    request = training_request(name, bucket, StoppingCondition={"MaxRuntimeInSeconds": max_runtime})
    request["HyperParameters"].update(num_round="1000000", max_depth="8", eta="0.001")
    return request


def test_max_runtime_stops_the_job(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("max-runtime")
    sagemaker.create_training_job(**_long_job(name, breast_cancer, max_runtime=3))
    job = wait_for_end(sagemaker, name, timeout=120)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


def test_stop_mid_training(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("stop-me")
    sagemaker.create_training_job(**_long_job(name, breast_cancer))
    wait_for(sagemaker, name, lambda d: d["SecondaryStatus"] == "Training")
    sagemaker.stop_training_job(TrainingJobName=name)
    job = wait_for_end(sagemaker, name)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    with pytest.raises(ClientError) as caught:
        sagemaker.stop_training_job(TrainingJobName=name)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Stopped" in caught.value.response["Error"]["Message"]


def test_list_training_jobs_filters_sorts_and_pages(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    marker = unique("lst")
    names = [f"{marker}-{i}" for i in range(3)]
    spec = {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/nope:1", "TrainingInputMode": "File"}
    for name in names:
        sagemaker.create_training_job(**training_request(name, breast_cancer, AlgorithmSpecification=spec))
    pages = list(
        sagemaker.get_paginator("list_training_jobs").paginate(
            NameContains=marker, SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(page["TrainingJobSummaries"]) for page in pages] == [2, 1]
    assert [s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]] == names
    failed = sagemaker.list_training_jobs(NameContains=marker, StatusEquals="Failed")["TrainingJobSummaries"]
    assert len(failed) == 3
    assert sagemaker.list_training_jobs(NameContains=marker, StatusEquals="Completed")["TrainingJobSummaries"] == []


def test_tags(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tagged")
    spec = {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/nope:1", "TrainingInputMode": "File"}
    arn = sagemaker.create_training_job(
        **training_request(name, breast_cancer, AlgorithmSpecification=spec, Tags=[{"Key": "team", "Value": "a"}])
    )["TrainingJobArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "stage", "Value": "dev"},
        {"Key": "team", "Value": "b"},
    ]
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["stage"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "b"}]
    with pytest.raises(ClientError):
        sagemaker.list_tags(ResourceArn=arn + "-missing")


def test_xgboost_image_uris_from_any_region_are_recognised(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("eu-image")
    image = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.5-1"
    spec = {"TrainingImage": image, "TrainingInputMode": "File"}
    request = training_request(name, breast_cancer, AlgorithmSpecification=spec)
    request["HyperParameters"] = {"objective": "reg:linear", "num_round": "5"}
    sagemaker.create_training_job(**request)
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert np.isfinite([m["Value"] for m in job["FinalMetricDataList"]]).all()
