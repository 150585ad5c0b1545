"""Fixtures for the serving capability: real stores, a controller and router over the local backend, and
endpoint specs whose replicas run the stand-in ``echo_model`` (so a replica starts in well under a second)."""

from __future__ import annotations

import asyncio
import io
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sageforge.engine.backends import create_backend
from sageforge.serving.controller import ServingController
from sageforge.serving.router import Invocation, InvocationResult, Router
from sageforge.serving.spec import EndpointSpec, ModelSource, VariantSpec
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.metadata.database import open_database
from sageforge.store.objects.base import ObjectAttributes
from sageforge.store.objects.filesystem import FilesystemObjectStore

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "models"


@dataclass
class Outcome:
    """A ``DeploymentListener`` that remembers what it was told."""

    reason: str | None = None
    serving: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def on_serving(self, at: float) -> None:
        self.serving = True
        self.done.set()

    def on_failed(self, reason: str, at: float) -> None:
        self.reason = reason
        self.done.set()

    def wait(self, timeout: float = 30) -> Outcome:
        assert self.done.wait(timeout), "the deployment did not finish in time"
        return self


@dataclass
class Serving:
    controller: ServingController
    router: Router
    objects: FilesystemObjectStore
    logs: SqlLogStore
    # The router is asynchronous: each test thread calls it on an event loop of its own.
    _local: threading.local = field(default_factory=threading.local)
    _loops: list[asyncio.AbstractEventLoop] = field(default_factory=list)

    def invoke(self, key: str, invocation: Invocation) -> InvocationResult:
        loop = getattr(self._local, "loop", None)
        if loop is None:
            loop = self._local.loop = asyncio.new_event_loop()
            self._loops.append(loop)
        return loop.run_until_complete(self.router.invoke(key, invocation))

    def close_loops(self) -> None:
        for loop in self._loops:
            loop.close()

    def model(self, name: str, *, broken: bool = False) -> ModelSource:
        """A model.tar.gz naming ``name`` (and broken on load, if asked) in the object store."""
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            files = {"name": name.encode(), **({"broken": b""} if broken else {})}
            for file_name, data in files.items():
                info = tarfile.TarInfo(file_name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        key = f"{name}/model.tar.gz"
        archive.seek(0)
        self.objects.put_object(BUCKET, key, archive, ObjectAttributes())
        return ModelSource(BUCKET, key)

    def deploy(self, key: str, *variants: VariantSpec) -> Outcome:
        outcome = Outcome()
        self.controller.deploy(EndpointSpec(key, key, variants), outcome)
        return outcome.wait()


def variant(name: str, model: ModelSource | None, *, weight: float = 1.0, count: int = 1) -> VariantSpec:
    return VariantSpec(
        name=name,
        weight=weight,
        instance_count=count,
        instance_type="ml.m5.large",
        image="echo",
        command=(sys.executable, "-m", "sageforge.serving.runtime"),
        environment={"PYTHONPATH": str(ROOT), "SAGEFORGE_INFERENCE_MODULE": "tests.serving.echo_model"},
        files=() if model is None else (model,),
        startup_timeout=20,
    )


def wait_until(condition: Callable[[], object], timeout: float = 20, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(0.02)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'metadata.sqlite'}")
    yield engine
    engine.dispose()


@pytest.fixture
def serving(database: Engine, tmp_path: Path) -> Iterator[Serving]:
    """A controller whose every replica must be gone once the test has shut it down."""
    objects = FilesystemObjectStore(tmp_path / "objects", database)
    objects.create_bucket(BUCKET, "us-east-1")
    logs = SqlLogStore(database)
    router = Router(invocation_timeout=10)
    controller = ServingController(
        objects, logs, create_backend("local"), tmp_path / "endpoints", router, stop_grace_seconds=2, drain_seconds=10
    )
    serving = Serving(controller, router, objects, logs)
    yield serving
    controller.shutdown()
    serving.close_loops()
    assert controller.replica_count() == 0, "replica processes outlived the controller"
