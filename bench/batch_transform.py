"""Batch transform of 1,000,000 CSV rows (30 features) by a built-in XGBoost model on one ml.m5.large instance:
rows/s from CreateTransformJob to Completed (model staging and container start included), against reading
the same file with pandas and calling the booster's ``predict`` in one process (every core, as a user's
script would). The output is checked to hold one prediction per row, equal to the reference's."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost

from bench.server import BenchServer, bench_server, report

ROWS, FEATURES = 1_000_000, 30
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/SageForgeRole"


def make_rows(path: Path) -> None:
    """Features only (what a transform job scores), no header."""
    if path.exists():
        return
    rng = np.random.default_rng(7)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, rng.normal(size=(ROWS, FEATURES)).astype(np.float32), delimiter=",", fmt="%.6g")


def make_model() -> xgboost.Booster:
    rng = np.random.default_rng(11)
    features = rng.normal(size=(20_000, FEATURES))
    labels = (features[:, :5].sum(axis=1) + rng.normal(scale=0.5, size=20_000) > 0).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 5, "tree_method": "hist"}
    return xgboost.train(params, xgboost.DMatrix(features, label=labels), num_boost_round=100)


def reference(path: Path, booster: xgboost.Booster) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    frame = pd.read_csv(path, header=None, dtype=np.float32)
    predictions = booster.predict(xgboost.DMatrix(frame))
    return time.perf_counter() - started, predictions


def transform(server: BenchServer, path: Path, booster: xgboost.Booster) -> tuple[float, np.ndarray]:
    s3, sagemaker = server.client("s3"), server.client("sagemaker")
    s3.create_bucket(Bucket="bench")
    s3.upload_file(str(path), "bench", "batch/input/rows.csv")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        raw = booster.save_raw("ubj")
        member = tarfile.TarInfo("xgboost-model")
        member.size = len(raw)
        tar.addfile(member, io.BytesIO(raw))
    s3.put_object(Bucket="bench", Key="batch/model.tar.gz", Body=archive.getvalue())
    name = f"bench-batch-{int(time.time())}"
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bench/batch/model.tar.gz"},
        ExecutionRoleArn=ROLE,
    )
    started = time.perf_counter()
    sagemaker.create_transform_job(
        TransformJobName=name,
        ModelName=name,
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=6,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/batch/input/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": "s3://bench/batch/output/", "Accept": "text/csv", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    while True:
        job = sagemaker.describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if job["TransformJobStatus"] != "Completed":
        raise SystemExit(f"benchmark transform ended {job['TransformJobStatus']}: {job.get('FailureReason')}")
    body = s3.get_object(Bucket="bench", Key="batch/output/rows.csv.out")["Body"].read()
    return elapsed, np.loadtxt(io.BytesIO(body), dtype=np.float32)


def run(work: Path) -> None:
    path = work / "batch-rows.csv"
    make_rows(path)
    booster = make_model()
    reference_seconds, expected = reference(path, booster)
    with bench_server(work / "server-batch") as server:
        job_seconds, scored = transform(server, path, booster)
    if scored.shape != expected.shape or not np.allclose(scored, expected, atol=1e-6):
        raise SystemExit("the transform's predictions differ from the booster's")
    job_rate, reference_rate = ROWS / job_seconds, ROWS / reference_seconds
    report(
        f"Batch transform, {ROWS:,} x {FEATURES} CSV, one instance (goal: >= 0.5x)",
        [
            (
                "rows/s",
                f"{job_rate:,.0f}",
                f"{reference_rate:,.0f} (read_csv + predict, one process)",
                f"{job_rate / reference_rate:.2f}x",
            ),
            (
                "wall seconds",
                f"{job_seconds:.2f}",
                f"{reference_seconds:.2f}",
                f"{job_seconds / reference_seconds:.2f}x",
            ),
        ],
    )
