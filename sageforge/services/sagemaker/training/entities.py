"""Training-job records and their status machine, declared as data.

A job's ``SecondaryStatus`` is the state; ``TrainingJobStatus`` follows from it. Every change goes through
:func:`advance`, which refuses transitions the table does not allow, so a late engine event can never move a
finished job. Timestamps live in the transition log (``SecondaryStatusTransitions``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

# The engine reports these statuses; the record moves through them under the table below.
from sageforge.engine.status import SecondaryStatus


class TrainingJobStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


S = SecondaryStatus
_ENDINGS = {S.COMPLETED, S.FAILED, S.STOPPED, S.MAX_RUNTIME_EXCEEDED}

TRANSITIONS: dict[SecondaryStatus, frozenset[SecondaryStatus]] = {
    S.STARTING: frozenset({S.DOWNLOADING, S.TRAINING, S.STOPPING, S.FAILED, S.STOPPED, S.MAX_RUNTIME_EXCEEDED}),
    S.DOWNLOADING: frozenset({S.TRAINING, S.STOPPING, S.FAILED, S.STOPPED, S.MAX_RUNTIME_EXCEEDED}),
    S.TRAINING: frozenset({S.UPLOADING, S.STOPPING, S.FAILED, S.STOPPED, S.MAX_RUNTIME_EXCEEDED}),
    S.UPLOADING: frozenset({S.COMPLETED, S.STOPPING, S.FAILED, S.STOPPED, S.MAX_RUNTIME_EXCEEDED}),
    S.STOPPING: frozenset({S.STOPPED, S.FAILED, S.MAX_RUNTIME_EXCEEDED}),
    **{ending: frozenset() for ending in _ENDINGS},
}

PRIMARY: dict[SecondaryStatus, TrainingJobStatus] = {
    S.STARTING: TrainingJobStatus.IN_PROGRESS,
    S.DOWNLOADING: TrainingJobStatus.IN_PROGRESS,
    S.TRAINING: TrainingJobStatus.IN_PROGRESS,
    S.UPLOADING: TrainingJobStatus.IN_PROGRESS,
    S.STOPPING: TrainingJobStatus.STOPPING,
    S.STOPPED: TrainingJobStatus.STOPPED,
    S.MAX_RUNTIME_EXCEEDED: TrainingJobStatus.STOPPED,
    S.COMPLETED: TrainingJobStatus.COMPLETED,
    S.FAILED: TrainingJobStatus.FAILED,
}

ACTIVE_STATUSES = (TrainingJobStatus.IN_PROGRESS.value, TrainingJobStatus.STOPPING.value)


class InvalidTransition(Exception):
    pass


def new_job_body(request: dict[str, Any], now: float, message: str) -> dict[str, Any]:
    """The stored record of a job just created: the request as given, plus its state."""
    return {
        "request": request,
        "state": {
            "SecondaryStatus": S.STARTING.value,
            "SecondaryStatusTransitions": [{"Status": S.STARTING.value, "StartTime": now, "StatusMessage": message}],
            "FinalMetrics": {},
        },
    }


def can_advance(body: dict[str, Any], to: SecondaryStatus) -> bool:
    current = SecondaryStatus(body["state"]["SecondaryStatus"])
    # Staying in a running status only updates its message, as SageMaker's "Starting" does.
    return to in TRANSITIONS[current] or (to is current and current not in _ENDINGS)


def advance(body: dict[str, Any], to: SecondaryStatus, message: str, at: float) -> tuple[str, dict[str, Any]]:
    """A copy of ``body`` moved to ``to``; returns (TrainingJobStatus, body). Raises InvalidTransition."""
    if not can_advance(body, to):
        raise InvalidTransition(f"{body['state']['SecondaryStatus']} -> {to.value}")
    state = dict(body["state"])
    transitions = [dict(t) for t in state["SecondaryStatusTransitions"]]
    if to.value == state["SecondaryStatus"]:
        transitions[-1]["StatusMessage"] = message
        return PRIMARY[to].value, {**body, "state": {**state, "SecondaryStatusTransitions": transitions}}
    transitions[-1]["EndTime"] = at
    entry: dict[str, Any] = {"Status": to.value, "StartTime": at, "StatusMessage": message}
    if to in _ENDINGS:
        entry["EndTime"] = at
    transitions.append(entry)
    state["SecondaryStatus"] = to.value
    state["SecondaryStatusTransitions"] = transitions
    return PRIMARY[to].value, {**body, "state": state}
