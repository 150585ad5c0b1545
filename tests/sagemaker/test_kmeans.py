"""The built-in K-Means through boto3: a training job on generated blobs (CSV, `label_size=0`) with SageMaker's
`test:msd`/`test:ssd` metrics and an MXNet NDArray `model_algo-1`, of scikit-learn's quality; its model
deployed and invoked; bad hyperparameters, and `k` above the rows, failing the job at once."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from sageforge.algorithms.formats import mxnet_ndarray
from tests.hosting import Hosting, csv_body
from tests.sagemaker.support import channel, training_request, unique, wait_for_end

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
HYPERPARAMETERS = {
    "feature_dim": "6",
    "k": "5",
    "mini_batch_size": "200",
    "epochs": "2",
    "eval_metrics": '["msd", "ssd"]',
}
UNLABELLED_CSV = "text/csv;label_size=0"


@pytest.fixture
def blobs(aws: Callable[..., Any], bucket: str) -> tuple[str, np.ndarray]:
    """600 rows of 5 blobs in 6 dimensions: 500 under s3://bucket/km/train/, 100 under km/test/."""
    features = make_blobs(600, n_features=6, centers=5, random_state=3)[0]
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="km/train/part-0.csv", Body=csv_body(features[:500]))
    s3.put_object(Bucket=bucket, Key="km/test/part-0.csv", Body=csv_body(features[500:]))
    return bucket, features


def kmeans_request(name: str, bucket: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    request = training_request(
        name,
        bucket,
        HyperParameters=hyperparameters,
        InputDataConfig=[
            {**channel("train", f"s3://{bucket}/km/train/"), "ContentType": UNLABELLED_CSV},
            {**channel("test", f"s3://{bucket}/km/test/"), "ContentType": UNLABELLED_CSV},
        ],
    )
    request["AlgorithmSpecification"] = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    return request


def _squared_distances(features: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.asarray(((features[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2).min(axis=1))


def test_trains_reports_sagemakers_metrics_and_serves_the_model(
    aws: Callable[..., Any], blobs: tuple[str, np.ndarray], hosting: Hosting
) -> None:
    bucket, features = blobs
    sagemaker, s3 = aws("sagemaker"), aws("s3")
    name = unique("kmeans")
    sagemaker.create_training_job(**kmeans_request(name, bucket, HYPERPARAMETERS))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert definitions["test:msd"] == r"#quality_metric: host=\S+, test msd <loss>=(\S+)"
    assert definitions["test:ssd"] == r"#quality_metric: host=\S+, test ssd <loss>=(\S+)"
    key = f"output/{name}/output/model.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        assert tar.getnames() == ["model_algo-1"]
        model_file = tar.extractfile("model_algo-1")
        assert model_file is not None
        (centroids,) = mxnet_ndarray.read(model_file.read())
    assert centroids.shape == (5, 6)

    # Quality: the train inertia within 5% of scikit-learn's KMeans on the same rows.
    inertia = _squared_distances(features[:500], centroids.astype(np.float64)).sum()
    reference = KMeans(n_clusters=5, n_init="auto", random_state=0).fit(features[:500]).inertia_
    assert inertia <= 1.05 * reference
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    test_squared = _squared_distances(features[500:], centroids.astype(np.float64))
    assert metrics["test:msd"] == pytest.approx(test_squared.mean(), rel=1e-3)
    assert metrics["test:ssd"] == pytest.approx(test_squared.sum(), rel=1e-3)
    assert metrics["train:progress"] == 100

    model = hosting.model(job["ModelArtifacts"]["S3ModelArtifacts"], Image=IMAGE)
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    description = hosting.describe(endpoint)
    assert description["EndpointStatus"] == "InService", description.get("FailureReason")
    rows = features[500:520]
    nearest = np.argmin(((rows[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2), axis=1)
    response = hosting.invoke(endpoint, csv_body(rows), Accept="application/json")
    assert response["ContentType"] == "application/json"
    predictions = json.loads(response["Body"])["predictions"]
    assert [p["closest_cluster"] for p in predictions] == nearest.astype(float).tolist()
    assert [p["distance_to_cluster"] for p in predictions] == pytest.approx(
        np.sqrt(_squared_distances(rows, centroids.astype(np.float64))), rel=1e-4
    )
    as_csv = hosting.invoke(endpoint, csv_body(rows[:2]), Accept="text/csv")
    assert as_csv["ContentType"] == "text/csv"
    assert [line.split(",")[0] for line in as_csv["Body"].decode().splitlines()] == [
        str(float(cluster)) for cluster in nearest[:2]
    ]


@pytest.mark.parametrize(
    ("hyperparameters", "cause"),
    [
        ({"k": "5"}, "Caused by: 'feature_dim' is a required property"),
        ({**HYPERPARAMETERS, "k": "501"}, "k=501 is greater than the number of rows in the train channel (500)"),
        (
            {**HYPERPARAMETERS, "centers": "5"},
            "Caused by: Additional properties are not allowed ('centers' was unexpected)",
        ),
        ({**HYPERPARAMETERS, "epochs": "two"}, "Caused by: 'two' is not of type 'integer'"),
    ],
)
def test_bad_hyperparameters_fail_the_job_at_once(
    aws: Callable[..., Any], blobs: tuple[str, np.ndarray], hyperparameters: dict[str, str], cause: str
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("kmeans-bad")
    sagemaker.create_training_job(**kmeans_request(name, blobs[0], hyperparameters))
    job = wait_for_end(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ") and cause in job["FailureReason"]
