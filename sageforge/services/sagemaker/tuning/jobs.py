"""The tuning-job manager: the rules of Create/Stop HyperParameterTuningJob, warm starts, and the tuning
loops it runs (``run.TuningRun``), including resuming them when a server starts.

A tuning job's trials are ordinary training jobs, created through the training-job manager with the tuning
job's ARN; the tuning record lists them (see ``entities``). On a restart the training-job manager has already
marked the trials that were running Failed; ``resume`` reads every trial's final record back into the
entries, rebuilds the search strategy from the finished trials, and carries on.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sageforge.aws.errors import ResourceInUse, ResourceNotFound, ValidationException
from sageforge.hpo.completion import Progress
from sageforge.hpo.ranges import InvalidRange
from sageforge.hpo.strategy import InvalidStrategyConfig, SearchStrategy, create_strategy
from sageforge.hpo.trials import FinishedTrial
from sageforge.services.sagemaker.arns import resource_arn
from sageforge.services.sagemaker.training import jobs as training
from sageforge.services.sagemaker.training.jobs import TrainingJobManager
from sageforge.services.sagemaker.tuning import entities
from sageforge.services.sagemaker.tuning.entities import TuningJobStatus
from sageforge.services.sagemaker.tuning.plan import (
    TuningPlan,
    check_warm_start_parent,
    plan_tuning_job,
    with_objective_hyperparameter,
)
from sageforge.services.sagemaker.tuning.run import TuningRun
from sageforge.store.metadata.records import NoSuchRecord, Record, RecordExists, RecordQuery, RecordStore

log = logging.getLogger(__name__)

KIND = "HyperParameterTuningJob"
_LOST_REASON = "InternalServerError: The sageforge server stopped before this training job could start."


class TuningJobManager:
    def __init__(self, records: RecordStore, training_jobs: TrainingJobManager) -> None:
        self._records = records
        self._training_jobs = training_jobs
        self._runs: dict[str, TuningRun] = {}
        self._lock = threading.Lock()

    # --- operations -------------------------------------------------------------------------------------------

    def create(self, account: str, region: str, request: dict[str, Any]) -> str:
        name = request["HyperParameterTuningJobName"]
        request = with_objective_hyperparameter(request)
        plan = plan_tuning_job(request)
        prior = self._warm_start(account, region, request)
        strategy = _strategy(plan, (), prior)
        arn = resource_arn(region, account, "hyper-parameter-tuning-job", name)
        body = entities.new_tuning_body(request, time.time())
        try:
            record = self._records.create(KIND, account, region, name, arn, TuningJobStatus.IN_PROGRESS, body)
        except RecordExists as exc:
            raise ResourceInUse(f"Hyperparameter tuning job {name} already exists ({arn}).") from exc
        if request.get("Tags"):
            self._records.add_tags(arn, {tag["Key"]: tag["Value"] for tag in request["Tags"]})
        self._start(record, plan, strategy, Progress(plan.objective.direction, plan.criteria))
        return arn

    def describe(self, account: str, region: str, name: str) -> Record:
        try:
            return self._records.get(KIND, account, region, name)
        except NoSuchRecord as exc:
            raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}") from exc

    def list(self, query: RecordQuery) -> tuple[list[Record], int]:
        return self._records.query(query)

    def trial_records(self, record: Record) -> dict[str, Record]:
        """The training-job records of ``record``'s trials, by ARN (one query: trial names contain the job's)."""
        arns = {trial["Arn"] for trial in record.body["state"]["Trials"]}
        found, _ = self._records.query(
            RecordQuery(kind=training.KIND, account=record.account, region=record.region, name_contains=record.name)
        )
        return {trial.arn: trial for trial in found if trial.arn in arns}

    def training_record(self, arn: str) -> Record | None:
        try:
            return self._records.by_arn(arn)
        except NoSuchRecord:
            return None

    def parents(self, record: Record) -> tuple[Record, ...]:
        """The warm start's parent tuning jobs that still exist."""
        found: list[Record] = []
        for parent in record.body["request"].get("WarmStartConfig", {}).get("ParentHyperParameterTuningJobs", []):
            try:
                found.append(
                    self._records.get(KIND, record.account, record.region, parent["HyperParameterTuningJobName"])
                )
            except NoSuchRecord:
                continue
        return tuple(found)

    def stop(self, account: str, region: str, name: str) -> None:
        record = self.describe(account, region, name)

        def change(current: Record) -> tuple[str, dict[str, Any]]:
            if not entities.can_advance(current.status, TuningJobStatus.STOPPING):
                raise ValidationException(
                    f"The request was rejected because the hyperparameter tuning job is in status {current.status}."
                )
            return entities.advance(current.status, current.body, TuningJobStatus.STOPPING, time.time())

        self._records.update(record.arn, change)
        with self._lock:
            run = self._runs.get(record.arn)
        if run is not None:
            run.request_stop()

    def resume(self) -> None:
        """Carry on the tuning jobs a previous server left running (after training jobs were recovered)."""
        for record in self._records.with_status(KIND, entities.ACTIVE_STATUSES):
            log.info("resuming tuning job %s", record.name)
            try:
                self._resume(record)
            except Exception:
                log.exception("tuning job %s could not be resumed; marking it Failed", record.name)
                self._records.update(record.arn, _failed)

    def shutdown(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.shutdown()

    # --- internals ----------------------------------------------------------------------------------------------

    def _start(self, record: Record, plan: TuningPlan, strategy: SearchStrategy, progress: Progress) -> None:
        run = TuningRun(record, plan, strategy, progress, self._records, self._training_jobs)
        with self._lock:
            # Forget the loops that have ended: each holds its search's whole history.
            self._runs = {arn: other for arn, other in self._runs.items() if other.alive}
            self._runs[record.arn] = run
        run.start()

    def _resume(self, record: Record) -> None:
        plan = plan_tuning_job(record.body["request"])
        record = self._records.update(record.arn, self._reconcile)
        trials = record.body["state"]["Trials"]
        history = tuple(_finished(trial) for trial in sorted(trials, key=lambda trial: trial["Number"]))
        ended = sorted(
            (trial for trial in trials if trial["Objective"] is not None), key=lambda trial: trial["EndedAt"]
        )
        progress = Progress(plan.objective.direction, plan.criteria, [trial["Objective"] for trial in ended])
        prior = self._warm_start(record.account, record.region, record.body["request"])
        self._start(record, plan, _strategy(plan, history, prior), progress)

    def _reconcile(self, record: Record) -> tuple[str, dict[str, Any]]:
        """Bring the entries of trials that ended while no loop watched them up to date with their records."""
        plan = plan_tuning_job(record.body["request"])
        body = record.body
        for trial in body["state"]["Trials"]:
            if trial["Status"] not in ("InProgress", "Stopping"):
                continue
            job = self.training_record(trial["Arn"])
            if job is None:
                # The server stopped between listing the trial and creating its training job.
                body = entities.replace_trial(
                    body, entities.ended_trial(trial, "Failed", None, [], _LOST_REASON, time.time())
                )
                continue
            state = job.body["state"]
            status = job.status if job.status in ("Completed", "Stopped") else "Failed"
            metric = state["FinalMetrics"].get(plan.objective.definition)
            objective = float(metric["Value"]) if metric is not None and status != "Failed" else None
            at = state.get("TrainingEndTime", time.time())
            # The loop that kept this trial's series is gone; its final value is what remains of it.
            series = [objective] if objective is not None and plan.keeps_series else []
            ended = entities.ended_trial(trial, status, objective, series, state.get("FailureReason", _LOST_REASON), at)
            body = entities.replace_trial(body, ended)
        return record.status, body

    def _warm_start(self, account: str, region: str, request: dict[str, Any]) -> tuple[FinishedTrial, ...]:
        """The parents' finished trials; ValidationException for a parent the warm start may not use."""
        warm_start = request.get("WarmStartConfig")
        if warm_start is None:
            return ()
        prior: list[FinishedTrial] = []
        for parent_name in (
            parent["HyperParameterTuningJobName"] for parent in warm_start["ParentHyperParameterTuningJobs"]
        ):
            try:
                parent = self._records.get(KIND, account, region, parent_name)
            except NoSuchRecord:
                raise ValidationException(
                    f"The parent hyperparameter tuning job {parent_name} does not exist."
                ) from None
            if parent.status in entities.ACTIVE_STATUSES:
                raise ValidationException(
                    f"The parent hyperparameter tuning job {parent_name} is {parent.status}; a warm start needs "
                    "parent jobs that have ended."
                )
            check_warm_start_parent(request, parent.body["request"], warm_start["WarmStartType"])
            static = parent.body["request"]["TrainingJobDefinition"].get("StaticHyperParameters", {})
            prior.extend(
                FinishedTrial(
                    {**static, **trial["TunedHyperParameters"]},
                    entities.trial_state(trial["Status"]),
                    trial["Objective"],
                )
                for trial in parent.body["state"]["Trials"]
                if trial["Status"] in entities.ENDED_TRIAL_STATUSES
            )
        return tuple(prior)


def _strategy(plan: TuningPlan, history: tuple[FinishedTrial, ...], prior: tuple[FinishedTrial, ...]) -> SearchStrategy:
    try:
        return create_strategy(plan.strategy, plan.strategy_config(history, prior))
    except (InvalidRange, InvalidStrategyConfig) as error:
        raise ValidationException(str(error)) from None


def _finished(trial: dict[str, Any]) -> FinishedTrial:
    return FinishedTrial(
        trial["TunedHyperParameters"],
        entities.trial_state(trial["Status"]),
        trial["Objective"],
        tuple(trial["Series"]),
    )


def _failed(record: Record) -> tuple[str, dict[str, Any]]:
    if not entities.can_advance(record.status, TuningJobStatus.FAILED):
        return record.status, record.body
    return entities.advance(
        record.status,
        record.body,
        TuningJobStatus.FAILED,
        time.time(),
        "InternalServerError: The tuning job could not be resumed.",
    )
