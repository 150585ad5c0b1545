"""The built-in Random Cut Forest through boto3: a training job on generated data with injected anomalies that
reports SageMaker's `test:f1`, its model deployed and invoked (scores whose AUC on the anomalies is at least
0.9), and a bad hyperparameter failing the job at once with the container's message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.algorithms.opt_ml import csv_rows
from tests.hosting import Hosting, csv_body
from tests.sagemaker.support import channel, training_request, unique, wait_for_end

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/randomcutforest:1"
HYPERPARAMETERS = {"feature_dim": "4", "num_trees": "50", "num_samples_per_tree": "128"}


def anomaly_data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian cloud and, one row in fifty, a point 5 to 8 deviations away from it (label 1)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(rows) % 50 == 13).astype(float)
    directions = rng.normal(size=(rows, 4))
    far = directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(5, 8, size=(rows, 1))
    return np.where(labels[:, None] == 1, far, rng.normal(size=(rows, 4))), labels


@pytest.fixture
def anomalies(aws: Callable[..., Any], bucket: str) -> str:
    s3 = aws("s3")
    x_train, _ = anomaly_data(2000, seed=1)
    x_test, labels = anomaly_data(1000, seed=2)
    s3.put_object(Bucket=bucket, Key="rcf/train/part-0.csv", Body=csv_rows(x_train))
    s3.put_object(Bucket=bucket, Key="rcf/test/part-0.csv", Body=csv_rows(np.column_stack([labels, x_test])))
    return bucket


def rcf_request(name: str, bucket: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    train = channel("train", f"s3://{bucket}/rcf/train/", S3DataDistributionType="ShardedByS3Key")
    test = channel("test", f"s3://{bucket}/rcf/test/")
    train["ContentType"], test["ContentType"] = "text/csv;label_size=0", "text/csv;label_size=1"
    request = training_request(name, bucket, HyperParameters=hyperparameters, InputDataConfig=[train, test])
    request["AlgorithmSpecification"] = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    return request


def test_trains_reports_f1_and_serves_scores(aws: Callable[..., Any], anomalies: str, hosting: Hosting) -> None:
    sagemaker = aws("sagemaker")
    name = unique("rcf")
    sagemaker.create_training_job(**rcf_request(name, anomalies, HYPERPARAMETERS))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert definitions == {"test:f1": r"#quality_metric: host=\S+, test f1 <score>=(\S+)"}
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["test:f1"] > 0.8

    model = hosting.model(job["ModelArtifacts"]["S3ModelArtifacts"], Image=IMAGE)
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    description = hosting.describe(endpoint)
    assert description["EndpointStatus"] == "InService", description.get("FailureReason")
    x, labels = anomaly_data(500, seed=3)
    response = hosting.invoke(endpoint, csv_body(x), Accept="application/json")
    assert response["ContentType"] == "application/json"
    scores = [record["score"] for record in json.loads(response["Body"])["scores"]]
    assert len(scores) == 500 and roc_auc_score(labels, scores) >= 0.9
    lines = hosting.invoke(endpoint, csv_body(x[:3]), Accept="application/jsonlines")
    assert [json.loads(line)["score"] for line in lines["Body"].splitlines()] == pytest.approx(scores[:3])


def test_bad_hyperparameters_fail_the_job_at_once(aws: Callable[..., Any], anomalies: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("rcf-bad")
    sagemaker.create_training_job(**rcf_request(name, anomalies, {**HYPERPARAMETERS, "num_trees": "10"}))
    job = wait_for_end(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Unable to initialize the algorithm.")
    assert "Caused by: 10 is less than the minimum of 50" in job["FailureReason"]
