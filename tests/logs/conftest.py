"""A CloudWatch Logs client whose responses are checked against the output shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.output_shapes import check_output_shapes


@pytest.fixture
def logs(aws: Callable[..., Any]) -> Any:
    return check_output_shapes(aws("logs"))
