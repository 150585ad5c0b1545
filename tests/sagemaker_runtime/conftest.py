"""Fixtures for the SageMaker Runtime tests: a bucket and the hosting helper of the SageMaker tests."""

from __future__ import annotations

from tests.hosting import hosting  # noqa: F401
from tests.sagemaker.conftest import bucket  # noqa: F401
