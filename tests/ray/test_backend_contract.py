"""The engine's backend contract (tests/engine/test_backend_contract.py), run against the Ray backend."""

from __future__ import annotations

import pytest

from sageforge.engine.backends.base import Backend
from tests.engine.test_backend_contract import *  # noqa: F403 -- the same tests, with this module's backend


@pytest.fixture
def backend(ray_backend: Backend) -> Backend:  # noqa: F811 -- replaces the local backends' fixture
    return ray_backend
