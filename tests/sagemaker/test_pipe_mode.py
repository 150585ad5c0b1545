"""Pipe input mode through boto3 and the SDK: the first-party algorithms read a channel streamed through its
`<channel>_0` FIFO and train the model File mode trains; XGBoost refuses Pipe by name."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sagemaker import KMeans
from sagemaker.session import Session
from sklearn.datasets import make_blobs

from sageforge.algorithms.formats import recordio_protobuf
from tests.sagemaker.support import ROLE, channel, training_request, unique, wait_for_end

KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
PROTOBUF = "application/x-recordio-protobuf"


@pytest.fixture
def shards(aws: Callable[..., Any], bucket: str) -> str:
    """300 rows of 4 blobs as three RecordIO-protobuf shards under s3://bucket/pipe/train/."""
    features = make_blobs(300, n_features=5, centers=4, random_state=7)[0].astype(np.float32)
    s3 = aws("s3")
    for index, part in enumerate(np.array_split(features, 3)):
        s3.put_object(Bucket=bucket, Key=f"pipe/train/part-{index}", Body=recordio_protobuf.write_dense(part))
    return bucket


def train_kmeans(aws: Callable[..., Any], bucket: str, mode: str, **channel_fields: Any) -> bytes:
    """Train K-Means on the shards with `mode` as the job's TrainingInputMode; the model.tar.gz's bytes."""
    sagemaker, s3 = aws("sagemaker"), aws("s3")
    name = unique(f"kmeans-{mode.lower()}")
    request = training_request(
        name,
        bucket,
        HyperParameters={"feature_dim": "5", "k": "4", "mini_batch_size": "50", "epochs": "3"},
        InputDataConfig=[{**channel("train", f"s3://{bucket}/pipe/train/"), "ContentType": PROTOBUF, **channel_fields}],
    )
    request["AlgorithmSpecification"] = {"TrainingImage": KMEANS_IMAGE, "TrainingInputMode": mode}
    sagemaker.create_training_job(**request)
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    body = s3.get_object(Bucket=bucket, Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        member = tar.extractfile("model_algo-1")
        assert member is not None
        return member.read()


def test_pipe_mode_trains_the_file_mode_model(aws: Callable[..., Any], shards: str) -> None:
    assert train_kmeans(aws, shards, "Pipe") == train_kmeans(aws, shards, "File")


def test_a_channel_input_mode_overrides_the_job_s(aws: Callable[..., Any], shards: str) -> None:
    assert train_kmeans(aws, shards, "File", InputMode="Pipe") == train_kmeans(aws, shards, "FastFile")


def test_xgboost_refuses_pipe_mode(aws: Callable[..., Any], bucket: str) -> None:
    sagemaker, s3 = aws("sagemaker"), aws("s3")
    for part in ("train", "validation"):
        s3.put_object(Bucket=bucket, Key=f"bc/{part}/data.csv", Body=b"1,0.5\n0,0.25\n")
    name = unique("xgb-pipe")
    request = training_request(name, bucket)
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    sagemaker.create_training_job(**request)
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "ClientError: Channel train: Pipe input mode is not supported by this XGBoost container; use File"
    )


def test_sdk_record_set_in_pipe_mode(sdk_session: Session) -> None:
    features = make_blobs(200, n_features=3, centers=3, random_state=1)[0].astype(np.float32)
    estimator = KMeans(
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        k=3,
        input_mode="Pipe",
        sagemaker_session=sdk_session,
    )
    estimator.fit(estimator.record_set(features, channel="train"), logs=False)
    description = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    assert description["AlgorithmSpecification"]["TrainingInputMode"] == "Pipe"
