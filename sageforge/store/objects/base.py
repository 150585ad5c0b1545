"""The object-store interface: what the S3 API and the engine need from a place that keeps objects.

Implementations: ``filesystem.FilesystemObjectStore`` (default; files on disk plus an index in the metadata
database). Every implementation passes ``sageforge.testing.contracts.object_store``.

Errors are this module's small exceptions; the S3 service translates them into S3 error codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Protocol

# The smallest part S3 accepts in a multipart upload, except the last one.
MIN_PART_SIZE = 5 * 1024 * 1024


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
    """A completed part was never uploaded, or its ETag or checksum differs from the stored one."""


class InvalidPartOrder(ObjectStoreError):
    """The completed parts are not in ascending part-number order."""


class EntityTooSmall(ObjectStoreError):
    """A part other than the last is smaller than ``MIN_PART_SIZE``."""


class InvalidRange(ObjectStoreError):
    """A byte range starts beyond the end of the object."""


class UnsupportedChecksum(ObjectStoreError):
    """The store cannot compute the named checksum algorithm."""

    def __init__(self, algorithm: str) -> None:
        super().__init__(f"checksum algorithm {algorithm} is not supported")
        self.algorithm = algorithm


class BadDigest(ObjectStoreError):
    """The body did not match a digest the client sent (Content-MD5, x-amz-checksum-*)."""

    def __init__(self, algorithm: str, expected: str, computed: str) -> None:
        super().__init__(f"{algorithm} mismatch: expected {expected}, computed {computed}")
        self.algorithm = algorithm
        self.expected = expected
        self.computed = computed


class ReadableBody(Protocol):
    """A byte source read in chunks (an open file, a request body); ``b""`` means the end."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    created: datetime


# The stored members that say how an object is encrypted (write responses echo them too).
ENCRYPTION_MEMBERS = (
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "SSEKMSEncryptionContext",
    "BucketKeyEnabled",
    "SSECustomerAlgorithm",
    "SSECustomerKeyMD5",
)
# The S3 request members an object keeps and answers on GET/HEAD (``ObjectAttributes.headers``), by member name.
STORED_MEMBERS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "Expires",
    "WebsiteRedirectLocation",
    "StorageClass",
    *ENCRYPTION_MEMBERS,
)


def stored_text(members: Mapping[str, object], names: Sequence[str] = STORED_MEMBERS) -> dict[str, str]:
    """The members among ``names`` that ``members`` (a parsed request or a botocore answer) holds, as the text an
    object keeps: booleans as ``true``/``false``, timestamps in ISO 8601."""
    stored: dict[str, str] = {}
    for name in names:
        value = members.get(name)
        if isinstance(value, bool):
            stored[name] = "true" if value else "false"
        elif isinstance(value, datetime):
            stored[name] = value.isoformat()
        elif value is not None:
            stored[name] = str(value)
    return stored


@dataclass(frozen=True)
class ObjectAttributes:
    """What a writer says about an object besides its bytes."""

    content_type: str | None = None
    # User metadata (x-amz-meta-*), names lower-cased without the prefix.
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Other stored fields returned on GET/HEAD, by S3 member name (``STORED_MEMBERS``).
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # without quotes: "<md5 hex>" or "<md5 of part md5s>-<parts>"
    last_modified: datetime
    attributes: ObjectAttributes = field(default_factory=ObjectAttributes)
    # Checksums the store computed, algorithm name (upper case, e.g. "CRC32") -> base64 value; a value of a
    # multipart object ending in "-<parts>" is a checksum of the parts' checksums (S3's COMPOSITE type).
    checksums: Mapping[str, str] = field(default_factory=dict)
    parts_count: int | None = None


@dataclass(frozen=True)
class DigestCheck:
    """Digests to compute while a body streams in, and the values the client claimed.

    ``expected`` maps an algorithm ("MD5", "CRC32", "CRC32C", "SHA1", "SHA256") to the client's base64 value;
    a mismatch raises ``BadDigest`` and stores nothing. ``compute`` names algorithms to store as checksums
    even when nothing is claimed. Every expected algorithm but MD5 is stored too.
    """

    expected: Mapping[str, str] = field(default_factory=dict)
    compute: Sequence[str] = ()


@dataclass(frozen=True)
class MultipartUpload:
    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    attributes: ObjectAttributes = field(default_factory=ObjectAttributes)
    # The checksum every part carries ("CRC32", ...), and whether the object's checksum is COMPOSITE (of the
    # parts' checksums) or FULL_OBJECT (of the whole body).
    checksum_algorithm: str | None = None
    checksum_type: str = "COMPOSITE"


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    size: int
    etag: str  # md5 hex, without quotes
    last_modified: datetime
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompletedPart:
    """A part as CompleteMultipartUpload names it; ``checksums`` given are compared with the stored ones."""

    part_number: int
    etag: str  # quotes are ignored
    checksums: Mapping[str, str] = field(default_factory=dict)


