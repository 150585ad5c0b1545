"""Fixtures for the engine's tests: stores, the local backend, an engine factory and a workload factory."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from sageforge.engine.backends import create_backend
from sageforge.engine.backends.base import Backend
from sageforge.engine.training import TrainingEngine
from sageforge.engine.workload import ChannelSpec, S3Location, TrainingWorkload
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.metadata.database import open_database
from sageforge.store.objects.filesystem import FilesystemObjectStore
from tests.engine.support import TRAINING_SCRIPT

ENDPOINT = "http://127.0.0.1:8686"
_job_numbers = itertools.count(1)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'metadata.sqlite'}")
    yield engine
    engine.dispose()


@pytest.fixture
def objects(database: Engine, tmp_path: Path) -> FilesystemObjectStore:
    """The real object store, with the output bucket ``models`` already there."""
    store = FilesystemObjectStore(tmp_path / "objects", database)
    store.create_bucket("models", "us-east-1")
    return store


@pytest.fixture
def logs(database: Engine) -> SqlLogStore:
    return SqlLogStore(database)


@pytest.fixture
def backend() -> Iterator[Backend]:
    local = create_backend("local")
    yield local
    local.close()


@pytest.fixture(scope="session")
def training_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("algorithm") / "train.py"
    path.write_text(TRAINING_SCRIPT)
    return path


@pytest.fixture
def make_engine(
    objects: FilesystemObjectStore, logs: SqlLogStore, backend: Backend, tmp_path: Path
) -> Iterator[Callable[..., TrainingEngine]]:
    """``make_engine(**options)``: an engine over the test's stores; every engine is shut down at the end."""
    engines: list[TrainingEngine] = []

    def make(**options: Any) -> TrainingEngine:
        settings: dict[str, Any] = {"stop_grace_seconds": 0.5, "log_flush_interval": 0.05, **options}
        engine = TrainingEngine(objects, logs, backend, tmp_path / "work", ENDPOINT, **settings)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown(grace_seconds=0)


@pytest.fixture
def engine(make_engine: Callable[..., TrainingEngine]) -> TrainingEngine:
    return make_engine()


@pytest.fixture
def make_workload(training_script: Path) -> Callable[..., TrainingWorkload]:
    """``make_workload(**fields)``: the test script on one ml.m5.large reading channel ``train`` from s3://data/train/."""

    def make(**fields: Any) -> TrainingWorkload:
        name = fields.pop("job_name", f"job-{next(_job_numbers)}")
        defaults: dict[str, Any] = {
            "job_name": name,
            "job_arn": f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{name}",
            "region": "us-east-1",
            "instance_type": "ml.m5.large",
            "instance_count": 1,
            "command": (sys.executable, str(training_script)),
            "output": S3Location("models", "out"),
            "channels": (ChannelSpec("train", S3Location("data", "train/")),),
            "role_arn": "arn:aws:iam::000000000000:role/SageMakerRole",
        }
        return TrainingWorkload(**{**defaults, **fields})

    return make
