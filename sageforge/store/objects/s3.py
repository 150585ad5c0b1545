"""An object store that passes through to a remote S3-compatible store (``sageforge serve --object-store s3://``).

Buckets and objects are the remote's, one to one, reached through boto3; every node that can reach the
remote sees the same data. The store keeps no state of its own but a spool directory and, for the
multipart uploads this process started, their attributes (below).

- **Writes are checked before they reach the remote.** A body streams into a spool file while its digests
  are computed (``checksums.Digester``, as the filesystem store does); a bad digest or a body that fails
  sends nothing. The file is then put with its Content-MD5 and its ``x-amz-checksum-*`` values, so the
  remote verifies the transfer and stores the checksums. Bodies are never held in memory.
- **A reader holds its version.** ``open_object`` starts a GET of the whole object; a later ranged read asks
  the remote for the same ETag (``If-Match``) and, when the key has changed meanwhile, reads on in the
  held response instead, so the reader still sees the version it opened.
- **The remote's rules are the rules.** Multipart uploads are the remote's; part sizes, part order,
  ETags and full-object checksums of completions are checked by it, and its errors are raised as this
  package's (``NoSuchBucket``, ``InvalidPart``, ...).

Limits of S3 itself: a pending upload's attributes (content type, metadata) cannot be read back from S3, so
``get_multipart_upload`` reports those of uploads this process created and only the storage class of
others (the remote applies them all at completion); listings carry no attributes or checksum values; AWS
S3 keeps one checksum per object, so a ``DigestCheck`` computing several is refused by it (S3-compatible
stores such as sageforge's own keep them all).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from sageforge.store.objects import checksums
from sageforge.store.objects.base import (
    STORED_MEMBERS,
    BadDigest,
    Bucket,
    BucketAlreadyExists,
    BucketNotEmpty,
    CompletedPart,
    DigestCheck,
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    InvalidRange,
    MultipartUpload,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectAttributes,
    ObjectInfo,
    ObjectStoreError,
    PartInfo,
    ReadableBody,
    read_range,
    stored_text,
)
from sageforge.store.objects.blobs import CHUNK_SIZE
from sageforge.store.objects.checksums import Digester

DEFAULT_REGION = "us-east-1"

# Stored request members passed on to the remote and read back from it. SSE-C's are not: the remote needs
# the customer's key on every request, and the store never holds it.
_PASSED_MEMBERS = tuple(name for name in STORED_MEMBERS if not name.startswith("SSECustomer"))

# Remote error codes that are the store's own errors (the message is the name the error is about).
_ERRORS: dict[str, type[ObjectStoreError]] = {
    "NoSuchBucket": NoSuchBucket,
    "NoSuchKey": NoSuchKey,
    "NoSuchUpload": NoSuchUpload,
    "BucketAlreadyExists": BucketAlreadyExists,
    "BucketAlreadyOwnedByYou": BucketAlreadyExists,
    "BucketNotEmpty": BucketNotEmpty,
    "InvalidRange": InvalidRange,
    "InvalidPart": InvalidPart,
    "InvalidPartOrder": InvalidPartOrder,
    "EntityTooSmall": EntityTooSmall,
}

# The error field naming what each error is about, as the S3 service reads it back from the store's error.
_NAMED_BY: dict[type[ObjectStoreError], str] = {
    NoSuchBucket: "BucketName",
    NoSuchKey: "Key",
    NoSuchUpload: "UploadId",
    InvalidPart: "PartNumber",
    EntityTooSmall: "PartNumber",
}

# A ranged read of the version a reader holds finds the key changed: read on in the held response.
_CHANGED = {"PreconditionFailed", "412", "NoSuchKey", "404"}


class RemoteError(ObjectStoreError):
    """The remote refused a request for a reason that is none of the store's own errors."""


