"""What a job leaves in the object store: model and output tarballs, and checkpoints both ways.

With several instances, each host's ``model/`` (and ``output/data/``) goes into the one tarball; where two hosts
wrote the same path, algo-1's file wins (distributed scripts are expected to save on algo-1 only). Checkpoints
are synced when the job starts and after it ends (SageMaker also syncs while it runs).
"""

from __future__ import annotations

import tarfile
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from sageforge.engine.transfer import download, list_all, safe_relative_path, upload_file
from sageforge.engine.workload import S3Location
from sageforge.store.objects.base import NoSuchBucket, ObjectStore


def has_files(folders: Sequence[Path]) -> bool:
    return any(path.is_file() for folder in folders for path in folder.rglob("*"))


def upload_tarball(objects: ObjectStore, folders: Sequence[Path], target: S3Location, scratch: Path) -> None:
    """Tar and gzip the merged contents of ``folders`` (earlier folders win) and upload it as ``target``."""
    with tempfile.NamedTemporaryFile(dir=scratch, suffix=".tar.gz") as temporary:
        with tarfile.open(fileobj=temporary, mode="w:gz") as tar:
            added: set[str] = set()
            for folder in folders:
                for path in sorted(folder.rglob("*")):
                    # Relative names without "./", as SageMaker's tarballs have them.
                    name = path.relative_to(folder).as_posix()
                    if name not in added:
                        added.add(name)
                        tar.add(path, arcname=name, recursive=False)
        temporary.flush()
        upload_file(objects, target.bucket, target.key, Path(temporary.name))


def download_checkpoints(objects: ObjectStore, location: S3Location, folder: Path, *, stop: threading.Event) -> None:
    """Copy every object under ``location`` (a folder) into ``folder``; nothing if the bucket does not exist."""
    prefix = _folder_prefix(location)
    try:
        listed = list_all(objects, location.bucket, prefix)
    except NoSuchBucket:
        return
    for info in listed:
        if not info.key.endswith("/"):
            path = folder / safe_relative_path(info.key[len(prefix) :])
            download(objects, location.bucket, info.key, path, gunzip=False, stop=stop)


def upload_checkpoints(objects: ObjectStore, folders: Sequence[Path], location: S3Location) -> None:
    """Upload every file of ``folders`` under ``location``; earlier folders are uploaded last, so they win."""
    prefix = _folder_prefix(location)
    for folder in reversed(folders):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                upload_file(objects, location.bucket, prefix + path.relative_to(folder).as_posix(), path)


def _folder_prefix(location: S3Location) -> str:
    return location.key.rstrip("/") + "/" if location.key else ""
