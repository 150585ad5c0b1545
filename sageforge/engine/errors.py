"""The engine's own small exceptions; the managers in ``services`` translate them into AWS errors."""

from __future__ import annotations


class EngineError(Exception):
    """Base of the engine's errors."""


class InvalidS3Uri(EngineError, ValueError):
    """A string that is not an ``s3://bucket[/key]`` URI."""


class JobAlreadyRunning(EngineError):
    """``submit`` was given a job name the engine is already running."""


class EngineShutDown(EngineError):
    """``submit`` after ``shutdown``."""


class UnknownBackend(EngineError, KeyError):
    """No backend is registered under the requested name."""


class LaunchError(EngineError):
    """A backend could not start an instance (command not found, resources unavailable, ...)."""


class StagingError(EngineError):
    """Input data could not be staged; the message is the job's ``FailureReason`` as SageMaker words it."""


class InvalidMetricDefinition(EngineError):
    """A metric definition whose regex does not compile."""


class NoContainerBackend(EngineError):
    """``submit`` was given a workload that runs its image, and the engine has no container backend."""
