"""A restart in the middle of a tuning job: the search resumes, finished trials are kept, and the trial that
was running when the server went down counts as failed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sageforge.testing.server import RunningServer
from tests.sagemaker.support import breast_cancer_csvs, unique
from tests.sagemaker.tuning_support import trials, tuning_request, wait_for_tuning, wait_for_tuning_end


def test_a_restart_resumes_the_search_and_keeps_finished_trials(
    tmp_path: Path, server_factory: Callable[..., RunningServer]
) -> None:
    first = server_factory(tmp_path / "data")
    s3 = first.client("s3")
    s3.create_bucket(Bucket="tuning-restart")
    for key, body in breast_cancer_csvs().items():
        s3.put_object(Bucket="tuning-restart", Key=key, Body=body)
    name = unique("tune-restart")
    # The second configuration is still training when the server goes down.
    grid = {"CategoricalParameterRanges": [{"Name": "num_round", "Values": ["5", "1000000", "6", "7"]}]}
    static = {"objective": "binary:logistic", "eval_metric": "auc"}
    request = tuning_request(
        name, "tuning-restart", strategy="Grid", max_jobs=None, max_parallel=1, ranges=grid, static=static
    )
    sagemaker = first.client("sagemaker")
    sagemaker.create_hyper_parameter_tuning_job(**request)
    wait_for_tuning(sagemaker, name, lambda d: d["TrainingJobStatusCounters"]["Completed"] == 1)
    finished_before = trials(sagemaker, name, StatusEquals="Completed")
    running = wait_for_tuning(sagemaker, name, lambda d: d["TrainingJobStatusCounters"]["InProgress"] == 1)
    assert running["HyperParameterTuningJobStatus"] == "InProgress"
    first.stop()

    second = server_factory(tmp_path / "data")
    sagemaker = second.client("sagemaker")
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"] == {
        "Completed": 3,
        "InProgress": 0,
        "RetryableError": 1,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    summaries = trials(sagemaker, name, SortBy="CreationTime")
    assert [s["TunedHyperParameters"]["num_round"] for s in summaries] == ["5", "1000000", "6", "7"]
    assert summaries[0] == finished_before[0]
    assert summaries[1]["TrainingJobStatus"] == "Failed" and "server" in summaries[1]["FailureReason"]
    assert time.time() - job["CreationTime"].timestamp() < 120
