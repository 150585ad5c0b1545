"""SageMaker hyperparameter-tuning-job operations: translate the wire shapes to the manager and back.

LIMITATIONS (differences from AWS):
- One TrainingJobDefinition per tuning job: TrainingJobDefinitions (multi-algorithm tuning), Autotune and
  AutoParameters are refused.
- Trials run like any training job, so only built-in algorithm images train; trials of other images fail at
  once and are counted, and a tuning job none of whose trials reported the objective ends Failed.
- Bayesian search is Optuna's multivariate TPE sampler (a constant liar spreads parallel trials), not
  SageMaker's Gaussian-process model; Hyperband samples with TPE under an asynchronous bracket scheduler
  (reduction factor 3); Grid also enumerates integer ranges. ScalingType Auto searches linearly.
- Early stopping (Auto) applies the documented median rule once at least 3 earlier trials reached the step.
- ConvergenceDetected is sageforge's own test (``sageforge.hpo.completion``); MaxRuntimeInSeconds ends the
  tuning job Completed, stopping the trials still running.
- Failed trials are not retried; RetryableError counts trials that failed for the server's reasons (a restart).
- After a restart the search resumes; trials that were running count as failed, and a trial that ended while
  no server watched it keeps only its final objective value for early-stopping decisions.
- IdenticalDataAndAlgorithm warm starts compare the training image and InputDataConfig exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.pagination import encode_token
from sageforge.aws.specs import service_model
from sageforge.hpo.trials import Direction
from sageforge.services.sagemaker.listing import list_records, next_offset, timestamp
from sageforge.services.sagemaker.tuning import entities
from sageforge.services.sagemaker.tuning.description import described_request
from sageforge.services.sagemaker.tuning.jobs import KIND, TuningJobManager
from sageforge.store.metadata.records import Record

# Members a CreateHyperParameterTuningJob request and its Describe response share are echoed as given, with
# the defaults SageMaker describes (``description``).
_model = service_model("sagemaker")
ECHOED = frozenset(_model.operation_model("CreateHyperParameterTuningJob").input_shape.members) & frozenset(
    _model.operation_model("DescribeHyperParameterTuningJob").output_shape.members
) - {"HyperParameterTuningJobName"}
_TRIAL_SORT_KEYS: dict[str, Callable[[tuple[dict[str, Any], Record]], Any]] = {
    "Name": lambda pair: pair[0]["Name"],
    "CreationTime": lambda pair: pair[1].created_at,
    "Status": lambda pair: pair[1].status,
    "FinalObjectiveMetricValue": lambda pair: pair[0]["Objective"],
}


class TuningHandlers:
    def __init__(self, jobs: TuningJobManager) -> None:
        self._jobs = jobs

    @operation("CreateHyperParameterTuningJob")
    def create_hyper_parameter_tuning_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {"HyperParameterTuningJobArn": self._jobs.create(context.account_id, context.region, request)}

    @operation("DescribeHyperParameterTuningJob")
    def describe_hyper_parameter_tuning_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._jobs.describe(context.account_id, context.region, request["HyperParameterTuningJobName"])
        request = described_request(record.body["request"])
        output = {key: request[key] for key in ECHOED if key in request}
        output.update(_summary(record))
        state, objective = record.body["state"], _objective(record)
        del output["Strategy"], output["ResourceLimits"]
        end = entities.end_time(record.body)
        output["ConsumedResources"] = {"RuntimeInSeconds": int((end or _now()) - record.created_at)}
        details: dict[str, Any] = {"NumberOfTrainingJobsObjectiveNotImproving": state["NotImproving"]}
        if "ConvergenceDetectedTime" in state:
            details["ConvergenceDetectedTime"] = timestamp(state["ConvergenceDetectedTime"])
        output["TuningJobCompletionDetails"] = details
        if "FailureReason" in state:
            output["FailureReason"] = state["FailureReason"]
        best = self._summary_of(_best(state["Trials"], objective), record.name, objective)
        if best is not None:
            output["BestTrainingJob"] = best
        overall = self._overall_best(record, objective)
        if overall is not None:
            output["OverallBestTrainingJob"] = overall
        return output

    @operation("ListHyperParameterTuningJobs")
    def list_hyper_parameter_tuning_jobs(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        records, next_token = list_records(
            self._jobs.list, KIND, context, request, sort_by="Name", sort_order="Ascending"
        )
        response: dict[str, Any] = {"HyperParameterTuningJobSummaries": [_summary(record) for record in records]}
        if next_token:
            response["NextToken"] = next_token
        return response

    @operation("ListTrainingJobsForHyperParameterTuningJob")
    def list_training_jobs_for_hyper_parameter_tuning_job(
        self, context: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        record = self._jobs.describe(context.account_id, context.region, request["HyperParameterTuningJobName"])
        jobs = self._jobs.trial_records(record)
        pairs = [(trial, jobs[trial["Arn"]]) for trial in record.body["state"]["Trials"] if trial["Arn"] in jobs]
        if "StatusEquals" in request:
            pairs = [pair for pair in pairs if pair[1].status == request["StatusEquals"]]
        sort_by = request.get("SortBy", "Name")
        if sort_by == "FinalObjectiveMetricValue":
            # As SageMaker documents: jobs that did not return an objective are not listed when sorting by it.
            pairs = [pair for pair in pairs if pair[0]["Objective"] is not None]
        pairs.sort(key=_TRIAL_SORT_KEYS[sort_by], reverse=request.get("SortOrder", "Ascending") == "Descending")
        offset, limit = next_offset(request), request.get("MaxResults", 10)
        objective = _objective(record)
        response: dict[str, Any] = {
            "TrainingJobSummaries": [
                trial_summary(trial, job, record.name, objective) for trial, job in pairs[offset : offset + limit]
            ]
        }
        if offset + limit < len(pairs):
            response["NextToken"] = encode_token({"offset": offset + limit})
        return response

    @operation("StopHyperParameterTuningJob")
    def stop_hyper_parameter_tuning_job(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._jobs.stop(context.account_id, context.region, request["HyperParameterTuningJobName"])
        return {}

    def _overall_best(self, record: Record, objective: dict[str, str]) -> dict[str, Any] | None:
        """The best trial of this job and its parents, for an IdenticalDataAndAlgorithm warm start."""
        if record.body["request"].get("WarmStartConfig", {}).get("WarmStartType") != "IdenticalDataAndAlgorithm":
            return None
        candidates = [(trial, record.name) for trial in record.body["state"]["Trials"]] + [
            (trial, parent.name) for parent in self._jobs.parents(record) for trial in parent.body["state"]["Trials"]
        ]
        best = _best([trial for trial, _ in candidates], objective)
        owner = next((name for trial, name in candidates if trial is best), record.name)
        return self._summary_of(best, owner, objective)

    def _summary_of(
        self, trial: dict[str, Any] | None, tuning_job: str, objective: dict[str, str]
    ) -> dict[str, Any] | None:
        job = None if trial is None else self._jobs.training_record(trial["Arn"])
        return None if trial is None or job is None else trial_summary(trial, job, tuning_job, objective)


def trial_summary(trial: dict[str, Any], job: Record, tuning_job: str, objective: dict[str, str]) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary: the trial's entry, with times and status from its training record."""
    state = job.body["state"]
    item: dict[str, Any] = {
        "TrainingJobName": trial["Name"],
        "TrainingJobArn": trial["Arn"],
        "TuningJobName": tuning_job,
        "CreationTime": timestamp(job.created_at),
        "TrainingJobStatus": job.status,
        "TunedHyperParameters": trial["TunedHyperParameters"],
        "ObjectiveStatus": entities.objective_status(trial),
    }
    if "TrainingStartTime" in state:
        item["TrainingStartTime"] = timestamp(state["TrainingStartTime"])
    if "TrainingEndTime" in state:
        item["TrainingEndTime"] = timestamp(state["TrainingEndTime"])
    if "FailureReason" in state:
        item["FailureReason"] = state["FailureReason"]
    if trial["Objective"] is not None:
        item["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": trial["Objective"],
        }
    return item


