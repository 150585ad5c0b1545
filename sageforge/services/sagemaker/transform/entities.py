"""Transform-job records and their status machine, declared as data.

A record keeps the CreateTransformJob request as given and a ``state``: ``Transitions`` (each status the job
entered, with its time: CreationTime is the first, TransformEndTime the last once the job has ended),
``TransformStartTime`` (when the job began to start its instances), ``ExecutionParameters`` (the
MaxConcurrentTransforms, MaxPayloadInMB and BatchStrategy the job settled on) and ``FailureReason``. Every change of status goes
through ``advance``, which refuses moves ``TRANSITIONS`` does not list, so a late outcome can never move a
finished job.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class TransformJobStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


S = TransformJobStatus
TRANSITIONS: dict[TransformJobStatus, frozenset[TransformJobStatus]] = {
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED, S.STOPPING}),
    S.STOPPING: frozenset({S.STOPPED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.STOPPED: frozenset(),
}
ENDINGS = frozenset(status for status, moves in TRANSITIONS.items() if not moves)
ACTIVE_STATUSES = (S.IN_PROGRESS.value, S.STOPPING.value)


class InvalidTransition(Exception):
    pass


def new_job_body(request: dict[str, Any], now: float) -> dict[str, Any]:
    """The stored record of a job just created: the request as given, plus its state."""
    return {"request": request, "state": {"Transitions": [{"Status": S.IN_PROGRESS.value, "Time": now}]}}


def can_advance(status: str, to: TransformJobStatus) -> bool:
    return to in TRANSITIONS[TransformJobStatus(status)]


def advance(status: str, body: dict[str, Any], to: TransformJobStatus, at: float) -> tuple[str, dict[str, Any]]:
    """A copy of ``body`` moved from ``status`` to ``to``; returns (TransformJobStatus, body). Raises
    InvalidTransition."""
    if not can_advance(status, to):
        raise InvalidTransition(f"{status} -> {to.value}")
    state = dict(body["state"])
    state["Transitions"] = [*state["Transitions"], {"Status": to.value, "Time": at}]
    if to in ENDINGS:
        state["TransformEndTime"] = at
    return to.value, {**body, "state": state}
