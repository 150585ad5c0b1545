"""What the engine tells its caller about a job: secondary statuses, metric values, and the outcome.

The training-job manager implements ``TrainingListener`` and turns these calls into the job record's status
machine; the engine knows nothing of records or of AWS shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

from sageforge.engine.metrics import MetricObservation

JobStatus = Literal["Completed", "Failed", "Stopped"]


class SecondaryStatus(StrEnum):
    STARTING = "Starting"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    COMPLETED = "Completed"
    FAILED = "Failed"


# Status messages as SageMaker writes them in SecondaryStatusTransitions.
LAUNCHING_MESSAGE = "Launching requested ML instances"
PREPARING_MESSAGE = "Preparing the instances for training"
DOWNLOADING_MESSAGE = "Downloading input data"
TRAINING_MESSAGE = "Training image download completed. Training in progress."
UPLOADING_MESSAGE = "Uploading generated training model"
STOPPING_MESSAGE = "Stopping the training job"
COMPLETED_MESSAGE = "Training job completed"
FAILED_MESSAGE = "Training job failed"
STOPPED_MESSAGE = "Training job stopped"
MAX_RUNTIME_MESSAGE = "Training job exceeded MaxRuntimeInSeconds and was stopped"


@dataclass(frozen=True)
class TrainingOutcome:
    """How a job ended. Times are epoch seconds."""

    status: JobStatus
    secondary_status: SecondaryStatus  # Completed, Failed, Stopped or MaxRuntimeExceeded
    message: str  # the status message of that final secondary status
    at: float  # when the job ended: TrainingEndTime
    failure_reason: str | None = None
    model_artifact: str | None = None  # s3://.../<job>/output/model.tar.gz when uploaded
    training_start: float | None = None  # TrainingStartTime; None if the job never got instances
    final_metrics: Mapping[str, float] = field(default_factory=dict)  # last value of each metric
    metrics: tuple[MetricObservation, ...] = ()

    @classmethod
    def failed(cls, reason: str, *, at: float) -> TrainingOutcome:
        """A job that failed before running anything."""
        return cls("Failed", SecondaryStatus.FAILED, FAILED_MESSAGE, at, failure_reason=reason)


class TrainingListener(Protocol):
    """Receives one job's progress. Calls come from engine threads, never concurrently with ``on_finished``,
    which is always the last call for the job. The final secondary status arrives only in ``on_finished``."""

    def on_status(self, secondary_status: str, message: str, at: float) -> None:
        """The job entered ``secondary_status`` (Starting, Downloading, Training, Uploading, Stopping) at ``at``."""
        ...

    def on_metric(self, name: str, value: float, at: float) -> None: ...

    def on_finished(self, outcome: TrainingOutcome) -> None: ...
