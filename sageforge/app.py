"""Composition root: Settings -> stores -> engine -> serving (endpoints, batch) -> API providers -> ASGI app."""

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
from sageforge.engine.backends.base import Backend
from sageforge.engine.backends.docker import DockerBackend
from sageforge.engine.training import TrainingEngine
from sageforge.services.cloudwatch.handlers import CloudWatchProvider
from sageforge.services.iam.handlers import IamProvider
from sageforge.services.logs.handlers import LogsProvider
from sageforge.services.s3.handlers import S3Handlers
from sageforge.services.sagemaker.endpoint_configs.handlers import EndpointConfigHandlers
from sageforge.services.sagemaker.endpoint_configs.manager import EndpointConfigManager
from sageforge.services.sagemaker.endpoints.handlers import EndpointHandlers
from sageforge.services.sagemaker.endpoints.manager import EndpointManager
from sageforge.services.sagemaker.models.handlers import ModelHandlers
from sageforge.services.sagemaker.models.manager import ModelManager
from sageforge.services.sagemaker.tags import TagHandlers
from sageforge.services.sagemaker.training.handlers import TrainingHandlers
from sageforge.services.sagemaker.training.jobs import TrainingJobManager
from sageforge.services.sagemaker.transform.handlers import TransformHandlers
from sageforge.services.sagemaker.transform.jobs import TransformJobManager
from sageforge.services.sagemaker.tuning.handlers import TuningHandlers
from sageforge.services.sagemaker.tuning.jobs import TuningJobManager
from sageforge.services.sagemaker_runtime.handlers import RuntimeHandlers
from sageforge.services.sts.handlers import StsProvider
from sageforge.serving.batch.controller import BatchController
from sageforge.serving.controller import ServingController
from sageforge.serving.router import Router
from sageforge.settings import Settings
from sageforge.store.logs.base import QueryableLogStore
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.metadata.database import open_database
from sageforge.store.metadata.records import RecordStore
from sageforge.store.metrics.base import MetricStore
from sageforge.store.metrics.sql import SqlMetricStore
from sageforge.store.objects import s3 as s3_objects
from sageforge.store.objects.base import ObjectStore
from sageforge.store.objects.filesystem import FilesystemObjectStore

log = logging.getLogger(__name__)


@dataclass
class Platform:
    """Everything the server holds, built once from the settings."""

    settings: Settings
    database: Engine
    records: RecordStore
    logs: QueryableLogStore
    metrics: MetricStore
    objects: ObjectStore
    training_jobs: TrainingJobManager
    tuning_jobs: TuningJobManager
    endpoints: EndpointManager
    serving: ServingController
    transform_jobs: TransformJobManager
    batch: BatchController
    dispatch: DispatchTable

    def start(self) -> None:
        """Work that must happen before serving: bring records left by a previous run to a truthful state."""
        self.training_jobs.recover()
        self.transform_jobs.recover()
        # After recovery, so that the trials a previous server left running already read Failed.
        self.tuning_jobs.resume()
        # Endpoints that served (or were being created) are deployed again from their records.
        self.endpoints.recover()

    def stop(self) -> None:
        """Stop running workloads and release resources (graceful shutdown)."""
        # Tuning loops first: they would otherwise launch trials into an engine that is shutting down.
        self.tuning_jobs.shutdown()
        self.training_jobs.shutdown()
        self.endpoints.shutdown()
        # Transform jobs still running end Failed: their records must say so before the database closes.
        self.transform_jobs.shutdown()
        self.metrics.flush()
        self.database.dispose()


class UnknownObjectStore(ValueError):
    """``--object-store`` names no store sageforge has."""


def open_object_store(settings: Settings, database: Engine) -> ObjectStore:
    """Files under the data dir (``object_store`` empty) or a remote S3-compatible store (``s3://``)."""
    if not settings.object_store:
        return FilesystemObjectStore(settings.data_dir / "objects", database)
    if settings.object_store == "s3://":
        return s3_objects.connect(
            settings.data_dir / "object-spool",
            endpoint_url=settings.object_store_endpoint_url,
            region=settings.object_store_region,
            access_key=settings.object_store_access_key,
            secret_key=settings.object_store_secret_key,
        )
    raise UnknownObjectStore(
        f"unsupported object store {settings.object_store!r}: leave it empty (files under the data dir) or use "
        '"s3://" (a remote S3-compatible store, with --object-store-endpoint-url and SAGEFORGE_OBJECT_STORE_* '
        "credentials)"
    )


def build_platform(settings: Settings) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(settings.resolved_database_url)
    records = RecordStore(database)
    logs = SqlLogStore(database)
    metrics = SqlMetricStore(database)
    objects = open_object_store(settings, database)

    def new_backend() -> Backend:
        return create_backend(settings.backend, **settings.backend_options())

    backend = new_backend()
    engine = TrainingEngine(
        objects,
        logs,
        backend,
        settings.data_dir / "jobs",
        settings.endpoint_url,
        stop_grace_seconds=settings.stop_grace_seconds,
        cpus=backend.cpus,
        # Images that are neither built-ins nor framework images run as containers where a Docker engine answers.
        container_backend=DockerBackend(),
        python_environments=settings.python_environments,
    )
    training_jobs = TrainingJobManager(records, engine, backend)
    tuning_jobs = TuningJobManager(records, training_jobs)
    router = Router()
    # Replicas get a backend of their own: the training manager closes its backend when it shuts down.
    serving = ServingController(
        objects,
        logs,
        new_backend(),
        settings.data_dir / "endpoints",
        router,
        python_environments=settings.python_environments,
    )
    models = ModelManager(records)
    endpoint_configs = EndpointConfigManager(records, models)
    endpoints = EndpointManager(records, endpoint_configs, models, serving)
    # Transform jobs' replicas get a backend of their own too, closed with the batch controller.
    batch = BatchController(
        objects, logs, new_backend(), settings.data_dir / "transform", python_environments=settings.python_environments
    )
    transform_jobs = TransformJobManager(records, models, objects, batch)
    dispatch = DispatchTable()
    dispatch.register("sagemaker", TrainingHandlers(training_jobs))
    dispatch.register("sagemaker", TuningHandlers(tuning_jobs))
    dispatch.register("sagemaker", ModelHandlers(models, records))
    dispatch.register("sagemaker", EndpointConfigHandlers(endpoint_configs, records))
    dispatch.register("sagemaker", EndpointHandlers(endpoints, records))
    dispatch.register("sagemaker", TransformHandlers(transform_jobs))
    dispatch.register("sagemaker", TagHandlers(records))
    dispatch.register("sagemaker-runtime", RuntimeHandlers(router, metrics))
    dispatch.register("logs", LogsProvider(logs))
    dispatch.register("cloudwatch", CloudWatchProvider(metrics))
    dispatch.register("s3", S3Handlers(objects))
    dispatch.register("sts", StsProvider())
    dispatch.register("iam", IamProvider())
    return Platform(
        settings=settings,
        database=database,
        records=records,
        logs=logs,
        metrics=metrics,
        objects=objects,
        training_jobs=training_jobs,
        tuning_jobs=tuning_jobs,
        endpoints=endpoints,
        serving=serving,
        transform_jobs=transform_jobs,
        batch=batch,
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
