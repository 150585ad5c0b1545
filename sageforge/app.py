"""Composition root: Settings -> stores -> engine -> API providers -> ASGI app."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from sageforge import __version__
from sageforge.aws.auth import Credential, SigV4Verifier
from sageforge.aws.dispatch import DispatchTable
from sageforge.aws.gateway import Gateway
from sageforge.aws.specs import SERVED_SERVICES
from sageforge.engine.backends import create_backend
from sageforge.engine.training import TrainingEngine
from sageforge.services.iam.handlers import IamProvider
from sageforge.services.logs.handlers import LogsProvider
from sageforge.services.s3.handlers import S3Handlers
from sageforge.services.sagemaker.tags import TagHandlers
from sageforge.services.sagemaker.training.handlers import TrainingHandlers
from sageforge.services.sagemaker.training.jobs import TrainingJobManager
from sageforge.services.sts.handlers import StsProvider
from sageforge.settings import Settings
from sageforge.store.logs.base import QueryableLogStore
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.metadata.database import open_database
from sageforge.store.metadata.records import RecordStore
from sageforge.store.objects.filesystem import FilesystemObjectStore

log = logging.getLogger(__name__)


@dataclass
class Platform:
    """Everything the server holds, built once from the settings."""

    settings: Settings
    database: Engine
    records: RecordStore
    logs: QueryableLogStore
    objects: FilesystemObjectStore
    training_jobs: TrainingJobManager
    dispatch: DispatchTable

    def start(self) -> None:
        """Work that must happen before serving: bring records left by a previous run to a truthful state."""
        self.training_jobs.recover()

    def stop(self) -> None:
        """Stop running workloads and release resources (graceful shutdown)."""
        self.training_jobs.shutdown()
        self.database.dispose()


def build_platform(settings: Settings) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(settings.resolved_database_url)
    records = RecordStore(database)
    logs = SqlLogStore(database)
    objects = FilesystemObjectStore(settings.data_dir / "objects", database)
    backend = create_backend(settings.backend)
    engine = TrainingEngine(
        objects,
        logs,
        backend,
        settings.data_dir / "jobs",
        settings.endpoint_url,
        stop_grace_seconds=settings.stop_grace_seconds,
    )
    training_jobs = TrainingJobManager(records, engine, backend)
    dispatch = DispatchTable()
    dispatch.register("sagemaker", TrainingHandlers(training_jobs))
    dispatch.register("sagemaker", TagHandlers(records))
    dispatch.register("logs", LogsProvider(logs))
    dispatch.register("s3", S3Handlers(objects))
    dispatch.register("sts", StsProvider())
    dispatch.register("iam", IamProvider())
    return Platform(
        settings=settings,
        database=database,
        records=records,
        logs=logs,
        objects=objects,
        training_jobs=training_jobs,
        dispatch=dispatch,
    )


def create_app(settings: Settings) -> Starlette:
    platform = build_platform(settings)
    verifier = SigV4Verifier({settings.access_key: Credential(settings.secret_key, settings.account_id)})
    gateway = Gateway(platform.dispatch, verifier, SERVED_SERVICES)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__, "services": platform.dispatch.services()})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        platform.start()
        log.info("sageforge %s serving on %s (data in %s)", __version__, settings.endpoint_url, settings.data_dir)
        try:
            yield
        finally:
            platform.stop()

    app = Starlette(routes=[Route("/_sageforge/health", health), Mount("/", app=gateway)], lifespan=lifespan)
    app.state.platform = platform
    return app