def connect(
    spool: Path,
    endpoint_url: str = "",
    region: str = "",
    access_key: str = "",
    secret_key: str = "",
) -> S3ObjectStore:
    """A store over the S3 API at ``endpoint_url`` (AWS S3 when empty). Empty credentials and region mean
    boto3's own chain (environment, profile, instance role). A custom endpoint is addressed path-style,
    which every S3-compatible store understands."""
    config = Config(
        # Checksums are computed here, once, while the body spools; botocore would read the file again.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=32,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )
    return S3ObjectStore(client, spool)


class S3ObjectStore:
    """An ``ObjectStore`` whose buckets are a remote S3 store's; ``client`` is a boto3 S3 client."""

    def __init__(self, client: Any, spool: Path) -> None:
        self._client = client
        self._spool = spool
        self._spool.mkdir(parents=True, exist_ok=True)
        # Attributes of the uploads this process started (S3 has no call that returns them).
        self._upload_attributes: dict[str, ObjectAttributes] = {}
        self._lock = threading.Lock()

    # Buckets

    def create_bucket(self, name: str, region: str) -> Bucket:
        request: dict[str, Any] = {"Bucket": name}
        if region != DEFAULT_REGION:
            request["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with _remote():
            self._client.create_bucket(**request)
        return self.get_bucket(name)

    def get_bucket(self, name: str) -> Bucket:
        for bucket in self._buckets(prefix=name):
            if bucket.name == name:
                return bucket
        raise NoSuchBucket(name)

    def list_buckets(self) -> list[Bucket]:
        return sorted(self._buckets(), key=lambda bucket: bucket.name)

    def delete_bucket(self, name: str) -> None:
        with _remote():
            if self._client.list_objects_v2(Bucket=name, MaxKeys=1).get("KeyCount", 0):
                raise BucketNotEmpty(name)
            while uploads := self.list_multipart_uploads(name):
                for upload in uploads:
                    with contextlib.suppress(NoSuchUpload):
                        self.abort_multipart_upload(name, upload.key, upload.upload_id)
            self._client.delete_bucket(Bucket=name)

    # Objects

    def put_object(
        self, bucket: str, key: str, body: ReadableBody, attributes: ObjectAttributes, check: DigestCheck | None = None
    ) -> ObjectInfo:
        self._require_bucket(bucket)  # before the body is read, not after
        check = check or DigestCheck()
        with self._spooled(body, Digester(["MD5", *check.compute], check.expected)) as (file, digests):
            with _remote(key=key):
                self._client.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=file,
                    ContentLength=_size(file),
                    ContentMD5=checksums.encode(digests["MD5"]),
                    **_checksum_members(digests),
                    **_attribute_members(attributes),
                )
        return self.head_object(bucket, key)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        try:
            response = self._client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if _code(error) != "404":
                raise _translated(error, key) from error
            self._require_bucket(bucket)  # a HEAD's 404 has no body to say whether the bucket or the key is missing
            raise NoSuchKey(key) from error
        return _object_info(bucket, key, response)

    def open_object(self, bucket: str, key: str) -> RemoteObjectReader:
        with _remote(key=key):
            response = self._client.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        return RemoteObjectReader(self._client, _object_info(bucket, key, response), response["Body"])

    def read_object(self, bucket: str, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return self.open_object(bucket, key).chunks(start, end)

    def delete_object(self, bucket: str, key: str) -> None:
        with _remote(key=key):
            self._client.delete_object(Bucket=bucket, Key=key)

    def list_objects(self, bucket: str, prefix: str = "", start_after: str = "", limit: int = 1000) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "StartAfter": start_after}
        with _remote():
            while len(found) < limit:
                page = self._client.list_objects_v2(**request, MaxKeys=min(1000, limit - len(found)))
                for entry in page.get("Contents", []):
                    found.append(_listed_object(bucket, entry))
                if not page.get("IsTruncated"):
                    break
                request["ContinuationToken"] = page["NextContinuationToken"]
        return found

    def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        attributes: ObjectAttributes | None = None,
    ) -> ObjectInfo:
        if attributes is None:
            directive: dict[str, Any] = {"MetadataDirective": "COPY"}
        else:
            directive = {**_attribute_members(attributes), "MetadataDirective": "REPLACE"}
        with _remote(key=source_key):
            self._client.copy_object(
                CopySource={"Bucket": source_bucket, "Key": source_key}, Bucket=bucket, Key=key, **directive
            )
        return self.head_object(bucket, key)

    # Multipart uploads

    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        attributes: ObjectAttributes,
        checksum_algorithm: str | None = None,
        checksum_type: str = "COMPOSITE",
    ) -> MultipartUpload:
        request = _attribute_members(attributes)
        if checksum_algorithm:
            checksums.new(checksum_algorithm)  # parts' checksums are computed here: refuse what cannot be
            request.update(ChecksumAlgorithm=checksum_algorithm.upper(), ChecksumType=checksum_type)
        with _remote():
            upload_id = self._client.create_multipart_upload(Bucket=bucket, Key=key, **request)["UploadId"]
        with self._lock:
            self._upload_attributes[upload_id] = attributes
        return self.get_multipart_upload(bucket, key, upload_id)

    def get_multipart_upload(self, bucket: str, key: str, upload_id: str) -> MultipartUpload:
        with _remote(upload_id=upload_id):
            pages = self._client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key)
            for page in pages:
                for entry in page.get("Uploads", []):
                    if entry["Key"] == key and entry["UploadId"] == upload_id:
                        return self._upload(bucket, entry)
        raise NoSuchUpload(upload_id)

    def list_multipart_uploads(
        self, bucket: str, prefix: str = "", key_marker: str = "", upload_id_marker: str = "", limit: int = 1000
    ) -> list[MultipartUpload]:
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "KeyMarker": key_marker}
        if upload_id_marker:
            request["UploadIdMarker"] = upload_id_marker
        found: list[MultipartUpload] = []
        with _remote():
            while len(found) < limit:
                page = self._client.list_multipart_uploads(**request, MaxUploads=min(1000, limit - len(found)))
                found.extend(self._upload(bucket, entry) for entry in page.get("Uploads", []))
                if not page.get("IsTruncated"):
                    break
                request.update(KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])
        return found

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: ReadableBody,
        check: DigestCheck | None = None,
    ) -> PartInfo:
        algorithm = self._part_checksum(bucket, key, upload_id)  # the upload exists before the body is read
        check = check or DigestCheck()
        algorithms = ["MD5", *check.compute, *([algorithm] if algorithm else [])]
        with self._spooled(body, Digester(algorithms, check.expected)) as (file, digests):
            with _remote(upload_id=upload_id):
                self._client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=part_number,
                    Body=file,
                    ContentLength=_size(file),
                    ContentMD5=checksums.encode(digests["MD5"]),
                    **_checksum_members(digests),
                )
        return self._part(bucket, key, upload_id, part_number)

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
        request: dict[str, Any] = {}
        if start or end is not None:
            size = self.head_object(source_bucket, source_key).size
            last = size - 1 if end is None else min(end, size - 1)
            if start >= size or start > last:
                raise InvalidRange(f"bytes={start}-{'' if end is None else end} of {size}")
            request["CopySourceRange"] = f"bytes={start}-{last}"
        with _remote(key=source_key, upload_id=upload_id):
            self._client.upload_part_copy(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=part_number,
                CopySource={"Bucket": source_bucket, "Key": source_key},
                **request,
            )
        return self._part(bucket, key, upload_id, part_number)

    def list_parts(
        self, bucket: str, key: str, upload_id: str, part_number_marker: int = 0, limit: int = 1000
    ) -> list[PartInfo]:
        request: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        found: list[PartInfo] = []
        marker = part_number_marker
        with _remote(upload_id=upload_id):
            while len(found) < limit:
                page = self._client.list_parts(
                    **request, PartNumberMarker=marker, MaxParts=min(1000, limit - len(found))
                )
                found.extend(_part_info(entry) for entry in page.get("Parts", []))
                if not page.get("IsTruncated"):
                    break
                marker = int(page["NextPartNumberMarker"])
        return found

    def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[CompletedPart],
        check: DigestCheck | None = None,
    ) -> ObjectInfo:
        named = [
            {
                "PartNumber": part.part_number,
                "ETag": '"' + part.etag.strip('"') + '"',
                **{f"Checksum{name.upper()}": value for name, value in part.checksums.items()},
            }
            for part in parts
        ]
        # The remote verifies a FULL_OBJECT upload's checksum of the joined body (it alone holds the parts).
        claimed = {f"Checksum{name.upper()}": value for name, value in (check or DigestCheck()).expected.items()}
        if not named:
            raise InvalidPart("no parts")
        with _remote(upload_id=upload_id):
            self._client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": named}, **claimed
            )
        self._forget(upload_id)
        return self.head_object(bucket, key)

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with _remote(upload_id=upload_id):
            self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        self._forget(upload_id)

    # Helpers

    def _buckets(self, prefix: str = "") -> Iterator[Bucket]:
        request: dict[str, Any] = {"MaxBuckets": 1000}
        if prefix:
            request["Prefix"] = prefix
        with _remote():
            while True:
                page = self._client.list_buckets(**request)
                for entry in page.get("Buckets", []):
                    region = entry.get("BucketRegion") or DEFAULT_REGION
                    yield Bucket(entry["Name"], region, entry["CreationDate"])
                if not page.get("ContinuationToken"):
                    return
                request["ContinuationToken"] = page["ContinuationToken"]

    def _require_bucket(self, name: str) -> None:
        try:
            self._client.head_bucket(Bucket=name)
        except ClientError as error:
            if _code(error) in ("404", "NoSuchBucket"):
                raise NoSuchBucket(name) from error
            raise _translated(error) from error

    def _upload(self, bucket: str, entry: Mapping[str, Any]) -> MultipartUpload:
        with self._lock:
            attributes = self._upload_attributes.get(entry["UploadId"])
        if attributes is None:
            stored = entry.get("StorageClass", "STANDARD")
            attributes = ObjectAttributes(headers={"StorageClass": stored} if stored != "STANDARD" else {})
        return MultipartUpload(
            upload_id=entry["UploadId"],
            bucket=bucket,
            key=entry["Key"],
            initiated=entry["Initiated"],
            attributes=attributes,
            checksum_algorithm=entry.get("ChecksumAlgorithm"),
            checksum_type=entry.get("ChecksumType", "COMPOSITE"),
        )

    def _part_checksum(self, bucket: str, key: str, upload_id: str) -> str | None:
        """The checksum algorithm every part of an upload carries; ``NoSuchUpload`` if there is no upload."""
        with _remote(upload_id=upload_id):
            page = self._client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)
        algorithm: str | None = page.get("ChecksumAlgorithm")
        return algorithm

    def _part(self, bucket: str, key: str, upload_id: str, part_number: int) -> PartInfo:
        for part in self.list_parts(bucket, key, upload_id, part_number - 1, limit=1):
            if part.part_number == part_number:
                return part
        raise NoSuchUpload(upload_id)  # completed or aborted right after the part was stored

    def _forget(self, upload_id: str) -> None:
        with self._lock:
            self._upload_attributes.pop(upload_id, None)

    @contextlib.contextmanager
    def _spooled(self, body: ReadableBody, digester: Digester) -> Iterator[tuple[IO[bytes], dict[str, bytes]]]:
        """The body in a spool file (removed afterwards), read to the end and verified, and its digests."""
        with tempfile.TemporaryFile(dir=self._spool) as file:
            while chunk := body.read(CHUNK_SIZE):
                digester.update(chunk)
                file.write(chunk)
            digester.verify()
            file.seek(0)
            yield file, digester.values()


