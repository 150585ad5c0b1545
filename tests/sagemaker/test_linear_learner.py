"""The built-in Linear Learner through boto3: a training job on the breast-cancer CSVs with SageMaker's metrics,
its model deployed and invoked, bad hyperparameters failing the job at once with the container's message, and
a tuning job on its per-epoch objective loss."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from tests.hosting import Hosting, csv_body
from tests.sagemaker.support import training_request, unique, wait_for_end
from tests.sagemaker.tuning_support import tuning_request, wait_for_tuning_end

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
HYPERPARAMETERS = {"predictor_type": "binary_classifier", "feature_dim": "30", "mini_batch_size": "50", "epochs": "8"}


def linear_learner_request(name: str, bucket: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    request = training_request(name, bucket, HyperParameters=hyperparameters)
    request["AlgorithmSpecification"] = {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    return request


def test_trains_reports_sagemakers_metrics_and_serves_the_model(
    aws: Callable[..., Any], breast_cancer: str, hosting: Hosting
) -> None:
    sagemaker, s3 = aws("sagemaker"), aws("s3")
    name = unique("linear-learner")
    sagemaker.create_training_job(**linear_learner_request(name, breast_cancer, HYPERPARAMETERS))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    definitions = {d["Name"]: d["Regex"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert definitions["validation:objective_loss"] == (
        r"#quality_metric: host=\S+, epoch=\S+, validation \S+_objective <loss>=(\S+)"
    )
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["validation:binary_classification_accuracy"] > 0.9
    assert metrics["validation:binary_f_beta"] > 0.9 and metrics["train:binary_classification_accuracy"] > 0.9
    assert 0 < metrics["validation:objective_loss"] < 0.3 and metrics["train:progress"] == 100

    key = f"output/{name}/output/model.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=breast_cancer, Key=key)["Body"].read())) as tar:
        assert tar.getnames() == ["model_algo-1"]

    model = hosting.model(job["ModelArtifacts"]["S3ModelArtifacts"], Image=IMAGE)
    endpoint = hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1)))
    assert hosting.describe(endpoint)["EndpointStatus"] == "InService"
    data = load_breast_cancer()
    rows, labels = data.data[:40], data.target[:40]
    response = hosting.invoke(endpoint, csv_body(rows), Accept="application/json")
    assert response["ContentType"] == "application/json"
    predictions = json.loads(response["Body"])["predictions"]
    assert np.mean([p["predicted_label"] for p in predictions] == labels) > 0.9
    assert all(0 <= p["score"] <= 1 for p in predictions)
    instances = json.dumps({"instances": [{"features": row.tolist()} for row in rows[:2]]}).encode()
    as_lines = hosting.invoke(endpoint, instances, ContentType="application/json", Accept="application/jsonlines")
    assert [json.loads(line) for line in as_lines["Body"].splitlines()] == predictions[:2]


@pytest.mark.parametrize(
    ("hyperparameters", "cause"),
    [
        ({"feature_dim": "30"}, "'predictor_type' is a required property"),
        (
            {**HYPERPARAMETERS, "learning_rte": "0.1"},
            "Additional properties are not allowed ('learning_rte' was unexpected)",
        ),
        ({**HYPERPARAMETERS, "epochs": "ten"}, "'ten' is not of type 'integer'"),
    ],
)
def test_bad_hyperparameters_fail_the_job_at_once(
    aws: Callable[..., Any], breast_cancer: str, hyperparameters: dict[str, str], cause: str
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("linear-learner-bad")
    sagemaker.create_training_job(**linear_learner_request(name, breast_cancer, hyperparameters))
    job = wait_for_end(sagemaker, name, timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Unable to initialize the algorithm.")
    assert f"Caused by: {cause}" in job["FailureReason"]


def test_a_tuning_job_minimises_the_validation_objective_loss(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("ll-tune")[:32]
    request = tuning_request(
        name,
        breast_cancer,
        strategy="Random",
        objective=("validation:objective_loss", "Minimize"),
        ranges={"ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.001", "MaxValue": "0.1"}]},
        static=HYPERPARAMETERS,
    )
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = IMAGE
    sagemaker.create_hyper_parameter_tuning_job(**request)
    tuning = wait_for_tuning_end(sagemaker, name)
    assert tuning["HyperParameterTuningJobStatus"] == "Completed", tuning.get("FailureReason")
    best = tuning["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:objective_loss"
    assert 0 < best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] < 0.3
    trial = sagemaker.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert trial["HyperParameters"]["_tuning_objective_metric"] == "validation:objective_loss"
