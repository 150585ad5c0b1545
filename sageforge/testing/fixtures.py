"""pytest fixtures: a shared server for API tests, a factory for tests that restart their own, and the
metadata databases (SQLite, and PostgreSQL when one is given) that storage tests run on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from sageforge.settings import Settings
from sageforge.testing.server import RunningServer

# A PostgreSQL server URL (any database; each test gets a database of its own). `.ci/run` starts one.
POSTGRES_URL_VARIABLE = "SAGEFORGE_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty metadata database: a SQLite file, then a PostgreSQL database when one is configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sageforge.db'}"
        return
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} to run on PostgreSQL (.ci/run does)")
    name = f"sageforge_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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
