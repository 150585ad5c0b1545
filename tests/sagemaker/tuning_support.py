"""Helpers for tuning-job API tests: request builders and polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.sagemaker.support import ROLE, XGBOOST_IMAGE, channel

TUNING_ENDED = ("Completed", "Failed", "Stopped")


def tuning_request(
    name: str,
    bucket: str,
    *,
    strategy: str = "Bayesian",
    max_jobs: int | None = 2,
    max_parallel: int = 2,
    ranges: dict[str, Any] | None = None,
    static: dict[str, str] | None = None,
    objective: tuple[str, str] = ("validation:auc", "Maximize"),
    **config: Any,
) -> dict[str, Any]:
    """A CreateHyperParameterTuningJob request over the breast-cancer CSVs; ``config`` adds to the job config."""
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": max_parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"MetricName": objective[0], "Type": objective[1]},
            "ResourceLimits": limits,
            "ParameterRanges": ranges
            if ranges is not None
            else {
                "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}],
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "5"}],
            },
            **config,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static
            if static is not None
            else {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "10"},
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "InputDataConfig": [
                channel("train", f"s3://{bucket}/bc/train/"),
                channel("validation", f"s3://{bucket}/bc/validation/"),
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/tuning-output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        },
    }


def wait_for_tuning(
    sagemaker: Any, name: str, until: Callable[[dict[str, Any]], bool], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        description: dict[str, Any] = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if until(description):
            return description
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting on {name}: {description['HyperParameterTuningJobStatus']} "
                f"{description['TrainingJobStatusCounters']}"
            )
        time.sleep(0.1)


def wait_for_tuning_end(sagemaker: Any, name: str, timeout: float = 120) -> dict[str, Any]:
    return wait_for_tuning(sagemaker, name, lambda d: d["HyperParameterTuningJobStatus"] in TUNING_ENDED, timeout)


def trials(sagemaker: Any, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every trial of the tuning job, following NextToken."""
    found: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, **kwargs, **token
        )
        found.extend(page["TrainingJobSummaries"])
        if "NextToken" not in page:
            return found
        token = {"NextToken": page["NextToken"]}