def _summary(record: Record) -> dict[str, Any]:
    """A HyperParameterTuningJobSummary (Describe starts from it too)."""
    request, trials = record.body["request"], record.body["state"]["Trials"]
    item: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": record.arn,
        "HyperParameterTuningJobStatus": record.status,
        "Strategy": request["HyperParameterTuningJobConfig"]["Strategy"],
        "CreationTime": timestamp(record.created_at),
        "LastModifiedTime": timestamp(record.updated_at),
        "TrainingJobStatusCounters": entities.status_counters(trials),
        "ObjectiveStatusCounters": entities.objective_counters(trials),
        "ResourceLimits": request["HyperParameterTuningJobConfig"]["ResourceLimits"],
    }
    end = entities.end_time(record.body)
    if end is not None:
        item["HyperParameterTuningEndTime"] = timestamp(end)
    return item


def _objective(record: Record) -> dict[str, str]:
    request = record.body["request"]
    objective = request["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective")
    return dict(objective or request["TrainingJobDefinition"]["TuningObjective"])


def _best(trials: list[dict[str, Any]], objective: dict[str, str]) -> dict[str, Any] | None:
    """The trial with the best objective; the earliest launched among equals."""
    direction = Direction(objective["Type"])
    best: dict[str, Any] | None = None
    for trial in trials:
        value = trial["Objective"]
        if value is not None and (best is None or direction.better(value, best["Objective"])):
            best = trial
    return best


def _now() -> float:
    return time.time()
