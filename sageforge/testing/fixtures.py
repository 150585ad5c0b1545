"""pytest fixtures: a shared server for API tests, and a factory for tests that restart their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sageforge.settings import Settings
from sageforge.testing.server import RunningServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the whole session; tests use unique resource names and clean up."""
    data_dir = tmp_path_factory.mktemp("sageforge-data")
    with RunningServer(Settings(data_dir=data_dir, port=0, stop_grace_seconds=5)) as running:
        yield running


@pytest.fixture
def aws(server: RunningServer) -> Callable[..., Any]:
    """``aws("s3")`` -> a boto3 client for that API on the shared server."""
    return server.client


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start servers on a data dir of the test's own (same dir = a restart); all are stopped at the end."""
    started: list[RunningServer] = []

    def start(data_dir: Path = tmp_path / "data", **overrides: Any) -> RunningServer:
        settings = Settings(data_dir=data_dir, port=0, stop_grace_seconds=5)
        running = RunningServer(settings.__class__(**{**settings.__dict__, **overrides})).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
