"""Script mode's code: the source archive (``sagemaker_submit_directory``) extracted into each instance's
``code/`` before it starts, read from the object store by the engine, never by the instance.

Extraction is safe against hostile archives: only regular files and folders are written, a member naming a
``..`` is refused (a leading ``/`` is dropped, as tar does), and so are links and devices: nothing lands
outside ``code/``.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from sageforge.engine.errors import StagingError
from sageforge.engine.transfer import download, safe_relative_path
from sageforge.engine.workload import S3Location
from sageforge.store.objects.base import NoSuchBucket, NoSuchKey, ObjectStore


def stage_source_code(
    objects: ObjectStore, archive: S3Location, folders: Sequence[Path], scratch: Path, *, stop: threading.Event
) -> None:
    """Extract the ``.tar.gz`` at ``archive`` into every folder of ``folders``; ``StagingError`` (the job's
    FailureReason) when it is missing or not a safe tar archive. ``TransferInterrupted`` when ``stop`` is set."""
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=scratch, suffix=".tar.gz") as temporary:
        try:
            download(objects, archive.bucket, archive.key, Path(temporary.name), gunzip=False, stop=stop)
        except (NoSuchBucket, NoSuchKey):
            raise StagingError(
                f'ClientError: The source code archive "{archive.uri}" named by the sagemaker_submit_directory '
                "hyperparameter does not exist."
            ) from None
        for folder in folders:
            _extract(Path(temporary.name), folder, archive)


def _extract(path: Path, folder: Path, archive: S3Location) -> None:
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                if not (member.isfile() or member.isdir()):
                    raise StagingError(
                        f'ClientError: The source code archive "{archive.uri}" holds "{member.name}", which is '
                        "not a regular file or folder."
                    )
                if member.name.strip("/") in ("", "."):
                    continue
                try:
                    relative = safe_relative_path(member.name)
                except ValueError:
                    raise StagingError(
                        f'ClientError: The source code archive "{archive.uri}" holds "{member.name}", a path '
                        "outside the code folder."
                    ) from None
                target = folder / relative
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has content
                with source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
                # Keep the owner's execute bit: an entry point that is not Python runs as ./program.
                target.chmod(0o755 if member.mode & 0o100 else 0o644)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise StagingError(
            f'ClientError: The source code archive "{archive.uri}" is not a readable tar archive ({error}).'
        ) from None
