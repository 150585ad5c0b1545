"""Transform jobs across a server that is killed: a finished job's record is kept as it was, and a job that
was running ends Failed with a reason (its replicas died with the server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import requests

from sageforge.ports import free_port
from sageforge.testing.server import RunningServer, client
from tests.hosting import FEATURES, csv_body, model_tarball
from tests.sagemaker.support import ROLE, XGBOOST_IMAGE

BUCKET = "transform-restart"


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sageforge", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env={**os.environ, "SAGEFORGE_LOG_LEVEL": "WARNING"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/_sageforge/health", timeout=1).ok:
                return process, url
        except requests.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
        time.sleep(0.1)


def _job(sagemaker: Any, name: str, prefix: str, **request: Any) -> None:
    sagemaker.create_transform_job(
        TransformJobName=name,
        ModelName="restart-model",
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        **request,
    )


def _wait(sagemaker: Any, name: str, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        description: dict[str, Any] = sagemaker.describe_transform_job(TransformJobName=name)
        if until(description):
            return description
        assert time.monotonic() < deadline, f"{name} is still {description['TransformJobStatus']}"
        time.sleep(0.05)


def test_a_killed_server_keeps_finished_jobs_and_fails_running_ones(
    tmp_path: Path, server_factory: Callable[..., RunningServer]
) -> None:
    process, url = _serve(tmp_path / "data")
    try:
        s3, sagemaker = client("s3", url), client("sagemaker", url)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="model.tar.gz", Body=model_tarball())
        s3.put_object(Bucket=BUCKET, Key="small/rows.csv", Body=csv_body(FEATURES[:5]))
        s3.put_object(Bucket=BUCKET, Key="large/rows.csv", Body=csv_body(np.tile(FEATURES, (40, 1))))
        sagemaker.create_model(
            ModelName="restart-model",
            PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"},
            ExecutionRoleArn=ROLE,
        )
        _job(sagemaker, "finished", "small/")
        finished = _wait(sagemaker, "finished", lambda d: d["TransformJobStatus"] == "Completed")
        # One record per request: still running when the server is killed.
        _job(sagemaker, "running", "large/", BatchStrategy="SingleRecord", MaxConcurrentTransforms=1)
        _wait(sagemaker, "running", lambda d: "TransformStartTime" in d)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    restarted = server_factory(tmp_path / "data").client("sagemaker")
    kept = restarted.describe_transform_job(TransformJobName="finished")
    assert {**kept, "ResponseMetadata": None} == {**finished, "ResponseMetadata": None}
    running = restarted.describe_transform_job(TransformJobName="running")
    assert running["TransformJobStatus"] == "Failed"
    assert "server stopped while this job was running" in running["FailureReason"]
    assert running["TransformEndTime"] >= running["TransformStartTime"]
    listed = restarted.list_transform_jobs(SortBy="Name", SortOrder="Ascending")["TransformJobSummaries"]
    assert [(s["TransformJobName"], s["TransformJobStatus"]) for s in listed] == [
        ("finished", "Completed"),
        ("running", "Failed"),
    ]
