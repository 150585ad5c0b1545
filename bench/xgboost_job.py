"""A built-in XGBoost training job on a 285,000 x 30 CSV (shaped like the credit-card fraud set of the
SageMaker tutorials), 100 rounds at depth 5: wall time from CreateTrainingJob to Completed, against
``xgboost.train`` on the same file in one process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import xgboost

from bench.server import bench_server, report

ROWS, FEATURES, ROUNDS, DEPTH = 285_000, 30, 100, 5
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
PARAMS = {"objective": "binary:logistic", "max_depth": DEPTH, "eval_metric": "auc", "tree_method": "hist"}


def make_csv(path: Path) -> None:
    """Fraud-like data: rare positives whose features are shifted; label first, no header."""
    if path.exists():
        return
    rng = np.random.default_rng(42)
    labels = (rng.random(ROWS) < 0.0017).astype(np.float32)
    features = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    features[labels == 1, :10] += rng.normal(1.5, 0.5, size=(int(labels.sum()), 10)).astype(np.float32)
    features[:, -1] = np.abs(features[:, -1]) * 90  # an "Amount"-like column
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([labels, features]), delimiter=",", fmt="%.6g")


def reference_seconds(path: Path) -> float:
    started = time.perf_counter()
    train = xgboost.DMatrix(f"{path}?format=csv&label_column=0")
    xgboost.train(PARAMS, train, num_boost_round=ROUNDS, evals=[(train, "train")], verbose_eval=False)
    return time.perf_counter() - started


def training_request(name: str, instance_type: str, instance_count: int) -> dict[str, Any]:
    """CreateTrainingJob for the built-in XGBoost on the CSV ``make_csv`` wrote to ``s3://bench/fraud/train/``."""
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::000000000000:role/SageForgeRole",
        "HyperParameters": {
            "objective": "binary:logistic",
            "num_round": str(ROUNDS),
            "max_depth": str(DEPTH),
            "eval_metric": "auc",
            "tree_method": "hist",
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/fraud/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bench/output/"},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": instance_count, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def job_seconds(path: Path, data_dir: Path) -> float:
    with bench_server(data_dir) as server:
        s3, sagemaker = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket="bench")
        s3.upload_file(str(path), "bench", "fraud/train/train.csv")
        name = f"bench-xgb-{int(time.time())}"
        started = time.perf_counter()
        sagemaker.create_training_job(**training_request(name, "ml.m5.xlarge", 1))
        while True:
            job = sagemaker.describe_training_job(TrainingJobName=name)
            if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        if job["TrainingJobStatus"] != "Completed":
            raise SystemExit(f"benchmark job ended {job['TrainingJobStatus']}: {job.get('FailureReason')}")
        return elapsed


def run(work: Path) -> None:
    path = work / "fraud.csv"
    make_csv(path)
    reference = reference_seconds(path)
    job = job_seconds(path, work / "server-xgb")
    report(
        f"XGBoost job, {ROWS:,} x {FEATURES} CSV, {ROUNDS} rounds, depth {DEPTH} (goal: ratio <= 1.3)",
        [("wall seconds", f"{job:.2f}", f"{reference:.2f} (xgboost.train)", f"{job / reference:.2f}x")],
    )
