"""A CloudWatch Logs client whose responses are checked against the output shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def logs(aws: Callable[..., Any]) -> Any:
    return aws("logs")
