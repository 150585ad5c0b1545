"""Stage a variant's files from the object store into the directory its replicas read (their ``/opt/ml``):
the model into ``model/``, and whatever else the container needs before it starts (``ModelSource.directory``).

Read through the ``ObjectStore`` interface, never through an S3 client calling this server. A tar.gz is
extracted with the ``data`` filter, so an archive cannot write outside the directory or create devices.
Failures raise ``DeploymentFailed`` with the reason SageMaker gives for them.
"""

from __future__ import annotations

import tarfile
import threading
import zlib
from pathlib import Path

from sageforge.engine.transfer import download, list_all, safe_relative_path
from sageforge.serving.errors import DeploymentFailed
from sageforge.serving.spec import ModelSource
from sageforge.store.objects.base import NoSuchBucket, NoSuchKey, ObjectStore


def stage_files(objects: ObjectStore, files: tuple[ModelSource, ...], base_dir: Path) -> None:
    """Stage each source into its directory under ``base_dir``; ``base_dir/model`` exists afterwards in any case
    (the runtime loads its model from there, staged or not)."""
    (base_dir / "model").mkdir(parents=True, exist_ok=True)
    for source in files:
        stage_model(objects, source, base_dir / safe_relative_path(source.directory), source.container)


def stage_model(objects: ObjectStore, source: ModelSource, model_dir: Path, container: str = "container_1") -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    url = f"s3://{source.bucket}/{source.key}"
    never = threading.Event()
    try:
        if source.archive:
            archive = model_dir.parent / f"{model_dir.name}.tar.gz"
            download(objects, source.bucket, source.key, archive, gunzip=False, stop=never)
            _extract(archive, model_dir, url)
            archive.unlink()
            return
        objects_found = [info for info in list_all(objects, source.bucket, source.key) if not info.key.endswith("/")]
        if not objects_found:
            raise NoSuchKey(source.key)
        for info in objects_found:
            relative = info.key[len(source.key) :].lstrip("/") or info.key.rsplit("/", 1)[-1]
            download(
                objects, source.bucket, info.key, model_dir / safe_relative_path(relative), gunzip=False, stop=never
            )
    except (NoSuchKey, NoSuchBucket):
        raise DeploymentFailed(
            f'Failed to download model data for container "{container}" from URL: "{url}". Please ensure that '
            "there is an object located at the URL and that the role passed to CreateModel has permissions to "
            "download the object."
        ) from None


def _extract(archive: Path, model_dir: Path, url: str) -> None:
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(model_dir, filter="data")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DeploymentFailed(
            f'Failed to extract model data archive from URL "{url}". Please ensure that the object located at '
            f"the URL is a valid tar.gz archive ({error})."
        ) from None
