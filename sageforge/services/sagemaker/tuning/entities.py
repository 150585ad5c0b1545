"""Tuning-job records, their status machine declared as data, and the trial entries they hold.

The record's body is ``{"request": <CreateHyperParameterTuningJob request as given>, "state": {...}}``. The
state keeps the status transitions (timestamps come from them), the completion details, and one entry per
trial the job launched::

    {"Name", "Arn", "Number", "TunedHyperParameters", "Status", "Objective", "Series", "Retryable", "EndedAt"}

``Status`` is the trial's TrainingJobStatus as the tuning loop last learnt it (InProgress until it ended);
``Objective`` its final objective value or None; ``Series`` its objective value step by step (kept only when
early stopping or Hyperband decide on it). Counters and summaries are computed from the entries, so what
DescribeHyperParameterTuningJob reports never disagrees with the trial list.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sageforge.hpo.trials import TrialState


class TuningJobStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


T = TuningJobStatus
ENDINGS = frozenset({T.COMPLETED, T.FAILED, T.STOPPED})
TRANSITIONS: dict[TuningJobStatus, frozenset[TuningJobStatus]] = {
    T.IN_PROGRESS: frozenset({T.COMPLETED, T.FAILED, T.STOPPING}),
    T.STOPPING: frozenset({T.STOPPED, T.FAILED}),
    **{ending: frozenset() for ending in ENDINGS},
}
ACTIVE_STATUSES = (T.IN_PROGRESS.value, T.STOPPING.value)
ENDED_TRIAL_STATUSES = ("Completed", "Stopped", "Failed")

# A trial failed for a reason of the server's, not of the request's: SageMaker's "retryable" errors.
_RETRYABLE_PREFIX = "InternalServerError"


class InvalidTransition(Exception):
    pass


def new_tuning_body(request: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        "request": request,
        "state": {
            "Transitions": [{"Status": T.IN_PROGRESS.value, "At": now}],
            "Trials": [],
            "NotImproving": 0,
        },
    }


def can_advance(status: str, to: TuningJobStatus) -> bool:
    return to in TRANSITIONS[TuningJobStatus(status)]


def advance(
    status: str, body: dict[str, Any], to: TuningJobStatus, at: float, failure_reason: str | None = None
) -> tuple[str, dict[str, Any]]:
    """A copy of ``body`` moved to ``to``; returns (status, body). Raises InvalidTransition."""
    if not can_advance(status, to):
        raise InvalidTransition(f"{status} -> {to.value}")
    state = {**body["state"], "Transitions": [*body["state"]["Transitions"], {"Status": to.value, "At": at}]}
    if failure_reason is not None:
        state["FailureReason"] = failure_reason[:1024]
    return to.value, {**body, "state": state}


def end_time(body: dict[str, Any]) -> float | None:
    last = body["state"]["Transitions"][-1]
    return float(last["At"]) if last["Status"] in ENDINGS else None


def new_trial(name: str, arn: str, number: int, tuned: dict[str, str]) -> dict[str, Any]:
    return {
        "Name": name,
        "Arn": arn,
        "Number": number,
        "TunedHyperParameters": tuned,
        "Status": "InProgress",
        "Objective": None,
        "Series": [],
        "Retryable": False,
    }


def ended_trial(
    entry: dict[str, Any],
    status: str,
    objective: float | None,
    series: list[float],
    failure_reason: str | None,
    at: float,
) -> dict[str, Any]:
    return {
        **entry,
        "Status": status,
        "Objective": objective,
        "Series": series,
        "Retryable": status == "Failed" and (failure_reason or "").startswith(_RETRYABLE_PREFIX),
        "EndedAt": at,
    }


def replace_trial(body: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    trials = [entry if trial["Name"] == entry["Name"] else trial for trial in body["state"]["Trials"]]
    return {**body, "state": {**body["state"], "Trials": trials}}


def trial_state(status: str) -> TrialState:
    """How a search strategy sees a trial that ended with TrainingJobStatus ``status``."""
    return {"Completed": TrialState.COMPLETED, "Stopped": TrialState.STOPPED}.get(status, TrialState.FAILED)


def objective_status(entry: dict[str, Any]) -> str:
    if entry["Status"] in ("InProgress", "Stopping"):
        return "Pending"
    return "Succeeded" if entry["Objective"] is not None else "Failed"


def status_counters(trials: list[dict[str, Any]]) -> dict[str, int]:
    counters = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    for trial in trials:
        status = trial["Status"]
        if status == "Failed":
            counters["RetryableError" if trial["Retryable"] else "NonRetryableError"] += 1
        else:
            counters["InProgress" if status == "Stopping" else status] += 1
    return counters


def objective_counters(trials: list[dict[str, Any]]) -> dict[str, int]:
    counters = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for trial in trials:
        counters[objective_status(trial)] += 1
    return counters
