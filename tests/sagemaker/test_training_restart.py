"""A restart keeps every job record; a job whose server was killed mid-run ends Failed with a reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from sageforge.ports import free_port
from sageforge.testing.server import RunningServer, client
from tests.sagemaker.support import breast_cancer_csvs, training_request, unique, wait_for, wait_for_end


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


def _upload(s3: Any, bucket: str) -> None:
    s3.create_bucket(Bucket=bucket)
    for key, body in breast_cancer_csvs().items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_killed_server_leaves_no_job_in_progress(tmp_path: Path, server_factory: Callable[..., RunningServer]) -> None:
    process, url = _serve(tmp_path / "data")
    try:
        _upload(client("s3", url), "restart-data")
        sagemaker = client("sagemaker", url)
        name = unique("killed")
        request = training_request(name, "restart-data")
        request["HyperParameters"].update(num_round="1000000", eta="0.001", max_depth="8")
        sagemaker.create_training_job(**request)
        wait_for(sagemaker, name, lambda d: d["SecondaryStatus"] == "Training")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    restarted = server_factory(tmp_path / "data")
    job = restarted.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Failed"
    assert "server stopped while this job was running" in job["FailureReason"]
    assert job["SecondaryStatusTransitions"][-1]["Status"] == "Failed"
    # The bucket and its objects survived the kill too.
    keys = [o["Key"] for o in restarted.client("s3").list_objects_v2(Bucket="restart-data")["Contents"]]
    assert "bc/train/part-0.csv" in keys


def test_restart_keeps_finished_jobs(
    tmp_path: Path, database_url: str, server_factory: Callable[..., RunningServer]
) -> None:
    """On SQLite and on PostgreSQL: buckets, objects, job records and logs survive a restart."""
    first = server_factory(tmp_path / "data", database_url=database_url)
    _upload(first.client("s3"), "kept-data")
    name = unique("kept")
    first.client("sagemaker").create_training_job(**training_request(name, "kept-data"))
    before = wait_for_end(first.client("sagemaker"), name)
    assert before["TrainingJobStatus"] == "Completed", before.get("FailureReason")
    first.stop()

    second = server_factory(tmp_path / "data", database_url=database_url)
    after = second.client("sagemaker").describe_training_job(TrainingJobName=name)
    for key in (
        "TrainingJobStatus",
        "SecondaryStatusTransitions",
        "FinalMetricDataList",
        "ModelArtifacts",
        "CreationTime",
    ):
        assert after[key] == before[key]
    key = before["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://kept-data/")
    assert second.client("s3").head_object(Bucket="kept-data", Key=key)["ContentLength"] > 0
    streams = second.client("logs").describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
    )["logStreams"]
    assert len(streams) == 1 and streams[0]["storedBytes"] > 0


def test_a_relative_data_dir_still_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server_factory: Callable[..., RunningServer]
) -> None:
    # `sageforge demo` and `serve --data-dir .x` name the data dir relative to where they start; each instance
    # runs in a directory beneath it and is told its /opt/ml by path.
    monkeypatch.chdir(tmp_path)
    server = server_factory(Path("relative-data"))
    _upload(server.client("s3"), "relative-data")
    name = unique("relative")
    server.client("sagemaker").create_training_job(**training_request(name, "relative-data"))
    job = wait_for_end(server.client("sagemaker"), name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
