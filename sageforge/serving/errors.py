"""The serving capability's own exceptions; the API layer translates them into AWS errors."""

from __future__ import annotations


class ServingError(Exception):
    """Base of the serving errors."""


class EndpointNotServing(ServingError):
    """The router has no fleet for the key: never deployed, still creating, failed or removed."""


class VariantNotFound(ServingError):
    """An invocation named a variant the endpoint does not have."""


class NoCapacity(ServingError):
    """No replica could take the invocation: none is healthy, or no variant has traffic weight."""


class InvocationTimeout(ServingError):
    """The replica took the request but did not answer within the invocation timeout."""


class DeploymentFailed(ServingError):
    """A fleet could not be brought up; the message is the endpoint's FailureReason."""
