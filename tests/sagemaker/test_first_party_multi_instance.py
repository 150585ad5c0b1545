"""Multi-instance first-party jobs through boto3: with `ShardedByS3Key` every host's shard reaches the first host,
so two instances train the model one instance trains on all the data."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from sageforge.algorithms.formats import recordio_protobuf
from tests.sagemaker.support import channel, training_request, unique, wait_for_end

KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


@pytest.fixture
def shards(aws: Callable[..., Any], bucket: str) -> str:
    """300 rows of 4 blobs as five RecordIO-protobuf shards under s3://bucket/multi/train/."""
    features = make_blobs(300, n_features=5, centers=4, random_state=11)[0].astype(np.float32)
    s3 = aws("s3")
    for index, part in enumerate(np.array_split(features, 5)):
        s3.put_object(Bucket=bucket, Key=f"multi/train/part-{index}", Body=recordio_protobuf.write_dense(part))
    return bucket


def train_kmeans(aws: Callable[..., Any], bucket: str, instances: int, mode: str = "File") -> bytes:
    sagemaker, s3 = aws("sagemaker"), aws("s3")
    name = unique(f"kmeans-{instances}")
    train = channel("train", f"s3://{bucket}/multi/train/", S3DataDistributionType="ShardedByS3Key")
    del train["ContentType"]  # as record_set() sends it: no type, RecordIO-protobuf
    request = training_request(
        name,
        bucket,
        HyperParameters={"feature_dim": "5", "k": "4", "mini_batch_size": "40", "epochs": "2"},
        InputDataConfig=[train],
    )
    request["AlgorithmSpecification"] = {"TrainingImage": KMEANS_IMAGE, "TrainingInputMode": mode}
    request["ResourceConfig"]["InstanceCount"] = instances
    sagemaker.create_training_job(**request)
    job = wait_for_end(sagemaker, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    body = s3.get_object(Bucket=bucket, Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.getnames() == ["model_algo-1"]
        member = tar.extractfile("model_algo-1")
        assert member is not None
        return member.read()


def test_two_sharded_instances_train_the_one_instance_model(aws: Callable[..., Any], shards: str) -> None:
    assert train_kmeans(aws, shards, 2) == train_kmeans(aws, shards, 1)


def test_two_sharded_instances_in_pipe_mode(aws: Callable[..., Any], shards: str) -> None:
    # The streams arrive host by host rather than in key order, so only the job's success is compared.
    assert train_kmeans(aws, shards, 2, mode="Pipe")
