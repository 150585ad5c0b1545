"""Input channels: which objects each host gets (the plan, plain data) and copying them into its folder.

Planning lists the object store once per channel and fails the job the way SageMaker does when nothing is
found; staging streams each planned object to disk. Keeping the two apart lets a backend whose instances run
elsewhere ship the plan and stage on the node itself.

* ``S3Prefix``: every object whose key starts with the prefix, named by its key relative to the prefix's last
  ``/`` (``s3://b/data/tr`` stages ``data/train/a.csv`` as ``train/a.csv``).
* ``ManifestFile``: ``[{"prefix": "s3://b/p/"}, "rel/1", "rel/2", ...]``; each object is named by its entry.
* ``ShardedByS3Key``: objects sorted by key, host ``i`` of ``N`` gets objects ``i, i+N, ...``.
* ``Gzip``: decompressed while staging, a ``.gz`` suffix dropped.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sageforge.engine.errors import InvalidS3Uri, StagingError
from sageforge.engine.transfer import download, list_all, safe_relative_path
from sageforge.engine.workload import ChannelSpec, S3Location
from sageforge.store.objects.base import NoSuchBucket, NoSuchKey, ObjectStore


@dataclass(frozen=True)
class StagedObject:
    bucket: str
    key: str
    path: PurePosixPath  # relative to the channel's folder
    gunzip: bool

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def plan_channel(
    objects: ObjectStore, channel: ChannelSpec, *, region: str, role_arn: str | None
) -> tuple[StagedObject, ...]:
    """Every object of ``channel`` in key order; ``StagingError`` when there are none."""
    if channel.data_type == "ManifestFile":
        found = _manifest_objects(objects, channel)
    else:
        found = _prefix_objects(objects, channel)
    if not found:
        location = channel.uri
        raise StagingError(
            f'ClientError: No S3 objects found under S3 URL "{location.uri}" given in input data source. '
            f"Please ensure that the bucket exists in the selected region ({region}), that objects exist under "
            f'that S3 prefix, and that the role {role_arn or "given"} has "s3:ListBucket" permissions on bucket '
            f'"{location.bucket}".'
        )
    return tuple(sorted(found, key=lambda staged: (staged.bucket, staged.key)))


def host_share(
    plan: Sequence[StagedObject], channel: ChannelSpec, host_index: int, host_count: int
) -> tuple[StagedObject, ...]:
    """The part of ``plan`` that host ``host_index`` (0-based) stages."""
    if channel.distribution == "ShardedByS3Key":
        return tuple(plan[host_index::host_count])
    return tuple(plan)


def stage_channel(objects: ObjectStore, share: Sequence[StagedObject], folder: Path, *, stop: threading.Event) -> None:
    """Download ``share`` into ``folder``; ``TransferInterrupted`` if ``stop`` is set meanwhile."""
    for staged in share:
        try:
            download(objects, staged.bucket, staged.key, folder / staged.path, gunzip=staged.gunzip, stop=stop)
        except zlib.error as error:
            raise StagingError(f'ClientError: Unable to decompress "{staged.uri}" as gzip: {error}') from error
        except (NoSuchKey, NoSuchBucket) as error:
            # Deleted between planning and staging.
            raise StagingError(f'ClientError: S3 object "{staged.uri}" no longer exists.') from error


def _prefix_objects(objects: ObjectStore, channel: ChannelSpec) -> list[StagedObject]:
    location = channel.uri
    try:
        listed = list_all(objects, location.bucket, location.key)
    except NoSuchBucket:
        return []
    base = location.key[: location.key.rfind("/") + 1]
    return [
        _staged(channel, location.bucket, info.key, info.key[len(base) :])
        for info in listed
        if not info.key.endswith("/")  # "folder" marker objects hold nothing to stage
    ]


def _manifest_objects(objects: ObjectStore, channel: ChannelSpec) -> list[StagedObject]:
    manifest = channel.uri
    try:
        content = b"".join(objects.read_object(manifest.bucket, manifest.key))
    except (NoSuchBucket, NoSuchKey):
        return []
    try:
        entries = json.loads(content)
        header, *names = entries
        prefix = S3Location.parse(header["prefix"])
        if not all(isinstance(name, str) for name in names):
            raise TypeError("entries after the prefix must be strings")
    except (ValueError, TypeError, KeyError, InvalidS3Uri) as error:
        raise StagingError(f'ClientError: Invalid manifest file "{manifest.uri}": {error}') from error
    found = [_staged(channel, prefix.bucket, prefix.key + name, name) for name in names]
    for staged in found:
        try:
            objects.head_object(staged.bucket, staged.key)
        except (NoSuchBucket, NoSuchKey):
            raise StagingError(
                f'ClientError: S3 object "{staged.uri}" listed in manifest file "{manifest.uri}" does not exist.'
            ) from None
    return found


def _staged(channel: ChannelSpec, bucket: str, key: str, name: str) -> StagedObject:
    try:
        path = safe_relative_path(name)
    except ValueError as error:
        raise StagingError(f'ClientError: Cannot stage "s3://{bucket}/{key}": {error}.') from error
    gunzip = channel.compression == "Gzip"
    if gunzip and path.suffix == ".gz":
        path = path.with_suffix("")
    return StagedObject(bucket, key, path, gunzip)
