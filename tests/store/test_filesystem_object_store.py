"""``FilesystemObjectStore`` against the object-store contract, plus what only files on disk can show:
failed writes leave no temporary files, replaced data files are removed, leftovers of a crash are cleaned."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from sageforge.store.metadata.database import open_database
from sageforge.store.objects.base import BadDigest, CompletedPart, DigestCheck, ObjectAttributes, ObjectStore
from sageforge.store.objects.filesystem import FilesystemObjectStore
from sageforge.store.objects.index import object_buckets, object_entries, object_parts, object_uploads
from sageforge.testing.contracts.object_store import BUCKET, FailingBody, ObjectStoreContract


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


class TestFilesystemObjectStore(ObjectStoreContract):
    @pytest.fixture
    def open_store(self, tmp_path: Path, engine: Engine) -> Callable[[], ObjectStore]:
        return lambda: FilesystemObjectStore(tmp_path / "objects", engine)


def _files(root: Path, folder: str) -> list[Path]:
    return [path for path in (root / folder).rglob("*") if path.is_file()]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "objects"


@pytest.fixture
def store(root: Path, engine: Engine) -> FilesystemObjectStore:
    store = FilesystemObjectStore(root, engine)
    store.create_bucket(BUCKET, "us-east-1")
    return store


def test_failed_writes_leave_no_files(store: FilesystemObjectStore, root: Path) -> None:
    with pytest.raises(ConnectionResetError):
        store.put_object(BUCKET, "k", FailingBody(b"x" * 5_000_000), ObjectAttributes())
    with pytest.raises(BadDigest):
        store.put_object(BUCKET, "k", io.BytesIO(b"data"), ObjectAttributes(), DigestCheck({"MD5": "AAAA"}))
    upload = store.create_multipart_upload(BUCKET, "m", ObjectAttributes())
    with pytest.raises(ConnectionResetError):
        store.upload_part(BUCKET, "m", upload.upload_id, 1, FailingBody(b"y" * 100))
    assert _files(root, "tmp") == [] and _files(root, "data") == []


def test_replaced_and_deleted_data_is_removed(store: FilesystemObjectStore, root: Path) -> None:
    store.put_object(BUCKET, "k", io.BytesIO(b"one"), ObjectAttributes())
    store.put_object(BUCKET, "k", io.BytesIO(b"two"), ObjectAttributes())
    assert len(_files(root, "data")) == 1
    store.copy_object(BUCKET, "k", BUCKET, "copy")
    upload = store.create_multipart_upload(BUCKET, "m", ObjectAttributes())
    store.upload_part(BUCKET, "m", upload.upload_id, 1, io.BytesIO(b"a"))
    store.upload_part(BUCKET, "m", upload.upload_id, 1, io.BytesIO(b"b"))
    assert len(_files(root, "data")) == 3
    store.abort_multipart_upload(BUCKET, "m", upload.upload_id)
    store.delete_object(BUCKET, "k")
    store.delete_object(BUCKET, "copy")
    assert _files(root, "data") == []


def test_completing_removes_the_part_files(store: FilesystemObjectStore, root: Path) -> None:
    upload = store.create_multipart_upload(BUCKET, "m", ObjectAttributes())
    part = store.upload_part(BUCKET, "m", upload.upload_id, 1, io.BytesIO(b"only"))
    store.upload_part(BUCKET, "m", upload.upload_id, 2, io.BytesIO(b"unused"))
    store.complete_multipart_upload(BUCKET, "m", upload.upload_id, [CompletedPart(1, part.etag)])
    assert len(_files(root, "data")) == 1


def test_reading_an_object_whose_data_file_is_gone_fails_instead_of_retrying(
    store: FilesystemObjectStore, root: Path
) -> None:
    # A retry is for a key overwritten between reading its row and opening its file; with the row unchanged the
    # read once spun forever (seen when a server's data directory was deleted under it).
    store.put_object(BUCKET, "k", io.BytesIO(b"data"), ObjectAttributes())
    [data] = _files(root, "data")
    data.unlink()
    outcome: list[BaseException | None] = []
    reader = threading.Thread(
        target=lambda: outcome.append(_raised(lambda: store.open_object(BUCKET, "k"))), daemon=True
    )
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "open_object kept retrying a data file that is gone"
    assert isinstance(outcome[0], FileNotFoundError)


def _raised(call: Callable[[], object]) -> BaseException | None:
    try:
        call()
    except BaseException as error:
        return error
    return None


def test_temporary_files_of_a_crashed_writer_are_removed(root: Path, engine: Engine) -> None:
    FilesystemObjectStore(root, engine)
    (root / "tmp" / "left-by-a-crash").write_bytes(b"partial")
    FilesystemObjectStore(root, engine)
    assert _files(root, "tmp") == []


def test_the_migration_creates_the_index_tables_as_declared(engine: Engine) -> None:
    declared = MetaData()
    for table in (object_buckets, object_entries, object_uploads, object_parts):
        table.to_metadata(declared)

    def ours(name: str | None, kind: str, parent: object) -> bool:
        return kind != "table" or name in declared.tables

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": ours})
        assert compare_metadata(context, declared) == []