class ObjectReader(Protocol):
    """One version of an object, held open: it stays readable even if the key is overwritten or deleted."""

    @property
    def info(self) -> ObjectInfo: ...

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[start, end]`` (inclusive, ``None`` = to the end); the reader closes when the
        iterator ends or is closed."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> ObjectReader: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


def read_range(
    reader: ObjectReader, start: int, end: int | None, read: Callable[[int, int], Iterator[bytes]]
) -> Iterator[bytes]:
    """``ObjectReader.chunks`` for a reader whose ``read(start, stop)`` yields the bytes ``[start, stop)``: the
    range checked against the object's size (``InvalidRange``, and the reader closed), then those chunks, the
    reader closed when they end or are closed."""
    size = reader.info.size
    stop = size if end is None else min(end + 1, size)
    if start < 0 or (start >= size and size > 0) or start > stop:
        reader.close()
        raise InvalidRange(f"bytes={start}-{'' if end is None else end} of {size}")
    return _ClosingChunks(read(start, stop), reader)


class _ClosingChunks:
    """Iterates a reader's chunks and closes the reader at the end, or when closed before it (a client that
    went away) -- a plain generator would not run its cleanup if closed before its first chunk."""

    def __init__(self, chunks: Iterator[bytes], reader: ObjectReader) -> None:
        self._chunks = chunks
        self._reader = reader

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self._reader.close()
            raise

    def close(self) -> None:
        self._reader.close()


class ObjectStore(Protocol):
    """Buckets and objects. Writes are atomic: a reader sees the whole old object or the whole new one, and a
    write that fails (a bad digest, a body that ends early, any exception from the body) leaves nothing."""

    def create_bucket(self, name: str, region: str) -> Bucket: ...

    def get_bucket(self, name: str) -> Bucket: ...

    def list_buckets(self) -> list[Bucket]: ...

    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket (``BucketNotEmpty`` otherwise) and abort its multipart uploads."""
        ...

    def put_object(
        self, bucket: str, key: str, body: ReadableBody, attributes: ObjectAttributes, check: DigestCheck | None = None
    ) -> ObjectInfo: ...

    def head_object(self, bucket: str, key: str) -> ObjectInfo: ...

    def open_object(self, bucket: str, key: str) -> ObjectReader:
        """The current version of an object, for reads that must see one version (conditions, then a range)."""
        ...

    def read_object(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[start, end]`` (inclusive, ``None`` = to the end) in chunks, streaming from disk."""
        ...

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete a key; deleting a missing key is not an error (S3's semantics)."""
        ...

    def list_objects(self, bucket: str, prefix: str = "", start_after: str = "", limit: int = 1000) -> list[ObjectInfo]:
        """Objects whose key starts with ``prefix`` and sorts after ``start_after``, in key order (UTF-8 bytes)."""
        ...

    def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        attributes: ObjectAttributes | None = None,
    ) -> ObjectInfo:
        """Copy an object; ``attributes`` None keeps the source's. The copy has the source's checksums."""
        ...

    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        attributes: ObjectAttributes,
        checksum_algorithm: str | None = None,
        checksum_type: str = "COMPOSITE",
    ) -> MultipartUpload: ...

    def get_multipart_upload(self, bucket: str, key: str, upload_id: str) -> MultipartUpload: ...

    def list_multipart_uploads(
        self, bucket: str, prefix: str = "", key_marker: str = "", upload_id_marker: str = "", limit: int = 1000
    ) -> list[MultipartUpload]:
        """Uploads in progress, by key then initiation; the markers name the last upload already listed."""
        ...

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: ReadableBody,
        check: DigestCheck | None = None,
    ) -> PartInfo:
        """Store (or replace) a part; the upload's checksum algorithm is always computed."""
        ...

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
        """Store a part copied from bytes ``[start, end]`` (inclusive) of an object."""
        ...

    def list_parts(
        self, bucket: str, key: str, upload_id: str, part_number_marker: int = 0, limit: int = 1000
    ) -> list[PartInfo]: ...

    def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[CompletedPart],
        check: DigestCheck | None = None,
    ) -> ObjectInfo:
        """Join the named parts into the object (ETag ``md5(part md5s)-N``) and end the upload; ``check``
        verifies the full-object checksum of FULL_OBJECT uploads."""
        ...

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None: ...
