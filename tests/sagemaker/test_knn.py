"""The built-in k-NN through boto3: a training job on the breast-cancer CSVs whose `test:accuracy` equals
scikit-learn's KNeighborsClassifier on the same split, its model deployed and invoked (plain and verbose
answers), and bad hyperparameters failing the job at once with the container's message."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from tests.hosting import Hosting, csv_body
from tests.sagemaker.support import breast_cancer_csvs, channel, training_request, unique, wait_for_end

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
HYPERPARAMETERS = {"predictor_type": "classifier", "feature_dim": "30", "k": "5", "sample_size": "1000"}


def knn_request(name: str, bucket: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    request = training_request(
        name,
        bucket,
        HyperParameters=hyperparameters,
        InputDataConfig=[
            channel("train", f"s3://{bucket}/bc/train/"),
            channel("test", f"s3://{bucket}/bc/validation/"),
        ],
    )
    request["AlgorithmSpecification"] = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    return request


def _split() -> dict[str, np.ndarray]:
    """The uploaded CSVs as the container reads them (label first)."""
    return {
        key.split("/")[1]: np.loadtxt(io.BytesIO(body), delimiter=",") for key, body in breast_cancer_csvs().items()
    }


def test_trains_with_scikit_learns_accuracy_and_serves_the_model(
    aws: Callable[..., Any], breast_cancer: str, hosting: Hosting
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("knn")
    sagemaker.create_training_job(**knn_request(name, breast_cancer, HYPERPARAMETERS))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert definitions["test:accuracy"] == r"#quality_metric: host=\S+, test accuracy <score>=(\S+)"
    data = _split()
    train, test = data["train"], data["validation"]
    reference = KNeighborsClassifier(n_neighbors=5).fit(train[:, 1:], train[:, 0])
    accuracy = float(np.mean(reference.predict(test[:, 1:]) == test[:, 0]))
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["test:accuracy"] == pytest.approx(accuracy, abs=1e-6) and accuracy > 0.9

    model = hosting.model(job["ModelArtifacts"]["S3ModelArtifacts"], Image=IMAGE)
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    assert hosting.describe(endpoint)["EndpointStatus"] == "InService", hosting.describe(endpoint).get("FailureReason")
    rows = test[:40, 1:]
    response = hosting.invoke(endpoint, csv_body(rows), Accept="application/json")
    assert response["ContentType"] == "application/json"
    predictions = json.loads(response["Body"])["predictions"]
    assert [p["predicted_label"] for p in predictions] == reference.predict(rows).tolist()
    verbose = hosting.invoke(endpoint, csv_body(rows[:2]), Accept="application/json; verbose=true")
    first = json.loads(verbose["Body"])["predictions"][0]
    distances, indices = reference.kneighbors(rows[:1])
    np.testing.assert_allclose(first["distances"], distances[0], rtol=1e-4)
    assert first["labels"] == train[indices[0], 0].tolist()
    lines = hosting.invoke(endpoint, csv_body(rows[:2]), Accept="application/jsonlines")
    assert [json.loads(line) for line in lines["Body"].splitlines()] == predictions[:2]


@pytest.mark.parametrize(
    ("hyperparameters", "cause"),
    [
        ({"predictor_type": "classifier", "k": "5", "sample_size": "100"}, "'feature_dim' is a required property"),
        ({**HYPERPARAMETERS, "kk": "3"}, "Additional properties are not allowed ('kk' was unexpected)"),
        ({**HYPERPARAMETERS, "k": "five"}, "'five' is not of type 'integer'"),
    ],
)
def test_bad_hyperparameters_fail_the_job_at_once(
    aws: Callable[..., Any], breast_cancer: str, hyperparameters: dict[str, str], cause: str
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("knn-bad")
    sagemaker.create_training_job(**knn_request(name, breast_cancer, hyperparameters))
    job = wait_for_end(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Unable to initialize the algorithm.")
    assert f"Caused by: {cause}" in job["FailureReason"]


def test_k_larger_than_the_sample_fails_the_job(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("knn-k")
    sagemaker.create_training_job(
        **knn_request(name, breast_cancer, {**HYPERPARAMETERS, "sample_size": "10", "k": "20"})
    )
    job = wait_for_end(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == "ClientError: k (20) is larger than the number of points in the index (10)"
