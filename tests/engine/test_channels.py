from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, cast

import pytest

from sageforge.engine import transfer
from sageforge.engine.channels import host_share, plan_channel, stage_channel
from sageforge.engine.errors import StagingError
from sageforge.engine.transfer import TransferInterrupted
from sageforge.engine.workload import ChannelSpec, S3Location
from sageforge.store.objects.base import ObjectStore
from sageforge.store.objects.filesystem import FilesystemObjectStore
from tests.engine.support import put


class SmallChunks:
    """The store, with reads coming 7 bytes at a time."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read_object(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        for chunk in self._store.read_object(bucket, key, start, end):
            yield from (chunk[offset : offset + 7] for offset in range(0, len(chunk), 7))


def plan(objects: FilesystemObjectStore, uri: str, **fields: str) -> list[tuple[str, str]]:
    channel = ChannelSpec("train", S3Location.parse(uri), **fields)  # type: ignore[arg-type]
    return [(staged.key, str(staged.path)) for staged in plan_channel(objects, channel, region="r", role_arn=None)]


def test_prefix_objects_are_named_from_the_prefix_last_slash(objects: FilesystemObjectStore) -> None:
    for key in ["data/train/a.csv", "data/train/sub/b.csv", "data/train.csv", "data/other.csv", "data/train/dir/"]:
        put(objects, "b", key, b"x")
    assert plan(objects, "s3://b/data/train/") == [("data/train/a.csv", "a.csv"), ("data/train/sub/b.csv", "sub/b.csv")]
    assert plan(objects, "s3://b/data/tr") == [
        ("data/train.csv", "train.csv"),
        ("data/train/a.csv", "train/a.csv"),
        ("data/train/sub/b.csv", "train/sub/b.csv"),
    ]


def test_listing_crosses_pages(objects: FilesystemObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "_PAGE", 2)
    keys = [f"p/{n}" for n in range(5)]
    for key in keys:
        put(objects, "b", key, b"")
    assert [key for key, _ in plan(objects, "s3://b/p/")] == keys


def test_no_objects_fails_with_sagemakers_message(objects: FilesystemObjectStore) -> None:
    put(objects, "b", "elsewhere/x", b"x")
    channel = ChannelSpec("train", S3Location.parse("s3://b/data/"))
    with pytest.raises(StagingError) as raised:
        plan_channel(objects, channel, region="eu-west-1", role_arn="arn:aws:iam::1:role/R")
    assert str(raised.value) == (
        'ClientError: No S3 objects found under S3 URL "s3://b/data/" given in input data source. Please ensure '
        "that the bucket exists in the selected region (eu-west-1), that objects exist under that S3 prefix, and "
        'that the role arn:aws:iam::1:role/R has "s3:ListBucket" permissions on bucket "b".'
    )


def test_a_missing_bucket_is_no_objects_too(objects: FilesystemObjectStore) -> None:
    channel = ChannelSpec("train", S3Location.parse("s3://nope/data/"))
    with pytest.raises(StagingError, match='role given has "s3:ListBucket" permissions on bucket "nope"'):
        plan_channel(objects, channel, region="r", role_arn=None)


def test_manifest_lists_the_objects(objects: FilesystemObjectStore) -> None:
    put(objects, "other", "p/x/1.csv", b"1")
    put(objects, "other", "p/2.csv", b"2")
    put(objects, "b", "manifest", json.dumps([{"prefix": "s3://other/p/"}, "x/1.csv", "2.csv"]).encode())
    assert plan(objects, "s3://b/manifest", data_type="ManifestFile") == [
        ("p/2.csv", "2.csv"),
        ("p/x/1.csv", "x/1.csv"),
    ]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"not json", "Invalid manifest file"),
        (b"[]", "Invalid manifest file"),
        (b'[{"nope": 1}, "a"]', "Invalid manifest file"),
        (b'[{"prefix": "s3://other/p/"}, 3]', "Invalid manifest file"),
        (b'[{"prefix": "s3://other/p/"}, "missing.csv"]', '"s3://other/p/missing.csv" listed in manifest file'),
        (b'[{"prefix": "s3://other/p/"}]', "No S3 objects found"),
    ],
)
def test_bad_manifests(objects: FilesystemObjectStore, manifest: bytes, message: str) -> None:
    put(objects, "other", "p/a", b"a")
    put(objects, "b", "manifest", manifest)
    with pytest.raises(StagingError, match=message):
        plan(objects, "s3://b/manifest", data_type="ManifestFile")


def test_keys_that_would_leave_the_channel_folder_are_refused(objects: FilesystemObjectStore) -> None:
    put(objects, "b", "data/../../etc/passwd", b"x")
    with pytest.raises(StagingError, match="Cannot stage"):
        plan(objects, "s3://b/data/")


def test_sharded_by_key_is_round_robin_over_sorted_keys(objects: FilesystemObjectStore) -> None:
    for n in [4, 0, 3, 1, 2]:
        put(objects, "b", f"d/{n}", b"")
    channel = ChannelSpec("train", S3Location("b", "d/"), distribution="ShardedByS3Key")
    planned = plan_channel(objects, channel, region="r", role_arn=None)
    assert [s.key for s in host_share(planned, channel, 0, 2)] == ["d/0", "d/2", "d/4"]
    assert [s.key for s in host_share(planned, channel, 1, 2)] == ["d/1", "d/3"]
    replicated = ChannelSpec("train", S3Location("b", "d/"))
    assert host_share(planned, replicated, 1, 2) == planned


def test_gzip_is_decompressed_while_staging(objects: FilesystemObjectStore, tmp_path: Path) -> None:
    body = b"a,b\n" * 1000
    # Two concatenated members make one valid gzip file; chunk boundaries fall anywhere.
    put(objects, "b", "d/part.csv.gz", gzip.compress(body[:1500]) + gzip.compress(body[1500:]))
    objects = cast(FilesystemObjectStore, SmallChunks(objects))
    put(objects, "b", "d/plain", gzip.compress(b"plain"))
    channel = ChannelSpec("train", S3Location("b", "d/"), compression="Gzip")
    planned = plan_channel(objects, channel, region="r", role_arn=None)
    assert [staged.path for staged in planned] == [PurePosixPath("part.csv"), PurePosixPath("plain")]
    stage_channel(objects, planned, tmp_path, stop=threading.Event())
    assert (tmp_path / "part.csv").read_bytes() == body
    assert (tmp_path / "plain").read_bytes() == b"plain"


@pytest.mark.parametrize("body", [b"not gzip at all", gzip.compress(b"x" * 100)[:-10]], ids=["not-gzip", "truncated"])
def test_corrupt_gzip_fails_staging(objects: FilesystemObjectStore, tmp_path: Path, body: bytes) -> None:
    put(objects, "b", "d/x.gz", body)
    channel = ChannelSpec("train", S3Location("b", "d/"), compression="Gzip")
    planned = plan_channel(objects, channel, region="r", role_arn=None)
    with pytest.raises(StagingError, match='Unable to decompress "s3://b/d/x.gz"'):
        stage_channel(objects, planned, tmp_path, stop=threading.Event())


def test_staging_stops_when_asked(objects: FilesystemObjectStore, tmp_path: Path) -> None:
    put(objects, "b", "d/x", b"x" * 100)
    channel = ChannelSpec("train", S3Location("b", "d/"))
    stop = threading.Event()
    stop.set()
    with pytest.raises(TransferInterrupted):
        stage_channel(objects, plan_channel(objects, channel, region="r", role_arn=None), tmp_path, stop=stop)
