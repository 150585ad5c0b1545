"""Training jobs, tuning trials and endpoint replicas on the two-node Ray cluster, through boto3."""

from __future__ import annotations

import io
import logging
import re
import tarfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import xgboost
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

from sageforge.testing.server import RunningServer
from tests.hosting import Hosting, csv_body, local_predictions
from tests.sagemaker.support import breast_cancer_csvs, training_request, unique, wait_for_end

_PLACED = re.compile(r"^(\S+) of (\S+) runs on Ray node (\w+)")


@pytest.fixture(scope="module")
def bucket(ray_server: RunningServer) -> Iterator[str]:
    """A bucket with the breast-cancer CSVs under bc/."""
    s3 = ray_server.client("s3")
    name = unique("ray-data")
    s3.create_bucket(Bucket=name)
    for key, body in breast_cancer_csvs().items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


def placed_nodes(caplog: pytest.LogCaptureFixture, job: str) -> dict[str, str]:
    """host -> the Ray node the backend placed it on, from the backend's log."""
    found = {}
    for record in caplog.records:
        match = _PLACED.match(record.getMessage())
        if match and match.group(2).startswith(job):
            found[match.group(1)] = match.group(3)
    return found


def test_a_two_instance_xgboost_job_trains_across_both_nodes(
    ray_server: RunningServer, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sageforge.engine.backends.ray")
    sagemaker, s3 = ray_server.client("sagemaker"), ray_server.client("s3")
    name = unique("ray-xgb")
    resources = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5}
    sagemaker.create_training_job(**training_request(name, bucket, ResourceConfig=resources))
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    nodes = placed_nodes(caplog, name)
    assert set(nodes) == {"algo-1", "algo-2"} and nodes["algo-1"] != nodes["algo-2"]
    # Both hosts' logs came back live from their nodes, with XGBoost's evaluation lines.
    logs = ray_server.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=name)
    assert len(streams["logStreams"]) == 2
    assert any(m["MetricName"] == "validation:auc" for m in job["FinalMetricDataList"])
    # The model came back from algo-1's node and predicts.
    key = job["ModelArtifacts"]["S3ModelArtifacts"].split(f"s3://{bucket}/", 1)[1]
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster = xgboost.Booster(model_file=bytearray(member.read()))
    data = load_breast_cancer()
    assert roc_auc_score(data.target, booster.predict(xgboost.DMatrix(data.data))) > 0.95


def test_a_tuning_job_runs_two_trials_at_once_one_per_node(
    ray_server: RunningServer, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sageforge.engine.backends.ray")
    sagemaker = ray_server.client("sagemaker")
    name = unique("ray-hpo")[:32]
    definition = training_request("unused", bucket)
    for key in ("TrainingJobName", "HyperParameters", "StoppingCondition"):
        definition.pop(key)
    definition["StaticHyperParameters"] = {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "10"}
    definition["StoppingCondition"] = {"MaxRuntimeInSeconds": 300}
    sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6"}]},
        },
        TrainingJobDefinition=definition,
    )
    tuning = _wait(
        lambda: sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus",
    )
    assert tuning["HyperParameterTuningJobStatus"] == "Completed", tuning.get("FailureReason")
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 2
    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    jobs = [
        sagemaker.describe_training_job(TrainingJobName=t["TrainingJobName"]) for t in trials["TrainingJobSummaries"]
    ]
    # The two trials overlapped in time, and ran on different nodes.
    (first, second) = sorted(jobs, key=lambda job: job["TrainingStartTime"])
    assert second["TrainingStartTime"] < first["TrainingEndTime"]
    nodes = {placed_nodes(caplog, job["TrainingJobName"])["algo-1"] for job in jobs}
    assert len(nodes) == 2


@pytest.fixture
def hosting(ray_server: RunningServer, bucket: str) -> Iterator[Hosting]:
    """Hosting resources on the Ray server, all deleted at the end; leaked replicas fail the test."""
    helper = Hosting(ray_server.client, ray_server, bucket)
    yield helper
    helper.cleanup()


def test_an_endpoint_has_a_replica_on_each_node_and_answers(hosting: Hosting, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sageforge.engine.backends.ray")
    endpoint = hosting.served_endpoint(count=2)
    assert len(set(placed_nodes(caplog, f"{endpoint}/AllTraffic").values())) == 2
    rows = load_breast_cancer().data[:5]
    for _ in range(6):  # the router spreads them over both replicas
        answer = hosting.invoke(endpoint, csv_body(rows))["Body"]
        assert np.allclose(_scores(answer), local_predictions(rows))


def test_a_transform_job_spreads_its_instances_over_both_nodes(
    hosting: Hosting, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sageforge.engine.backends.ray")
    rows = load_breast_cancer().data[:40]
    for part in range(4):
        hosting.s3.put_object(Bucket=hosting.bucket, Key=f"batch/in/part-{part}.csv", Body=csv_body(rows[part::4]))
    name = unique("ray-transform")
    hosting.sagemaker.create_transform_job(
        TransformJobName=name,
        ModelName=hosting.model(),
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{hosting.bucket}/batch/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{hosting.bucket}/batch/out"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 2},
    )
    job = _wait(lambda: hosting.sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert len(set(placed_nodes(caplog, f"{name}/{name}").values())) == 2
    for part in range(4):
        output = hosting.s3.get_object(Bucket=hosting.bucket, Key=f"batch/out/part-{part}.csv.out")["Body"].read()
        assert np.allclose(_scores(output), local_predictions(rows[part::4]))


def _scores(body: bytes) -> list[float]:
    return [float(value) for value in body.decode().replace("\n", ",").strip(",").split(",")]


def _wait(describe: Callable[[], dict[str, Any]], status: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = describe()
        if described[status] in ("Completed", "Failed", "Stopped"):
            return described
        assert time.monotonic() < deadline, f"still {described[status]}"
        time.sleep(0.2)
