"""The built-in IP Insights through boto3: a training job on generated logins (entities that each use a few home
subnets) with SageMaker's metrics, its model deployed and invoked (CSV and JSON in, JSON out, verbose
embeddings), and bad hyperparameters failing the job at once with the container's message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from sageforge.algorithms.linear_learner.metrics import roc_auc
from tests.algorithms.test_ipinsights import csv_body, logins
from tests.hosting import Hosting
from tests.sagemaker.support import channel, training_request, unique, wait_for_end

IMAGE = "174872318107.dkr.ecr.us-west-2.amazonaws.com/ipinsights:1"
HYPERPARAMETERS = {
    "num_entity_vectors": "1000",
    "vector_dim": "16",
    "epochs": "4",
    "mini_batch_size": "200",
    "learning_rate": "0.01",
    "batch_metrics_publish_interval": "20",
}
LOGINS = logins(500, 12000)


@pytest.fixture
def login_data(aws: Callable[..., Any], bucket: str) -> str:
    """`entity,ip` CSVs under s3://bucket/ip/{train,validation}/; returns the bucket."""
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="ip/train/part-0.csv", Body=csv_body(LOGINS[:10000]))
    s3.put_object(Bucket=bucket, Key="ip/validation/part-0.csv", Body=csv_body(LOGINS[10000:]))
    return bucket


def ipinsights_request(name: str, bucket: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    channels = [channel(name, f"s3://{bucket}/ip/{name}/") for name in ("train", "validation")]
    request = training_request(name, bucket, HyperParameters=hyperparameters, InputDataConfig=channels)
    request["AlgorithmSpecification"] = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    return request


def test_trains_reports_the_discriminator_auc_and_serves_the_model(
    aws: Callable[..., Any], login_data: str, hosting: Hosting
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("ipinsights")
    sagemaker.create_training_job(**ipinsights_request(name, login_data, HYPERPARAMETERS))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert definitions["train:binary_classification_accuracy"] == (
        r"#quality_metric: host=\S+, epoch=\S+, batch=\S+ train binary_classification_accuracy <score>=(\S+)"
    )
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["validation:discriminator_auc"] >= 0.9
    assert metrics["train:binary_classification_accuracy:epoch"] > 0.8 and metrics["train:progress"] == 100
    assert "train:binary_classification_cross_entropy" in metrics

    model = hosting.model(job["ModelArtifacts"]["S3ModelArtifacts"], Image=IMAGE)
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    held_out = LOGINS[10000:10200]
    rng = np.random.default_rng(1)
    strangers = [f"{line.split(',')[0]},{'.'.join(map(str, rng.integers(0, 256, 4)))}" for line in held_out]
    response = hosting.invoke(endpoint, csv_body(held_out + strangers), Accept="application/json")
    assert response["ContentType"] == "application/json"
    scores = [prediction["dot_product"] for prediction in json.loads(response["Body"])["predictions"]]
    assert roc_auc(np.array(scores), np.arange(400) < 200) >= 0.9

    instances = {"instances": [{"data": {"features": {"values": line.split(",")}}} for line in held_out[:2]]}
    verbose = hosting.invoke(
        endpoint,
        json.dumps(instances).encode(),
        ContentType="application/json",
        Accept="application/json; verbose=True",
    )
    answers = json.loads(verbose["Body"])["predictions"]
    assert [answer["dot_product"] for answer in answers] == pytest.approx(scores[:2])
    assert all(len(answer["entity_embedding"]) == len(answer["ip_embedding"]) == 16 for answer in answers)


@pytest.mark.parametrize(
    ("hyperparameters", "cause"),
    [
        ({"num_entity_vectors": "1000"}, "Caused by: 'vector_dim' is a required property"),
        (
            {**HYPERPARAMETERS, "random_negative_sampling_rate": "0", "shuffled_negative_sampling_rate": "0"},
            "Caused by: random_negative_sampling_rate + shuffled_negative_sampling_rate must be in [1, 500], not 0",
        ),
        ({**HYPERPARAMETERS, "epochs": "ten"}, "Caused by: 'ten' is not of type 'integer'"),
    ],
)
def test_bad_hyperparameters_fail_the_job_at_once(
    aws: Callable[..., Any], login_data: str, hyperparameters: dict[str, str], cause: str
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("ipinsights-bad")
    sagemaker.create_training_job(**ipinsights_request(name, login_data, hyperparameters))
    job = wait_for_end(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Unable to initialize the algorithm.")
    assert cause in job["FailureReason"]