class RemoteObjectReader:
    """One version of a remote object, held by an open GET of all of it (see ``ObjectReader``)."""

    def __init__(self, client: Any, info: ObjectInfo, body: StreamingBody) -> None:
        self._client = client
        self._info = info
        self._body = body

    @property
    def info(self) -> ObjectInfo:
        return self._info

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return read_range(self, start, end, self._read)

    def _read(self, start: int, stop: int) -> Iterator[bytes]:
        """The bytes ``[start, stop)``; ``read_range`` closes the reader after them."""
        body, skip = self._body, start
        if start and stop > start:
            ranged = self._same_version(start, stop)
            if ranged is not None:
                self._body.close()
                self._body = body = ranged
                skip = 0
        remaining = stop - start
        for chunk in body.iter_chunks(CHUNK_SIZE):
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            if remaining <= 0:
                return
            chunk = chunk[:remaining]
            remaining -= len(chunk)
            if chunk:
                yield chunk

    def _same_version(self, start: int, stop: int) -> StreamingBody | None:
        """A ranged GET of the held version, or None when the key no longer holds it."""
        try:
            response = self._client.get_object(
                Bucket=self._info.bucket,
                Key=self._info.key,
                Range=f"bytes={start}-{stop - 1}",
                IfMatch=f'"{self._info.etag}"',
            )
        except ClientError as error:
            if _code(error) in _CHANGED:
                return None
            raise _translated(error, self._info.key) from error
        body: StreamingBody = response["Body"]
        return body

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> RemoteObjectReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


