"""The batch capability's own exceptions; the transform-job manager turns a job's failure into its
FailureReason."""

from __future__ import annotations


class RecordError(Exception):
    """An input object's data cannot be sent as asked (a record over the payload limit, broken framing, a
    filter that selects nothing); the message says why, and the caller names the object."""


class InvocationFailed(Exception):
    """The model container rejected a request, or never answered it; the message is what it said."""
