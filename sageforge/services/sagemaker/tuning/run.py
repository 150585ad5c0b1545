"""The tuning loop: one thread per running tuning job, driving its search strategy with real training jobs.

The loop asks the strategy for configurations and launches them as training jobs through the training-job
manager, at most MaxParallelTrainingJobs at a time (the engine's CPU scheduler then decides what the machine
runs at once). Each trial's metric observations and final record come back through a ``JobObserver`` onto
one queue, which only this thread reads, so the strategy is never used from two threads. On every objective
value the strategy may ask to stop the trial (early stopping, Hyperband); on every ending the completion
criteria and limits are checked. A trial's entry reaches the tuning record when it is launched and when it
ends, before anything else is decided, so a server that dies loses at most the decisions in flight.

The search ends Completed (its budget spent, the grid exhausted, a completion criterion met or
MaxRuntimeInSeconds reached; running trials are stopped in the last two cases), Stopped (a
StopHyperParameterTuningJob) or Failed (no trial produced an objective). A shutdown leaves the record
InProgress, for the next server to resume.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sageforge.aws.errors import AwsError
from sageforge.hpo.completion import Progress
from sageforge.hpo.strategy import SearchStrategy
from sageforge.services.sagemaker.arns import resource_arn
from sageforge.services.sagemaker.training.jobs import TrainingJobManager
from sageforge.services.sagemaker.tuning import entities
from sageforge.services.sagemaker.tuning.entities import TuningJobStatus
from sageforge.services.sagemaker.tuning.plan import TuningPlan
from sageforge.store.metadata.records import Record, RecordStore

log = logging.getLogger(__name__)

NO_OBJECTIVE_REASON = (
    "No training job launched by the tuning job reported the objective metric; see the training jobs' "
    "FailureReason and logs."
)
_INTERNAL_REASON = "InternalServerError: The tuning job failed inside sageforge; see the server log."


@dataclass(frozen=True)
class _Metric:
    """An objective value a running trial reported."""

    trial: str
    value: float


@dataclass(frozen=True)
class _Finished:
    trial: str
    record: Record


class _TrialObserver:
    """Puts one trial's objective values and ending on the loop's queue (called from engine threads)."""

    def __init__(self, events: queue.Queue[object], trial: str, objective: str) -> None:
        self._events = events
        self._trial = trial
        self._objective = objective

    def on_metric(self, name: str, value: float, at: float) -> None:
        # Other metrics can come by the thousand a second; only the objective's series matters here.
        if name == self._objective:
            self._events.put(_Metric(self._trial, value))

    def on_finished(self, record: Record) -> None:
        self._events.put(_Finished(self._trial, record))


@dataclass
class _Running:
    entry: dict[str, Any]
    series: list[float] = field(default_factory=list)
    stopping: bool = False


class TuningRun:
    """Drives one tuning job until it ends or the server shuts down; start it with ``start``."""

    def __init__(
        self,
        record: Record,
        plan: TuningPlan,
        strategy: SearchStrategy,
        progress: Progress,
        records: RecordStore,
        training_jobs: TrainingJobManager,
    ) -> None:
        self._arn = record.arn
        self._name = record.name
        self._account, self._region = record.account, record.region
        self._plan = plan
        self._strategy = strategy
        self._progress = progress
        self._records = records
        self._training_jobs = training_jobs
        trials = record.body["state"]["Trials"]
        self._launched = len(trials)
        self._any_objective = any(trial["Objective"] is not None for trial in trials)
        self._deadline = record.created_at + plan.max_runtime if plan.max_runtime is not None else None
        self._events: queue.Queue[object] = queue.Queue()
        self._running: dict[str, _Running] = {}
        self._exhausted = False
        self._ending: TuningJobStatus | None = None
        self._stop_requested = threading.Event()
        self._shutdown = threading.Event()
        if record.status == TuningJobStatus.STOPPING:
            self._stop_requested.set()
        self._thread = threading.Thread(target=self._run, name=f"sageforge-tuning-{record.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def request_stop(self) -> None:
        """StopHyperParameterTuningJob: stop the running trials and end Stopped."""
        self._stop_requested.set()
        self._events.put(None)

    def shutdown(self) -> None:
        """Leave the loop without touching the record; running trials are the training engine's to end."""
        self._shutdown.set()
        self._events.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._shutdown.is_set():
                if self._stop_requested.is_set() and self._ending is None:
                    self._end_search(TuningJobStatus.STOPPED)
                if self._deadline is not None and time.time() >= self._deadline and self._ending is None:
                    self._end_search(TuningJobStatus.COMPLETED)
                self._launch()
                if not self._running and (self._ending is not None or self._exhausted):
                    self._conclude()
                    return
                self._handle(self._next_event())
        except Exception:
            log.exception("tuning job %s failed inside sageforge", self._name)
            self._end_search(TuningJobStatus.FAILED)
            self._conclude(_INTERNAL_REASON)

    def _next_event(self) -> object:
        # Wake at MaxRuntimeInSeconds, unless the search is already ending and only waits for its trials.
        timeout = None if self._deadline is None or self._ending else max(0.0, self._deadline - time.time())
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def _handle(self, event: object) -> None:
        if isinstance(event, _Metric):
            self._on_metric(event)
        elif isinstance(event, _Finished):
            self._on_finished(event)

    # --- launching ----------------------------------------------------------------------------------------------

    def _launch(self) -> None:
        while self._ending is None and not self._exhausted and len(self._running) < self._plan.max_parallel:
            if self._launched >= self._plan.max_jobs:
                self._exhausted = True
                return
            proposal = self._strategy.ask()
            if proposal is None:
                self._exhausted = True
                return
            self._launched += 1
            # SageMaker's trial names: <tuning job>-<3-digit number>-<8 hex>.
            name = f"{self._name}-{proposal.trial + 1:03d}-{uuid.uuid4().hex[:8]}"
            arn = resource_arn(self._region, self._account, "training-job", name)
            entry = entities.new_trial(name, arn, proposal.trial, dict(proposal.hyperparameters))
            self._records.update(self._arn, functools.partial(_append_trial, entry=entry))
            self._running[name] = _Running(entry)
            try:
                self._training_jobs.create(
                    self._account,
                    self._region,
                    self._plan.trial_request(name, proposal.hyperparameters),
                    observer=_TrialObserver(self._events, name, self._plan.objective.definition),
                    tuning_job_arn=self._arn,
                )
            except AwsError as error:
                # The definition is valid but this trial's request is not (an S3 URI, a channel): the trial
                # fails, and the search goes on as for any failed trial.
                self._record_end(name, "Failed", None, f"ClientError: {error.message}")

    # --- trial events -------------------------------------------------------------------------------------------

    def _on_metric(self, event: _Metric) -> None:
        running = self._running.get(event.trial)
        if running is None or running.stopping:
            return
        running.series.append(event.value)
        if self._strategy.report(running.entry["Number"], len(running.series), event.value):
            log.info("tuning job %s stops training job %s early", self._name, event.trial)
            self._stop_trial(event.trial)

    def _on_finished(self, event: _Finished) -> None:
        if event.trial not in self._running:
            return
        state = event.record.body["state"]
        objective = None
        if event.record.status in ("Completed", "Stopped"):
            metric = state["FinalMetrics"].get(self._plan.objective.definition)
            objective = None if metric is None else float(metric["Value"])
        self._record_end(event.trial, event.record.status, objective, state.get("FailureReason"))

    def _record_end(self, name: str, status: str, objective: float | None, failure_reason: str | None) -> None:
        running = self._running.pop(name)
        series = running.series if self._plan.keeps_series else []
        entry = entities.ended_trial(running.entry, status, objective, series, failure_reason, time.time())
        self._strategy.tell(entry["Number"], entities.trial_state(status), objective)
        if objective is not None:
            self._any_objective = True
            self._progress.add(objective)

        def change(record: Record) -> tuple[str, dict[str, Any]]:
            body = entities.replace_trial(record.body, entry)
            completion = {**body["state"], "NotImproving": self._progress.not_improving}
            if self._progress.converged and "ConvergenceDetectedTime" not in completion:
                completion["ConvergenceDetectedTime"] = time.time()
            return record.status, {**body, "state": completion}

        self._records.update(self._arn, change)
        if self._progress.reason() is not None and self._ending is None:
            log.info("tuning job %s met its completion criterion %s", self._name, self._progress.reason())
            self._end_search(TuningJobStatus.COMPLETED)

    # --- ending -------------------------------------------------------------------------------------------------

    def _end_search(self, status: TuningJobStatus) -> None:
        """Launch nothing more, stop the running trials, and end ``status`` once they have ended."""
        self._ending = status
        for name in list(self._running):
            self._stop_trial(name)

    def _stop_trial(self, name: str) -> None:
        running = self._running[name]
        if running.stopping:
            return
        running.stopping = True
        try:
            self._training_jobs.stop(self._account, self._region, name)
        except AwsError:
            # It ended on its own meanwhile; its Finished event is on the way.
            log.debug("training job %s had already ended when tuning job %s stopped it", name, self._name)

    def _conclude(self, failure_reason: str | None = None) -> None:
        ending = self._ending or TuningJobStatus.COMPLETED
        if ending is TuningJobStatus.COMPLETED and not self._any_objective:
            ending, failure_reason = TuningJobStatus.FAILED, NO_OBJECTIVE_REASON

        def change(record: Record) -> tuple[str, dict[str, Any]]:
            # A stop that arrived while the last trials were ending wins over the search's own ending.
            to = TuningJobStatus.STOPPED if record.status == TuningJobStatus.STOPPING else ending
            if not entities.can_advance(record.status, to):
                return record.status, record.body
            return entities.advance(record.status, record.body, to, time.time(), failure_reason)

        self._records.update(self._arn, change)


def _append_trial(record: Record, entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state = record.body["state"]
    return record.status, {**record.body, "state": {**state, "Trials": [*state["Trials"], entry]}}
