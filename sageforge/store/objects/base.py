"""The object-store interface: what the S3 API and the engine need from a place that keeps objects.

Implementations: ``filesystem.FilesystemObjectStore`` (default; files on disk plus an index in the metadata
database). Every implementation passes ``sageforge.testing.contracts.object_store``.

Errors are this module's small exceptions; the S3 service translates them into S3 error codes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol


class ObjectStoreError(Exception):
    """Base of the store's own errors."""


class NoSuchBucket(ObjectStoreError):
    pass


class BucketAlreadyExists(ObjectStoreError):
    pass


class BucketNotEmpty(ObjectStoreError):
    pass


class NoSuchKey(ObjectStoreError):
    pass


class NoSuchUpload(ObjectStoreError):
    pass


class InvalidPart(ObjectStoreError):
    pass


class BadDigest(ObjectStoreError):
    """The body did not match a digest the client sent (Content-MD5, x-amz-checksum-*, sha256)."""

    def __init__(self, algorithm: str, expected: str, computed: str) -> None:
        super().__init__(f"{algorithm} mismatch: expected {expected}, computed {computed}")
        self.algorithm = algorithm
        self.expected = expected
        self.computed = computed


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    created: datetime


@dataclass(frozen=True)
class ObjectAttributes:
    """What a writer says about an object besides its bytes."""

    content_type: str | None = None
    # User metadata (x-amz-meta-*), names lower-cased without the prefix.
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Other stored headers returned on GET/HEAD: Content-Encoding, Cache-Control, SSE headers, ...
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # without quotes: "<md5 hex>" or "<md5 of part md5s>-<parts>"
    last_modified: datetime
    attributes: ObjectAttributes = field(default_factory=ObjectAttributes)
    # Full-object checksums the store computed, algorithm name (upper case, e.g. "CRC32") -> base64 value.
    checksums: Mapping[str, str] = field(default_factory=dict)
    parts_count: int | None = None


@dataclass(frozen=True)
class DigestCheck:
    """Digests to compute while a body streams in, and the values the client claimed.

    ``expected`` maps an algorithm ("MD5", "SHA256", "CRC32", "CRC32C", "SHA1") to the client's value
    (base64, except "SHA256" of x-amz-content-sha256 which is hex). ``compute`` names algorithms to store
    as checksums even when nothing is claimed.
    """

    expected: Mapping[str, str] = field(default_factory=dict)
    compute: Sequence[str] = ()


class ObjectStore(Protocol):
    """Buckets and objects. Writes are atomic: a reader sees the whole old object or the whole new one."""

    def create_bucket(self, name: str, region: str) -> Bucket: ...

    def get_bucket(self, name: str) -> Bucket: ...

    def list_buckets(self) -> list[Bucket]: ...

    def delete_bucket(self, name: str) -> None: ...

    def put_object(
        self, bucket: str, key: str, body: BinaryIO, attributes: ObjectAttributes, check: DigestCheck | None = None
    ) -> ObjectInfo: ...

    def head_object(self, bucket: str, key: str) -> ObjectInfo: ...

    def read_object(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[start, end]`` (inclusive, ``None`` = to the end) in chunks, streaming from disk."""
        ...

    def delete_object(self, bucket: str, key: str) -> None: ...

    def list_objects(self, bucket: str, prefix: str = "", start_after: str = "", limit: int = 1000) -> list[ObjectInfo]:
        """Objects whose key starts with ``prefix`` and sorts after ``start_after``, in key order."""
        ...
