"""Hyperparameter tuning jobs through boto3: real XGBoost trials searched by each strategy, early stopping,
completion criteria, warm starts, a restart mid-search, and the errors a SageMaker user can run into."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sageforge.store.metadata.records import Record
from sageforge.testing.server import RunningServer, client
from tests.sagemaker.support import training_request, unique, wait_for
from tests.sagemaker.tuning_support import trials, tuning_request, wait_for_tuning, wait_for_tuning_end

ETA_GRID = {"CategoricalParameterRanges": [{"Name": "eta", "Values": ["0.3", "0.31", "0.32", "0.0001"]}]}
# Trials that would run for minutes unless something stops them.
ENDLESS = {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "1000000"}


def _objectives(summaries: list[dict[str, Any]]) -> list[float]:
    return [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]


class _Observer:
    def __init__(self) -> None:
        self.metrics: list[tuple[str, float]] = []
        self.finished: queue.Queue[Record] = queue.Queue()

    def on_metric(self, name: str, value: float, at: float) -> None:
        self.metrics.append((name, value))

    def on_finished(self, record: Record) -> None:
        self.finished.put(record)


def test_the_training_manager_shows_a_job_to_its_observer(server: RunningServer, breast_cancer: str) -> None:
    name = unique("observed")
    request = training_request(name, breast_cancer)
    request["HyperParameters"]["_tuning_objective_metric"] = "validation:r2"
    request["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "ObjectiveMetric", "Regex": r".*\[[0-9]+\].*#011validation-r2:(\S+)"}
    ]
    observer = _Observer()
    tuning_arn = "arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/observer"
    manager = server.app.state.platform.training_jobs
    manager.create("000000000000", "us-east-1", request, observer=observer, tuning_job_arn=tuning_arn)
    record = observer.finished.get(timeout=120)
    assert record.status == "Completed" and record.name == name
    # Every observation, in order: one per round for each metric the job's definitions match.
    objective = [value for metric, value in observer.metrics if metric == "ObjectiveMetric"]
    assert len(objective) == 20
    assert objective[-1] == record.body["state"]["FinalMetrics"]["ObjectiveMetric"]["Value"]
    assert [value for metric, value in observer.metrics if metric == "validation:r2"] == []
    job = server.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert job["TuningJobArn"] == tuning_arn
    assert job["AlgorithmSpecification"]["MetricDefinitions"][-1]["Name"] == "ObjectiveMetric"


def test_bayesian_search_runs_real_trials_and_reports_the_best(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune")
    request = tuning_request(name, breast_cancer, max_jobs=4, max_parallel=2)
    request["Tags"] = [{"Key": "team", "Value": "hpo"}]
    arn = sagemaker.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/{name}"

    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"] == {
        "Completed": 4,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    assert job["CreationTime"] <= job["HyperParameterTuningEndTime"]
    assert job["ConsumedResources"]["RuntimeInSeconds"] >= 0
    assert "NumberOfTrainingJobsObjectiveNotImproving" in job["TuningJobCompletionDetails"]
    # The request as given, with the members SageMaker describes when a request leaves them out.
    assert job["HyperParameterTuningJobConfig"] == {
        **request["HyperParameterTuningJobConfig"],
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Auto"}],
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "5", "ScalingType": "Auto"}],
            "CategoricalParameterRanges": [],
        },
        "TrainingJobEarlyStoppingType": "Off",
    }
    definition = job["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"]["_tuning_objective_metric"] == "validation:auc"
    assert definition["ResourceConfig"] == request["TrainingJobDefinition"]["ResourceConfig"]
    assert (definition["EnableNetworkIsolation"], definition["EnableManagedSpotTraining"]) == (False, False)
    # The built-in's registered metric definitions, the objective among them.
    metrics = {item["Name"] for item in definition["AlgorithmSpecification"]["MetricDefinitions"]}
    assert {"validation:auc", "train:auc"} <= metrics

    summaries = trials(sagemaker, name)
    assert [s["TrainingJobName"] for s in summaries] == sorted(s["TrainingJobName"] for s in summaries)
    assert all(s["TrainingJobName"].startswith(f"{name}-00") for s in summaries)
    best = job["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(_objectives(summaries)) > 0.9
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:auc"
    for summary in summaries:
        tuned = summary["TunedHyperParameters"]
        assert set(tuned) == {"eta", "max_depth"}
        assert 0.1 <= float(tuned["eta"]) <= 0.5 and 2 <= int(tuned["max_depth"]) <= 5
    # Two trials were in flight at once: the second was created before the first ended.
    first, second = sorted(summaries, key=lambda s: s["CreationTime"])[:2]
    assert second["CreationTime"] < first["TrainingEndTime"]

    trial = sagemaker.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert trial["TuningJobArn"] == arn
    assert trial["HyperParameters"]["_tuning_objective_metric"] == "validation:auc"
    assert trial["HyperParameters"]["num_round"] == "10"
    assert aws("sagemaker").list_tags(ResourceArn=trial["TrainingJobArn"])["Tags"] == request["Tags"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == request["Tags"]
    listed = sagemaker.list_training_jobs(NameContains=name, MaxResults=10)["TrainingJobSummaries"]
    assert len(listed) == 4


def test_listing_trials_sorts_filters_and_pages(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-list")
    grid = {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["1", "2", "3"]}]}
    static = {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "3"}
    request = tuning_request(name, breast_cancer, strategy="Grid", max_jobs=None, ranges=grid, static=static)
    sagemaker.create_hyper_parameter_tuning_job(**request)
    assert wait_for_tuning_end(sagemaker, name)["HyperParameterTuningJobStatus"] == "Completed"

    descending = trials(sagemaker, name, SortBy="FinalObjectiveMetricValue", SortOrder="Descending", MaxResults=1)
    assert len(descending) == 3
    assert _objectives(descending) == sorted(_objectives(descending), reverse=True)
    assert [s["TrainingJobStatus"] for s in trials(sagemaker, name, StatusEquals="Completed")] == ["Completed"] * 3
    assert trials(sagemaker, name, StatusEquals="Failed") == []
    by_time = trials(sagemaker, name, SortBy="CreationTime")
    assert [s["TunedHyperParameters"]["max_depth"] for s in by_time] == ["1", "2", "3"]

    listed = sagemaker.list_hyper_parameter_tuning_jobs(NameContains=name, StatusEquals="Completed")
    (summary,) = listed["HyperParameterTuningJobSummaries"]
    assert summary["Strategy"] == "Grid" and summary["TrainingJobStatusCounters"]["Completed"] == 3
    assert summary["ResourceLimits"] == {"MaxParallelTrainingJobs": 2}


def test_an_objective_the_builtin_does_not_register_is_appended_as_objective_metric(
    aws: Callable[..., Any], breast_cancer: str
) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-objmetric")
    request = tuning_request(
        name, breast_cancer, strategy="Random", max_jobs=2, objective=("validation:balanced_accuracy", "Maximize")
    )
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, name)
    assert job["ObjectiveStatusCounters"]["Succeeded"] == 2, job
    trial = sagemaker.describe_training_job(TrainingJobName=job["BestTrainingJob"]["TrainingJobName"])
    definitions = trial["AlgorithmSpecification"]["MetricDefinitions"]
    assert definitions[-1]["Name"] == "ObjectiveMetric"
    assert "#011validation-balanced_accuracy:" in definitions[-1]["Regex"]
    metrics = {m["MetricName"]: m["Value"] for m in trial["FinalMetricDataList"]}
    assert metrics["ObjectiveMetric"] == job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    # The tuning job describes the definition its trials carry, ObjectiveMetric last ...
    described = job["TrainingJobDefinition"]
    assert described["AlgorithmSpecification"]["MetricDefinitions"][-1] == definitions[-1]

    # ... and a tuning job created from that description (the SDK's warm start of an attached tuner does so)
    # gives its trials that definition once.
    copy = unique("tune-objcopy")
    request = tuning_request(
        copy,
        breast_cancer,
        strategy="Random",
        max_jobs=1,
        max_parallel=1,
        objective=("validation:balanced_accuracy", "Maximize"),
    )
    request["TrainingJobDefinition"] = described
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, copy)
    trial = sagemaker.describe_training_job(TrainingJobName=job["BestTrainingJob"]["TrainingJobName"])
    names = [item["Name"] for item in trial["AlgorithmSpecification"]["MetricDefinitions"]]
    assert names.count("ObjectiveMetric") == 1


def test_early_stopping_stops_a_trial_worse_than_the_median(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-early")
    # Minimizing validation logloss: eta 0.3x converge and stop themselves (early_stopping_rounds) within
    # ~40 rounds; eta 0.0001 would crawl through a million rounds, far behind the median from its first one.
    static = {"objective": "binary:logistic", "num_round": "1000000", "early_stopping_rounds": "5"}
    request = tuning_request(
        name,
        breast_cancer,
        strategy="Grid",
        max_jobs=None,
        max_parallel=1,
        ranges=ETA_GRID,
        static=static,
        objective=("validation:logloss", "Minimize"),
        TrainingJobEarlyStoppingType="Auto",
    )
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 3 and job["TrainingJobStatusCounters"]["Stopped"] == 1
    (stopped,) = trials(sagemaker, name, StatusEquals="Stopped")
    assert stopped["TunedHyperParameters"] == {"eta": "0.0001"}
    # Stopped early, its objective still counts.
    assert stopped["ObjectiveStatus"] == "Succeeded"
    assert job["BestTrainingJob"]["TunedHyperParameters"]["eta"] != "0.0001"


def test_hyperband_stops_trials_at_its_rungs_and_maximum_resource(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-hyperband")
    request = tuning_request(
        name,
        breast_cancer,
        strategy="Hyperband",
        max_jobs=3,
        max_parallel=1,
        static=ENDLESS,
        StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}},
    )
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    # No trial may train past MaxResource rounds, and each ran long enough to report its objective.
    assert job["TrainingJobStatusCounters"]["Stopped"] == 3
    assert job["ObjectiveStatusCounters"]["Succeeded"] == 3
    assert job["BestTrainingJob"]["TrainingJobStatus"] == "Stopped"


def test_failed_trials_are_counted_and_the_search_goes_on(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-failing")
    # reg:gamma refuses 0/1 labels with an AUC metric: that trial fails with a ClientError.
    grid = {"CategoricalParameterRanges": [{"Name": "objective", "Values": ["reg:gamma", "binary:logistic"]}]}
    static = {"eval_metric": "auc", "num_round": "3"}
    sagemaker.create_hyper_parameter_tuning_job(
        **tuning_request(
            name, breast_cancer, strategy="Grid", max_jobs=None, max_parallel=1, ranges=grid, static=static
        )
    )
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["NonRetryableError"] == 1
    assert job["TrainingJobStatusCounters"]["Completed"] == 1
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 1, "Pending": 0, "Failed": 1}
    (failed,) = trials(sagemaker, name, StatusEquals="Failed")
    assert failed["ObjectiveStatus"] == "Failed" and failed["FailureReason"].startswith("ClientError")
    assert "FinalHyperParameterTuningJobObjectiveMetric" not in failed


def test_a_search_whose_trials_all_fail_ends_failed(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-custom-image")
    request = tuning_request(name, breast_cancer, strategy="Random", max_jobs=3, max_parallel=1)
    request["TrainingJobDefinition"]["AlgorithmSpecification"] = {
        "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own:latest",
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:auc", "Regex": "auc=([0-9.]+)"}],
    }
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert "objective metric" in job["FailureReason"]
    assert job["TrainingJobStatusCounters"]["NonRetryableError"] == 3
    assert "BestTrainingJob" not in job


def test_stopping_a_tuning_job_stops_its_trials(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-stop")
    sagemaker.create_hyper_parameter_tuning_job(
        **tuning_request(name, breast_cancer, strategy="Random", max_jobs=4, max_parallel=1, static=ENDLESS)
    )
    running = wait_for_tuning(sagemaker, name, lambda d: d["TrainingJobStatusCounters"]["InProgress"] == 1)
    assert running["ObjectiveStatusCounters"]["Pending"] == 1
    (trial,) = trials(sagemaker, name)
    wait_for(sagemaker, trial["TrainingJobName"], lambda d: d["SecondaryStatus"] == "Training")
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "HyperParameterTuningJobStatus"
    ] in ("Stopping", "Stopped")
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    assert job["TrainingJobStatusCounters"]["Stopped"] == 1 and len(trials(sagemaker, name)) == 1
    with pytest.raises(ClientError) as caught:
        sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_target_objective_value_completes_the_search(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-target")
    request = tuning_request(
        name,
        breast_cancer,
        strategy="Random",
        max_jobs=10,
        max_parallel=1,
        TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 0.5},
    )
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 1
    # A Completed tuning job cannot be stopped.
    with pytest.raises(ClientError) as caught:
        sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "in status Completed" in caught.value.response["Error"]["Message"]


def test_best_objective_not_improving_completes_the_search(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-flat")
    # One configuration over and over: nothing after the first trial improves on it.
    grid = {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "3"}]}
    request = tuning_request(
        name,
        breast_cancer,
        strategy="Random",
        max_jobs=10,
        max_parallel=1,
        ranges=grid,
        static={"objective": "binary:logistic", "eval_metric": "auc", "num_round": "3"},
        TuningJobCompletionCriteria={"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}},
    )
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 4
    assert job["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3


def test_convergence_detected_completes_the_search_early(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-converged")
    # One configuration over and over: the best objective is flat, so the search has converged as soon as
    # enough trials (sageforge.hpo.completion.CONVERGENCE_MIN_TRIALS, 10) reported it, half the budget.
    request = tuning_request(
        name,
        breast_cancer,
        strategy="Random",
        max_jobs=20,
        max_parallel=1,
        ranges={"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "3"}]},
        static={"objective": "binary:logistic", "eval_metric": "auc", "num_round": "2"},
        TuningJobCompletionCriteria={"ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}},
    )
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 10
    assert job["TrainingJobStatusCounters"]["InProgress"] == job["TrainingJobStatusCounters"]["Stopped"] == 0
    details = job["TuningJobCompletionDetails"]
    assert job["CreationTime"] <= details["ConvergenceDetectedTime"] <= job["HyperParameterTuningEndTime"]
    assert details["NumberOfTrainingJobsObjectiveNotImproving"] == 9
    assert job["HyperParameterTuningJobConfig"]["TuningJobCompletionCriteria"] == {
        "ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}
    }


def test_max_runtime_ends_the_search_and_stops_its_trials(server: RunningServer, breast_cancer: str) -> None:
    # MaxRuntimeInSeconds is at least 120 on the wire; the manager is driven directly with a shorter one.
    name = unique("tune-runtime")
    request = tuning_request(name, breast_cancer, strategy="Random", max_jobs=5, max_parallel=1, static=ENDLESS)
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 5
    server.app.state.platform.tuning_jobs.create("000000000000", "us-east-1", request)
    # A client that does not check output shapes: the job echoes its (off-the-wire) five-second limit.
    sagemaker = client("sagemaker", server.url)
    job = wait_for_tuning_end(sagemaker, name)
    # The one trial, endless, was stopped: no second one was launched.
    assert job["TrainingJobStatusCounters"] == {
        "Completed": 0,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 1,
    }
    # Completed with the stopped trial's objective (Failed only if it had not reported one in five seconds).
    reported = job["ObjectiveStatusCounters"]["Succeeded"] == 1
    assert job["HyperParameterTuningJobStatus"] == ("Completed" if reported else "Failed")
    assert job["HyperParameterTuningEndTime"] >= job["CreationTime"]


def test_warm_start_from_a_parent_tuning_job(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    parent = unique("tune-parent")
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request(parent, breast_cancer, max_jobs=2))
    parent_job = wait_for_tuning_end(sagemaker, parent)

    child = unique("tune-child")
    request = tuning_request(child, breast_cancer, max_jobs=2)
    request["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"][0]["MaxValue"] = "0.4"
    request["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    sagemaker.create_hyper_parameter_tuning_job(**request)
    job = wait_for_tuning_end(sagemaker, child)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["WarmStartConfig"] == request["WarmStartConfig"]
    assert len(trials(sagemaker, child)) == 2  # parents' trials seed the search but are not the child's
    overall = job["OverallBestTrainingJob"]
    values = [parent_job["BestTrainingJob"], job["BestTrainingJob"]]
    best = max(v["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for v in values)
    assert overall["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == best
    assert overall["TuningJobName"] in (parent, child)

    # Transfer learning may change the data and the static values; identical-data warm starts may not.
    transfer = tuning_request(unique("tune-transfer"), breast_cancer, max_jobs=1, max_parallel=1)
    transfer["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "5"
    transfer["TrainingJobDefinition"]["InputDataConfig"][0]["CompressionType"] = "None"
    identical = {**transfer, "HyperParameterTuningJobName": unique("tune-identical")}
    transfer["WarmStartConfig"] = {**request["WarmStartConfig"], "WarmStartType": "TransferLearning"}
    identical["WarmStartConfig"] = request["WarmStartConfig"]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_hyper_parameter_tuning_job(**identical)
    assert "input data of the parent job" in caught.value.response["Error"]["Message"]
    sagemaker.create_hyper_parameter_tuning_job(**transfer)
    assert wait_for_tuning_end(sagemaker, transfer["HyperParameterTuningJobName"])["ObjectiveStatusCounters"] == {
        "Succeeded": 1,
        "Pending": 0,
        "Failed": 0,
    }


CONFIG = "HyperParameterTuningJobConfig"
RANGES = f"{CONFIG}.ParameterRanges"


def _set(request: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = request
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[last] = value


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {f"{RANGES}.IntegerParameterRanges.0.MinValue": "9"},
            "The MinValue (9) of hyperparameter 'max_depth' must be less than or equal to its MaxValue (5).",
        ),
        (
            {
                f"{RANGES}.ContinuousParameterRanges.0.ScalingType": "Logarithmic",
                f"{RANGES}.ContinuousParameterRanges.0.MinValue": "0",
            },
            "uses Logarithmic scaling, which works only for ranges whose values are all greater than 0",
        ),
        (
            {f"{CONFIG}.HyperParameterTuningJobObjective.MetricName": "validation:foo"},
            "The objective metric for the hyperparameter tuning job, [validation:foo], isn't valid for the [xgboost] "
            "algorithm.",
        ),
        (
            {f"{CONFIG}.HyperParameterTuningJobObjective.Type": "Minimize"},
            "The objective metric type, [Minimize], that you specified for objective metric, [validation:auc], "
            "isn't valid",
        ),
        (
            {f"{CONFIG}.ResourceLimits.MaxParallelTrainingJobs": 3},
            "MaxParallelTrainingJobs (3) must be less than or equal to MaxNumberOfTrainingJobs (2).",
        ),
        ({f"{CONFIG}.Strategy": "Grid"}, "'eta' is continuous"),
        ({f"{CONFIG}.Strategy": "Hyperband"}, "MaxResource is required"),
        (
            {f"{CONFIG}.Strategy": "Hyperband", f"{CONFIG}.TrainingJobEarlyStoppingType": "Auto"},
            "TrainingJobEarlyStoppingType must be Off",
        ),
        (
            {"TrainingJobDefinition.StaticHyperParameters.eta": "0.2"},
            "Hyperparameter 'eta' is both static and tunable",
        ),
        (
            {
                "WarmStartConfig": {
                    "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "nope"}],
                    "WarmStartType": "TransferLearning",
                }
            },
            "The parent hyperparameter tuning job nope does not exist.",
        ),
    ],
)
def test_bad_requests_are_refused(
    aws: Callable[..., Any], breast_cancer: str, changes: dict[str, Any], message: str
) -> None:
    sagemaker = aws("sagemaker")
    request = tuning_request(unique("tune-bad"), breast_cancer)
    for path, value in changes.items():
        _set(request, path, value)
    with pytest.raises(ClientError) as caught:
        sagemaker.create_hyper_parameter_tuning_job(**request)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=request["HyperParameterTuningJobName"]
        )
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"


def test_duplicate_names_are_refused(aws: Callable[..., Any], breast_cancer: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("tune-dup")
    request = tuning_request(name, breast_cancer, max_jobs=1, max_parallel=1)
    sagemaker.create_hyper_parameter_tuning_job(**request)
    with pytest.raises(ClientError) as caught:
        sagemaker.create_hyper_parameter_tuning_job(**request)
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    wait_for_tuning_end(sagemaker, name)
