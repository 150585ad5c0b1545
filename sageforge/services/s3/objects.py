"""Object rules: what is stored with an object and echoed back, digests clients claim, conditional reads
and writes, ranges, copies and batch deletes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from sageforge.aws.errors import AwsError
from sageforge.services.s3.conditions import Conditions, byte_range, check_write
from sageforge.services.s3.errors import invalid_argument, invalid_request, malformed_xml, s3_error, store_errors
from sageforge.store.objects import base as store
from sageforge.store.objects.base import (
    ENCRYPTION_MEMBERS,
    STORED_MEMBERS,
    DigestCheck,
    ObjectAttributes,
    ObjectInfo,
    ObjectReader,
    ObjectStore,
    stored_text,
)

# Stored members a COPY-directive CopyObject may still change (the rest come from the source).
COPY_CHANGES = frozenset({"StorageClass", "WebsiteRedirectLocation", *ENCRYPTION_MEMBERS})
# Every x-amz-checksum-* the model knows; the store refuses those it cannot compute.
CHECKSUM_ALGORITHMS = (
    "CRC32",
    "CRC32C",
    "CRC64NVME",
    "SHA1",
    "SHA256",
    "SHA512",
    "MD5",
    "XXHASH64",
    "XXHASH3",
    "XXHASH128",
)


def object_attributes(params: Mapping[str, Any]) -> ObjectAttributes:
    """What a PutObject-like request says about the object besides its bytes."""
    metadata = {key.lower(): value for key, value in params.get("Metadata", {}).items()}
    return ObjectAttributes(params.get("ContentType"), metadata, stored_text(params))


def stored_members(attributes: ObjectAttributes, names: Sequence[str] = STORED_MEMBERS) -> dict[str, Any]:
    """The stored members among ``names`` as output values (booleans and timestamps typed again)."""
    output: dict[str, Any] = {}
    for name in names:
        text = attributes.headers.get(name)
        if text is None:
            continue
        if name == "BucketKeyEnabled":
            output[name] = text == "true"
        elif name == "Expires":
            output[name] = datetime.fromisoformat(text)
        else:
            output[name] = text
    return output


def claimed_checksums(params: Mapping[str, Any]) -> dict[str, str]:
    """The x-amz-checksum-* values a request claims, by algorithm."""
    return {name: params[f"Checksum{name}"] for name in CHECKSUM_ALGORITHMS if params.get(f"Checksum{name}")}


def digest_check(params: Mapping[str, Any]) -> DigestCheck:
    """The digests a request claims for its body (Content-MD5, x-amz-checksum-*) and the algorithm it asks to
    store."""
    expected = claimed_checksums(params)
    md5 = params.get("ContentMD5")
    if md5 is not None:
        try:
            if len(base64.b64decode(md5, validate=True)) != 16:
                raise ValueError(md5)
        except (ValueError, binascii.Error) as error:
            raise s3_error("InvalidDigest", "The Content-MD5 you specified is not valid.") from error
        expected["MD5"] = md5
    requested = params.get("ChecksumAlgorithm")
    return DigestCheck(expected=expected, compute=[requested.upper()] if requested else [])


def checksum_members(checksums: Mapping[str, str]) -> dict[str, str]:
    """``ChecksumCRC32`` etc. and ``ChecksumType`` for stored checksums."""
    if not checksums:
        return {}
    output = {f"Checksum{name}": value for name, value in checksums.items()}
    composite = any("-" in value for value in checksums.values())
    output["ChecksumType"] = "COMPOSITE" if composite else "FULL_OBJECT"
    return output


def copy_source(text: str) -> tuple[str, str]:
    """The bucket and key an ``x-amz-copy-source`` names (``bucket/key`` or ``/bucket/key``, URL-encoded)."""
    path, _, version = text.partition("?")
    if version:
        raise s3_error("NotImplemented", "sageforge does not keep object versions.", 501)
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", "x-amz-copy-source", text
        )
    return bucket, key


@dataclass(frozen=True)
class Read:
    """An object opened for GET: its version, and the inclusive byte range asked for (None: all of it)."""

    reader: ObjectReader
    span: tuple[int, int] | None


class ObjectManager:
    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

    def put(
        self,
        bucket: str,
        key: str,
        body: store.ReadableBody,
        attributes: ObjectAttributes,
        check: DigestCheck,
        conditions: Conditions,
    ) -> ObjectInfo:
        with store_errors():
            check_write(self._objects, bucket, key, conditions)
            return self._objects.put_object(bucket, key, body, attributes, check)

    def open(self, bucket: str, key: str, conditions: Conditions, range_header: str | None) -> Read:
        with store_errors():
            reader = self._objects.open_object(bucket, key)
        try:
            conditions.check(reader.info)
            return Read(reader, byte_range(range_header, reader.info.size))
        except BaseException:
            reader.close()
            raise

    def head(self, bucket: str, key: str, conditions: Conditions) -> ObjectInfo:
        with store_errors():
            info = self._objects.head_object(bucket, key)
        conditions.check(info)
        return info

    def delete(self, bucket: str, key: str) -> None:
        with store_errors():
            self._objects.delete_object(bucket, key)

    def delete_many(self, bucket: str, keys: Sequence[str]) -> list[tuple[str, AwsError | None]]:
        """Each key with the error that kept it (None: deleted); a missing bucket fails the whole request."""
        if len(keys) > 1000:
            raise malformed_xml()  # S3 takes at most 1000 keys per request
        with store_errors():
            self._objects.get_bucket(bucket)
        results: list[tuple[str, AwsError | None]] = []
        for key in keys:
            try:
                self.delete(bucket, key)
                results.append((key, None))
            except AwsError as error:
                results.append((key, error))
        return results

    def copy(
        self,
        source: tuple[str, str],
        bucket: str,
        key: str,
        replace: ObjectAttributes | None,
        changes: Mapping[str, str],
        conditions: tuple[Conditions, Conditions],
    ) -> ObjectInfo:
        """Copy ``source`` (bucket, key). ``replace`` holds the REPLACE directive's attributes; with COPY (None)
        the source's are kept, with ``changes`` to stored members (storage class, encryption) applied.
        ``conditions`` are the source's (x-amz-copy-source-if-*) and the target's (conditional write)."""
        with store_errors():
            current = self._objects.head_object(*source)
            conditions[0].check(current, reading=False)
            check_write(self._objects, bucket, key, conditions[1])
            attributes = replace
            if attributes is None:
                if source == (bucket, key) and not changes:
                    raise invalid_request(
                        "This copy request is illegal because it is trying to copy an object to itself without "
                        "changing the object's metadata, storage class, website redirect location or encryption "
                        "attributes."
                    )
                kept = current.attributes
                attributes = ObjectAttributes(kept.content_type, kept.metadata, {**kept.headers, **changes})
            return self._objects.copy_object(source[0], source[1], bucket, key, attributes)
