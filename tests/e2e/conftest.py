"""Fixtures for the end-to-end tests: the SageMaker SDK's session, pointed at the shared server."""

from tests.sdk import sdk_session  # noqa: F401
