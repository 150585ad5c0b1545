"""The built-in Factorization Machines through boto3: a training job on sparse one-hot ratings in
RecordIO-protobuf with SageMaker's test metrics, its model deployed and invoked (JSON and RecordIO, CSV
refused), and bad hyperparameters or a CSV channel failing the job at once with the container's message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import numpy as np
import pytest

from sageforge.algorithms.formats import recordio_protobuf
from tests.algorithms.test_factorization_machines import ratings
from tests.hosting import Hosting
from tests.sagemaker.support import channel, training_request, unique, wait_for_end

IMAGE = "174872318107.dkr.ecr.us-west-2.amazonaws.com/factorization-machines:1"
RECORDIO = "application/x-recordio-protobuf"
HYPERPARAMETERS = {
    "feature_dim": "500",
    "num_factors": "8",
    "predictor_type": "binary_classifier",
    "epochs": "10",
    "mini_batch_size": "200",
    "bias_lr": "0.05",
    "linear_lr": "0.05",
    "factors_lr": "0.05",
    "factors_init_sigma": "0.1",
    "linear_wd": "0.0001",
    "factors_wd": "0.0001",
}


@pytest.fixture
def liked(aws: Callable[..., Any], bucket: str) -> str:
    """Sparse one-hot (user, item) rows labelled 1 when the rating is above the median, as the SDK's
    `write_spmatrix_to_sparse_tensor` writes them, under s3://bucket/fm/{train,test}/; returns the bucket."""
    s3 = aws("s3")
    features, rating = ratings(12000)
    labels = (rating > np.median(rating)).astype(np.float32)
    for name, rows in (("train", slice(0, 9600)), ("test", slice(9600, None))):
        body = recordio_protobuf.write_sparse(features[rows], labels[rows])
        s3.put_object(Bucket=bucket, Key=f"fm/{name}/part-0.pbr", Body=body)
    return bucket


def fm_request(name: str, bucket: str, hyperparameters: dict[str, str], content_type: str = RECORDIO) -> dict[str, Any]:
    channels = [channel(name, f"s3://{bucket}/fm/{name}/") for name in ("train", "test")]
    for entry in channels:
        entry["ContentType"] = content_type
    request = training_request(name, bucket, HyperParameters=hyperparameters, InputDataConfig=channels)
    request["AlgorithmSpecification"] = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    return request


def test_trains_reports_the_test_metrics_and_serves_the_model(
    aws: Callable[..., Any], liked: str, hosting: Hosting
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("fm")
    sagemaker.create_training_job(**fm_request(name, liked, HYPERPARAMETERS))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert definitions["test:binary_f_beta"] == r"#quality_metric: host=\S+, test binary_f_\S+ <score>=(\S+)"
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    # Logistic regression on the same one-hot features reaches about 0.62: the labels hang on the interaction.
    assert metrics["test:binary_classification_accuracy"] > 0.8
    assert metrics["test:binary_f_beta"] > 0.8 and metrics["test:binary_classification_cross_entropy"] < 0.45
    assert metrics["train:progress"] == 100

    model = hosting.model(job["ModelArtifacts"]["S3ModelArtifacts"], Image=IMAGE)
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    features, rating = ratings(12000)  # the rows the job held out as its test channel
    median = np.median(rating)
    features, rating = features[-200:], rating[-200:]
    instances = [
        {"data": {"features": {"keys": row.indices.tolist(), "shape": [500], "values": row.data.tolist()}}}
        for row in features
    ]
    response = hosting.invoke(endpoint, json.dumps({"instances": instances}).encode(), ContentType="application/json")
    assert response["ContentType"] == "application/json"
    predictions = json.loads(response["Body"])["predictions"]
    labels = rating > median
    assert np.mean([p["predicted_label"] == label for p, label in zip(predictions, labels, strict=True)]) > 0.8
    assert all(0 <= p["score"] <= 1 for p in predictions)

    records = hosting.invoke(
        endpoint, recordio_protobuf.write_sparse(features[:3]), ContentType=RECORDIO, Accept=RECORDIO
    )
    answered = recordio_protobuf.read_records(records["Body"])
    assert [round(float(r.label["score"].values[0]), 5) for r in answered] == [
        round(p["score"], 5) for p in predictions[:3]
    ]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        hosting.invoke(endpoint, b"1,0,1\n", ContentType="text/csv")
    assert refused.value.response["OriginalStatusCode"] == 415


@pytest.mark.parametrize(
    ("hyperparameters", "content_type", "cause"),
    [
        ({**HYPERPARAMETERS, "num_factors": "0"}, RECORDIO, "Caused by: 0 is less than the minimum of 1"),
        (
            {k: v for k, v in HYPERPARAMETERS.items() if k != "feature_dim"},
            RECORDIO,
            "Caused by: 'feature_dim' is a required property",
        ),
        ({**HYPERPARAMETERS, "num_factor": "8"}, RECORDIO, "('num_factor' was unexpected)"),
        (HYPERPARAMETERS, "text/csv", "Factorization Machines reads application/x-recordio-protobuf only"),
    ],
)
def test_bad_hyperparameters_or_csv_fail_the_job_at_once(
    aws: Callable[..., Any], liked: str, hyperparameters: dict[str, str], content_type: str, cause: str
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("fm-bad")
    sagemaker.create_training_job(**fm_request(name, liked, hyperparameters, content_type))
    job = wait_for_end(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ") and cause in job["FailureReason"]