@contextlib.contextmanager
def _remote(key: str = "", upload_id: str = "") -> Iterator[None]:
    """Raise the remote's errors as the store's (``key`` and ``upload_id`` name what a request was about)."""
    try:
        yield
    except ClientError as error:
        raise _translated(error, key, upload_id) from error


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _translated(error: ClientError, key: str = "", upload_id: str = "") -> ObjectStoreError:
    """The store's error for a remote one, named as the S3 service names it (bucket, key, upload, part)."""
    details = error.response.get("Error", {})
    code, message = _code(error), str(details.get("Message", ""))
    if code == "BadDigest":
        # Longest names first: a message about CRC32C also contains "CRC32".
        named = [name for name in sorted(checksums.ALGORITHMS, key=len, reverse=True) if name in message]
        return BadDigest((named or ["MD5"])[0], "", "")
    kind = _ERRORS.get(code)
    if kind is None:
        return RemoteError(f"remote S3 store: {code}: {message}")
    fallback = {NoSuchKey: key, NoSuchUpload: upload_id}.get(kind, "")
    return kind(str(details.get(_NAMED_BY.get(kind, ""), "") or fallback or message))


def _size(file: IO[bytes]) -> int:
    position = file.tell()
    size = file.seek(0, 2)
    file.seek(position)
    return size


