"""The default object store: bytes in files under a root directory, the index in the metadata database.

A write streams the body into a data file (``blobs``), then commits the index row in one transaction and
only then removes the file of the version it replaced, so readers see the old object or the new one and a
failed write leaves nothing. Transactions that change rows begin with a write (``DELETE ... RETURNING``) so
that concurrent writers queue on the database lock instead of working from a stale read.

Assumes one server process per root: opening the store removes temporary files of a writer that died.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, and_, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError

from sageforge.store.objects import checksums
from sageforge.store.objects.base import (
    Bucket,
    BucketAlreadyExists,
    BucketNotEmpty,
    CompletedPart,
    DigestCheck,
    MultipartUpload,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
    ReadableBody,
)
from sageforge.store.objects.blobs import CHUNK_SIZE, BlobFiles, FileObjectReader
from sageforge.store.objects.checksums import Digester
from sageforge.store.objects.index import (
    dump_attributes,
    epoch_time,
    key_range,
    multipart_upload,
    object_buckets,
    object_entries,
    object_info,
    object_parts,
    object_uploads,
    part_info,
)
from sageforge.store.objects.multipart import check_parts, composite_checksum, multipart_etag


class FilesystemObjectStore:
    def __init__(self, root: Path, engine: Engine) -> None:
        self._files = BlobFiles(root)
        self._engine = engine

    # Buckets

    def create_bucket(self, name: str, region: str) -> Bucket:
        now = time.time()
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(object_buckets).values(name=name, region=region, created_at=now))
        except IntegrityError as error:
            raise BucketAlreadyExists(name) from error
        return Bucket(name, region, epoch_time(now))

    def get_bucket(self, name: str) -> Bucket:
        with self._engine.connect() as connection:
            row = connection.execute(select(object_buckets).where(object_buckets.c.name == name)).first()
        if row is None:
            raise NoSuchBucket(name)
        return Bucket(row.name, row.region, epoch_time(row.created_at))

    def list_buckets(self) -> list[Bucket]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(object_buckets).order_by(object_buckets.c.name)).all()
        return [Bucket(row.name, row.region, epoch_time(row.created_at)) for row in rows]

    def delete_bucket(self, name: str) -> None:
        uploads = select(object_uploads.c.upload_id).where(object_uploads.c.bucket == name)
        with self._engine.begin() as connection:
            parts = connection.execute(
                delete(object_parts).where(object_parts.c.upload_id.in_(uploads)).returning(object_parts.c.file)
            )
            stale = list(parts.scalars())
            connection.execute(delete(object_uploads).where(object_uploads.c.bucket == name))
            empty = ~select(object_entries.c.key).where(object_entries.c.bucket == name).exists()
            deleted = connection.execute(delete(object_buckets).where(object_buckets.c.name == name, empty))
            if deleted.rowcount == 0:
                self.get_bucket(name)
                raise BucketNotEmpty(name)
        self._discard(stale)

    # Objects

    def put_object(
        self, bucket: str, key: str, body: ReadableBody, attributes: ObjectAttributes, check: DigestCheck | None = None
    ) -> ObjectInfo:
        self.get_bucket(bucket)  # before the body is read, not after
        check = check or DigestCheck()
        blob = self._files.write(lambda: body.read(CHUNK_SIZE), Digester(["MD5", *check.compute], check.expected))
        return self._commit_object(
            bucket, key, blob.name, blob.size, blob.digests["MD5"].hex(), _encoded(blob.digests), attributes
        )

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        return object_info(self._object_row(bucket, key)._mapping)

    def open_object(self, bucket: str, key: str) -> FileObjectReader:
        row = self._object_row(bucket, key)
        while True:
            try:
                return FileObjectReader(object_info(row._mapping), self._files.open(row.file))
            except FileNotFoundError:
                current = self._object_row(bucket, key)
                if current.file == row.file:
                    raise  # the row still names the missing file: its data was lost, trying again cannot help
                row = current  # overwritten between reading the row and opening its file: read the new row

    def read_object(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return self.open_object(bucket, key).chunks(start, end)

    def delete_object(self, bucket: str, key: str) -> None:
        self.get_bucket(bucket)
        with self._engine.begin() as connection:
            result = connection.execute(
                delete(object_entries)
                .where(object_entries.c.bucket == bucket, object_entries.c.key == key)
                .returning(object_entries.c.file)
            )
            stale = list(result.scalars())
        self._discard(stale)

    def list_objects(self, bucket: str, prefix: str = "", start_after: str = "", limit: int = 1000) -> list[ObjectInfo]:
        self.get_bucket(bucket)
        key = object_entries.c.key
        conditions = [object_entries.c.bucket == bucket, key > start_after, *key_range(key, prefix)]
        query = select(object_entries).where(*conditions).order_by(key).limit(limit)
        with self._engine.connect() as connection:
            return [object_info(row._mapping) for row in connection.execute(query)]

    def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        attributes: ObjectAttributes | None = None,
    ) -> ObjectInfo:
        self.get_bucket(bucket)
        with self.open_object(source_bucket, source_key) as reader:
            source = reader.info
            chunks = reader.chunks()
            digester = Digester(["MD5", *source.checksums])
            blob = self._files.write(lambda: next(chunks, b""), digester)
        chosen = source.attributes if attributes is None else attributes
        return self._commit_object(
            bucket, key, blob.name, blob.size, blob.digests["MD5"].hex(), _encoded(blob.digests), chosen
        )

    # Multipart uploads

    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        attributes: ObjectAttributes,
        checksum_algorithm: str | None = None,
        checksum_type: str = "COMPOSITE",
    ) -> MultipartUpload:
        if checksum_algorithm:
            checksums.new(checksum_algorithm)  # refuse an unsupported algorithm now, not at the first part
        self.get_bucket(bucket)
        now = time.time()
        upload = MultipartUpload(
            upload_id=f"{time.time_ns():016x}{uuid.uuid4().hex}",
            bucket=bucket,
            key=key,
            initiated=epoch_time(now),
            attributes=attributes,
            checksum_algorithm=checksum_algorithm.upper() if checksum_algorithm else None,
            checksum_type=checksum_type,
        )
        values = {
            "upload_id": upload.upload_id,
            "bucket": bucket,
            "key": key,
            "initiated": now,
            "attributes": dump_attributes(attributes),
            "checksum_algorithm": upload.checksum_algorithm,
            "checksum_type": checksum_type,
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(object_uploads), values)
        except IntegrityError as error:
            raise NoSuchBucket(bucket) from error
        return upload

    def get_multipart_upload(self, bucket: str, key: str, upload_id: str) -> MultipartUpload:
        self.get_bucket(bucket)
        query = select(object_uploads).where(
            object_uploads.c.upload_id == upload_id, object_uploads.c.bucket == bucket, object_uploads.c.key == key
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            raise NoSuchUpload(upload_id)
        return multipart_upload(row)

    def list_multipart_uploads(
        self, bucket: str, prefix: str = "", key_marker: str = "", upload_id_marker: str = "", limit: int = 1000
    ) -> list[MultipartUpload]:
        self.get_bucket(bucket)
        key = object_uploads.c.key
        after = (
            or_(key > key_marker, and_(key == key_marker, object_uploads.c.upload_id > upload_id_marker))
            if upload_id_marker
            else key > key_marker
        )
        conditions = [object_uploads.c.bucket == bucket, after, *key_range(key, prefix)]
        query = select(object_uploads).where(*conditions).order_by(key, object_uploads.c.upload_id).limit(limit)
        with self._engine.connect() as connection:
            return [multipart_upload(row) for row in connection.execute(query)]

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: ReadableBody,
        check: DigestCheck | None = None,
    ) -> PartInfo:
        upload = self.get_multipart_upload(bucket, key, upload_id)
        check = check or DigestCheck()
        algorithms = ["MD5", *check.compute, *([upload.checksum_algorithm] if upload.checksum_algorithm else [])]
        blob = self._files.write(lambda: body.read(CHUNK_SIZE), Digester(algorithms, check.expected))
        return self._commit_part(upload_id, part_number, blob.name, blob.size, blob.digests)

    def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        source_bucket: str,
        source_key: str,
        start: int = 0,
        end: int | None = None,
    ) -> PartInfo:
        upload = self.get_multipart_upload(bucket, key, upload_id)
        algorithms = ["MD5", *([upload.checksum_algorithm] if upload.checksum_algorithm else [])]
        with self.open_object(source_bucket, source_key) as reader:
            chunks = reader.chunks(start, end)
            blob = self._files.write(lambda: next(chunks, b""), Digester(algorithms))
        return self._commit_part(upload_id, part_number, blob.name, blob.size, blob.digests)

    def list_parts(
        self, bucket: str, key: str, upload_id: str, part_number_marker: int = 0, limit: int = 1000
    ) -> list[PartInfo]:
        self.get_multipart_upload(bucket, key, upload_id)
        query = (
            select(object_parts)
            .where(object_parts.c.upload_id == upload_id, object_parts.c.part_number > part_number_marker)
            .order_by(object_parts.c.part_number)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [part_info(row) for row in connection.execute(query)]

    def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[CompletedPart],
        check: DigestCheck | None = None,
    ) -> ObjectInfo:
        upload = self.get_multipart_upload(bucket, key, upload_id)
        query = select(object_parts).where(object_parts.c.upload_id == upload_id)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        chosen = check_parts(parts, {row.part_number: part_info(row) for row in rows})
        files = {row.part_number: row.file for row in rows}
        algorithm = upload.checksum_algorithm
        full_object = algorithm is not None and upload.checksum_type == "FULL_OBJECT"
        check = check or DigestCheck()
        digester = Digester([algorithm] if full_object and algorithm else [], check.expected)
        blob = self._files.concatenate([files[part.part_number] for part in chosen], digester)
        if algorithm and not full_object:
            stored_checksums = {algorithm: composite_checksum(algorithm, chosen)}
        else:
            stored_checksums = _encoded(blob.digests)
        return self._commit_object(
            bucket,
            key,
            blob.name,
            blob.size,
            multipart_etag(chosen),
            stored_checksums,
            upload.attributes,
            parts_count=len(chosen),
            upload_id=upload_id,
        )

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.get_multipart_upload(bucket, key, upload_id)
        with self._engine.begin() as connection:
            stale = self._end_upload(connection, upload_id)
        self._discard(stale)

    # Index rows

    def _object_row(self, bucket: str, key: str) -> Row[Any]:
        query = select(object_entries).where(object_entries.c.bucket == bucket, object_entries.c.key == key)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            self.get_bucket(bucket)
            raise NoSuchKey(key)
        return row

    def _commit_object(
        self,
        bucket: str,
        key: str,
        file: str,
        size: int,
        etag: str,
        stored_checksums: Mapping[str, str],
        attributes: ObjectAttributes,
        *,
        parts_count: int | None = None,
        upload_id: str | None = None,
    ) -> ObjectInfo:
        """Make ``file`` the object's data (ending ``upload_id`` in the same transaction); remove what it replaced."""
        now = time.time()
        values = {
            "bucket": bucket,
            "key": key,
            "size": size,
            "etag": etag,
            "last_modified": now,
            "file": file,
            "attributes": dump_attributes(attributes),
            "checksums": json.dumps(dict(stored_checksums)),
            "parts_count": parts_count,
        }
        try:
            with self._engine.begin() as connection:
                stale = _replace_row(connection, object_entries, values, "bucket", "key")
                if upload_id is not None:
                    stale += self._end_upload(connection, upload_id)
        except BaseException as error:
            self._files.discard(file)
            if isinstance(error, IntegrityError):
                self.get_bucket(bucket)
            raise
        self._discard(stale)
        return object_info(values)

    def _commit_part(
        self, upload_id: str, part_number: int, file: str, size: int, digests: dict[str, bytes]
    ) -> PartInfo:
        now = time.time()
        part = PartInfo(part_number, size, digests["MD5"].hex(), epoch_time(now), _encoded(digests))
        values = {
            "upload_id": upload_id,
            "part_number": part_number,
            "size": size,
            "etag": part.etag,
            "last_modified": now,
            "file": file,
            "checksums": json.dumps(part.checksums),
        }
        try:
            with self._engine.begin() as connection:
                stale = _replace_row(connection, object_parts, values, "upload_id", "part_number")
        except IntegrityError as error:
            self._files.discard(file)
            raise NoSuchUpload(upload_id) from error  # aborted or completed while the part streamed in
        except BaseException:
            self._files.discard(file)
            raise
        self._discard(stale)
        return part

    @staticmethod
    def _end_upload(connection: Connection, upload_id: str) -> list[str]:
        """Delete an upload and its parts; the part files to remove once the transaction commits."""
        result = connection.execute(
            delete(object_parts).where(object_parts.c.upload_id == upload_id).returning(object_parts.c.file)
        )
        files = list(result.scalars())
        if connection.execute(delete(object_uploads).where(object_uploads.c.upload_id == upload_id)).rowcount == 0:
            raise NoSuchUpload(upload_id)
        return files

    def _discard(self, names: Sequence[str]) -> None:
        for name in names:
            self._files.discard(name)


def _replace_row(connection: Connection, table: Table, values: Mapping[str, Any], *key: str) -> list[str]:
    """Put ``values`` in place of the row with the same ``key`` columns; the data files of the rows replaced.
    The DELETE comes first so that the transaction holds the write lock before it reads anything."""
    where = [table.c[column] == values[column] for column in key]
    stale = list(connection.execute(delete(table).where(*where).returning(table.c.file)).scalars())
    connection.execute(insert(table), values)
    return stale


def _encoded(digests: Mapping[str, bytes]) -> dict[str, str]:
    """The checksums to store: every digest but the MD5 (which is the ETag), base64-encoded."""
    return {name: checksums.encode(value) for name, value in digests.items() if name != "MD5"}
