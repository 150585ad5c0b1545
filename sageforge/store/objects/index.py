"""The filesystem object store's index: buckets, objects, multipart uploads and their parts, as tables in
the metadata database, and how rows become the interface's records. The bytes live in files named by the
``file`` columns.

Keys compare as UTF-8 bytes, S3's listing order: SQLite's default BINARY collation does that; PostgreSQL
needs the "C" collation on the key columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnElement, Float, ForeignKey, Index, Integer, Row, String, Table, Text

from sageforge.store.metadata.schema import metadata
from sageforge.store.objects.base import MultipartUpload, ObjectAttributes, ObjectInfo, PartInfo


def key_type() -> String:
    return String(1024).with_variant(String(1024, collation="C"), "postgresql")


object_buckets = Table(
    "object_buckets",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("region", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
)

# ``attributes`` is JSON (content type, user metadata, stored headers); ``checksums`` JSON (algorithm -> base64).
object_entries = Table(
    "object_entries",
    metadata,
    Column("bucket", String(63), ForeignKey("object_buckets.name"), primary_key=True),
    Column("key", key_type(), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("last_modified", Float, nullable=False),
    Column("file", String(64), nullable=False),
    Column("attributes", Text, nullable=False),
    Column("checksums", Text, nullable=False),
    Column("parts_count", Integer, nullable=True),
)

object_uploads = Table(
    "object_uploads",
    metadata,
    # Upload ids start with the creation time in hex, so they sort by initiation as S3 lists them.
    Column("upload_id", String(64), primary_key=True),
    Column("bucket", String(63), ForeignKey("object_buckets.name"), nullable=False),
    Column("key", key_type(), nullable=False),
    Column("initiated", Float, nullable=False),
    Column("attributes", Text, nullable=False),
    Column("checksum_algorithm", String(16), nullable=True),
    Column("checksum_type", String(16), nullable=False),
    Index("ix_object_uploads_bucket_key", "bucket", "key", "upload_id"),
)

object_parts = Table(
    "object_parts",
    metadata,
    Column("upload_id", String(64), ForeignKey("object_uploads.upload_id", ondelete="CASCADE"), primary_key=True),
    Column("part_number", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("last_modified", Float, nullable=False),
    Column("file", String(64), nullable=False),
    Column("checksums", Text, nullable=False),
)


def key_range(column: ColumnElement[str], prefix: str) -> list[ColumnElement[bool]]:
    """Conditions selecting the keys that start with ``prefix`` as an index range (LIKE would ignore case
    in SQLite and not use the index)."""
    if not prefix:
        return []
    conditions = [column >= prefix]
    while prefix:
        code = ord(prefix[-1]) + 1
        if code == 0xD800:
            code = 0xE000  # surrogates never occur in keys
        if code <= 0x10FFFF:
            conditions.append(column < prefix[:-1] + chr(code))
            break
        prefix = prefix[:-1]
    return conditions


def epoch_time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def dump_attributes(attributes: ObjectAttributes) -> str:
    document = {
        "content_type": attributes.content_type,
        "metadata": dict(attributes.metadata),
        "headers": dict(attributes.headers),
    }
    return json.dumps(document)


def load_attributes(text: str) -> ObjectAttributes:
    document = json.loads(text)
    return ObjectAttributes(document["content_type"], document["metadata"], document["headers"])


def object_info(values: Mapping[Any, Any]) -> ObjectInfo:
    """An ``object_entries`` row (or the values inserted as one) as the interface's record."""
    return ObjectInfo(
        bucket=values["bucket"],
        key=values["key"],
        size=values["size"],
        etag=values["etag"],
        last_modified=epoch_time(values["last_modified"]),
        attributes=load_attributes(values["attributes"]),
        checksums=json.loads(values["checksums"]),
        parts_count=values["parts_count"],
    )


def multipart_upload(row: Row[Any]) -> MultipartUpload:
    return MultipartUpload(
        upload_id=row.upload_id,
        bucket=row.bucket,
        key=row.key,
        initiated=epoch_time(row.initiated),
        attributes=load_attributes(row.attributes),
        checksum_algorithm=row.checksum_algorithm,
        checksum_type=row.checksum_type,
    )


def part_info(row: Row[Any]) -> PartInfo:
    return PartInfo(
        part_number=row.part_number,
        size=row.size,
        etag=row.etag,
        last_modified=epoch_time(row.last_modified),
        checksums=json.loads(row.checksums),
    )
