"""The interface every built-in algorithm implements.

A built-in is declared as data: a frozen `BuiltinAlgorithm` that tells the rest of sageforge which module the
engine runs (`python -m <train_module>`, inside the instance's `/opt/ml` layout), which module answers
invocations on an endpoint (`inference_module`), which channels it takes,
which metric regexes SageMaker registers for it and which of those metrics a tuning job may optimise.
The module imports only the standard library, so both the API server and the in-container process
(`train.py`, which raises `UserError`) can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

ObjectiveDirection = Literal["Maximize", "Minimize"]


class UserError(Exception):
    """Bad input from the user (hyperparameters, data, channels): reported as `ClientError: <message>`.

    Anything else a built-in raises is an internal failure, reported as `AlgorithmError`.
    """


@dataclass(frozen=True)
class MetricDefinition:
    """One `MetricDefinitions` entry: `regex` captures the metric's value in group 1 of a log line."""

    name: str
    regex: str

    def to_api(self) -> dict[str, str]:
        """The wire shape used by CreateTrainingJob/DescribeTrainingJob."""
        return {"Name": self.name, "Regex": self.regex}


@dataclass(frozen=True)
class ChannelSpec:
    """An input channel the algorithm accepts (`input/data/<name>/`)."""

    name: str
    required: bool = False


@dataclass(frozen=True)
class BuiltinAlgorithm:
    """A SageMaker built-in algorithm as sageforge runs it.

    `metric_definitions` are the regexes SageMaker registers on every job of the built-in; they are written
    against CloudWatch's rendering of log lines, where a tab appears as `#011`. `known_metrics` holds the
    definition of every metric the algorithm can emit (a superset), so a tuning objective outside the
    registered set still has its regex. `objective_metrics` maps each metric name a tuning job may use as its
    objective to the direction the algorithm declares for it; every one of them is in `known_metrics`.
    """

    name: str
    # How SageMaker's documentation and logs name it ("Linear Learner", "K-Means").
    title: str
    train_module: str
    metric_definitions: tuple[MetricDefinition, ...]
    known_metrics: tuple[MetricDefinition, ...]
    objective_metrics: Mapping[str, ObjectiveDirection]
    channels: tuple[ChannelSpec, ...]
    default_input_content_type: str
    supports_distributed: bool
    # The module a hosting replica loads (`sageforge.serving.runtime.contract`); None: not servable yet.
    inference_module: str | None = None

    def metric_definition(self, name: str) -> MetricDefinition | None:
        """The definition of the metric called `name` (e.g. a tuning objective), if the algorithm emits it."""
        return next((definition for definition in self.known_metrics if definition.name == name), None)

    @property
    def required_channels(self) -> tuple[str, ...]:
        """Names of the channels a training job must provide."""
        return tuple(channel.name for channel in self.channels if channel.required)
