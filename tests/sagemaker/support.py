"""Helpers for SageMaker API tests: request builders, data sets and job polling."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/SageForgeRole"
ENDED = ("Completed", "Failed", "Stopped")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def csv_rows(features: np.ndarray, labels: np.ndarray) -> bytes:
    rows = (",".join([str(int(y)), *(f"{v:.6g}" for v in x)]) for x, y in zip(features, labels, strict=True))
    return ("\n".join(rows) + "\n").encode()


def breast_cancer_csvs() -> dict[str, bytes]:
    """Train/validation CSVs (label first, no header) of scikit-learn's breast-cancer set, by object key."""
    data = load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(data.target))
    train, validation = order[:420], order[420:]
    return {
        "bc/train/part-0.csv": csv_rows(data.data[train], data.target[train]),
        "bc/validation/part-0.csv": csv_rows(data.data[validation], data.target[validation]),
    }


def channel(name: str, uri: str, **source: Any) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
                **source,
            }
        },
    }


def training_request(name: str, bucket: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "20", "max_depth": "3"},
        "InputDataConfig": [
            channel("train", f"s3://{bucket}/bc/train/"),
            channel("validation", f"s3://{bucket}/bc/validation/"),
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    request.update(overrides)
    return request


def wait_for(
    sagemaker: Any, name: str, until: Callable[[dict[str, Any]], bool], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        description: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
        if until(description):
            return description
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting on {name}: {description['SecondaryStatus']}")
        time.sleep(0.1)


def wait_for_end(sagemaker: Any, name: str, timeout: float = 120) -> dict[str, Any]:
    return wait_for(sagemaker, name, lambda d: d["TrainingJobStatus"] in ENDED, timeout)
