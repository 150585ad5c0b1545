"""The built-in PCA through boto3: a training job on the digits (CSV, `label_size=0`) whose MXNet NDArray
`model_algo-1` explains the variance scikit-learn's PCA does, its model deployed and invoked, and bad
hyperparameters failing the job at once with the container's message."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from sageforge.algorithms.formats import mxnet_ndarray
from tests.hosting import Hosting, csv_body
from tests.sagemaker.support import channel, training_request, unique, wait_for_end

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1"
HYPERPARAMETERS = {"feature_dim": "64", "mini_batch_size": "500", "num_components": "10"}


@pytest.fixture
def digits(aws: Callable[..., Any], bucket: str) -> tuple[str, np.ndarray]:
    """The digits' 1797 rows under s3://bucket/digits/train/, features only."""
    features = load_digits().data
    aws("s3").put_object(Bucket=bucket, Key="digits/train/part-0.csv", Body=csv_body(features))
    return bucket, features


def pca_request(name: str, bucket: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    request = training_request(
        name,
        bucket,
        HyperParameters=hyperparameters,
        InputDataConfig=[{**channel("train", f"s3://{bucket}/digits/train/"), "ContentType": "text/csv;label_size=0"}],
    )
    request["AlgorithmSpecification"] = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    return request


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_trains_a_model_of_scikit_learns_quality_and_serves_it(
    aws: Callable[..., Any], digits: tuple[str, np.ndarray], hosting: Hosting, mode: str
) -> None:
    bucket, features = digits
    sagemaker, s3 = aws("sagemaker"), aws("s3")
    name = unique("pca")
    sagemaker.create_training_job(**pca_request(name, bucket, {**HYPERPARAMETERS, "algorithm_mode": mode}))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    definitions = {d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert definitions == {"train:progress", "train:throughput"}
    assert {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}["train:progress"] == 100

    key = f"output/{name}/output/model.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        assert tar.getnames() == ["model_algo-1"]
        model_file = tar.extractfile("model_algo-1")
        assert model_file is not None
        arrays = mxnet_ndarray.read(model_file.read())
    assert isinstance(arrays, dict) and set(arrays) == {"mean", "v", "s"}
    # Quality: the variance each component explains within 1% of scikit-learn's (ours ascend, its descend).
    reference = PCA(n_components=10, svd_solver="full").fit(features)
    explained = arrays["s"].astype(np.float64)[::-1] ** 2 / (len(features) - 1)
    np.testing.assert_allclose(explained, reference.explained_variance_, rtol=0.01)

    model = hosting.model(job["ModelArtifacts"]["S3ModelArtifacts"], Image=IMAGE)
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    description = hosting.describe(endpoint)
    assert description["EndpointStatus"] == "InService", description.get("FailureReason")
    rows = features[:5]
    response = hosting.invoke(endpoint, csv_body(rows), Accept="application/json")
    assert response["ContentType"] == "application/json"
    projections = [p["projection"] for p in json.loads(response["Body"])["projections"]]
    expected = (rows - arrays["mean"].astype(np.float64)) @ arrays["v"].astype(np.float64)
    np.testing.assert_allclose(projections, expected, rtol=1e-4, atol=1e-3)
    lines = hosting.invoke(endpoint, csv_body(rows[:2]), Accept="application/jsonlines")["Body"].splitlines()
    assert [json.loads(line)["projection"] for line in lines] == projections[:2]


@pytest.mark.parametrize(
    ("hyperparameters", "cause"),
    [
        ({"mini_batch_size": "500", "num_components": "10"}, "'feature_dim' is a required property"),
        ({"feature_dim": "64", "mini_batch_size": "500"}, "'num_components' is a required property"),
        ({**HYPERPARAMETERS, "components": "3"}, "Additional properties are not allowed ('components' was unexpected)"),
        ({**HYPERPARAMETERS, "num_components": "ten"}, "'ten' is not of type 'integer'"),
    ],
)
def test_bad_hyperparameters_fail_the_job_at_once(
    aws: Callable[..., Any], digits: tuple[str, np.ndarray], hyperparameters: dict[str, str], cause: str
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("pca-bad")
    sagemaker.create_training_job(**pca_request(name, digits[0], hyperparameters))
    job = wait_for_end(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Unable to initialize the algorithm.")
    assert f"Caused by: {cause}" in job["FailureReason"]