def _checksum_members(digests: Mapping[str, bytes]) -> dict[str, str]:
    """``Checksum<ALGORITHM>`` request members for every digest but the MD5 (sent as Content-MD5)."""
    return {f"Checksum{name}": checksums.encode(value) for name, value in digests.items() if name != "MD5"}


def _attribute_members(attributes: ObjectAttributes) -> dict[str, Any]:
    """PutObject-like request members saying what ``attributes`` say."""
    members: dict[str, Any] = {"Metadata": dict(attributes.metadata)}
    if attributes.content_type:
        members["ContentType"] = attributes.content_type
    for name in _PASSED_MEMBERS:
        value = attributes.headers.get(name)
        if value is not None:
            members[name] = value == "true" if name == "BucketKeyEnabled" else value
    return members


def _object_info(bucket: str, key: str, response: Mapping[str, Any]) -> ObjectInfo:
    """What a HeadObject or a whole-object GetObject answer says about the object."""
    headers = stored_text(response, _PASSED_MEMBERS)
    etag = str(response["ETag"]).strip('"')
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=int(response["ContentLength"]),
        etag=etag,
        last_modified=response["LastModified"],
        attributes=ObjectAttributes(response.get("ContentType"), dict(response.get("Metadata", {})), headers),
        checksums=_response_checksums(response),
        parts_count=_parts_count(etag),
    )


def _listed_object(bucket: str, entry: Mapping[str, Any]) -> ObjectInfo:
    stored = entry.get("StorageClass", "STANDARD")
    etag = str(entry["ETag"]).strip('"')
    return ObjectInfo(
        bucket=bucket,
        key=entry["Key"],
        size=int(entry["Size"]),
        etag=etag,
        last_modified=entry["LastModified"],
        attributes=ObjectAttributes(headers={"StorageClass": stored} if stored != "STANDARD" else {}),
        parts_count=_parts_count(etag),
    )


def _part_info(entry: Mapping[str, Any]) -> PartInfo:
    return PartInfo(
        part_number=int(entry["PartNumber"]),
        size=int(entry["Size"]),
        etag=str(entry["ETag"]).strip('"'),
        last_modified=entry["LastModified"],
        checksums=_response_checksums(entry),
    )


def _response_checksums(response: Mapping[str, Any]) -> dict[str, str]:
    prefix = "Checksum"
    return {
        name[len(prefix) :]: str(value)
        for name, value in response.items()
        if name.startswith(prefix) and name not in ("ChecksumType", "ChecksumAlgorithm") and value
    }


def _parts_count(etag: str) -> int | None:
    """S3's ETag of a multipart object ends in ``-<number of parts>``."""
    _, dash, count = etag.rpartition("-")
    return int(count) if dash and count.isdigit() else None
