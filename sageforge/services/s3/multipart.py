"""Multipart upload rules: part numbers, copy-source ranges, conditional completion, and the parts list a
CompleteMultipartUpload request names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sageforge.services.s3.conditions import Conditions, check_write
from sageforge.services.s3.errors import invalid_argument, malformed_xml, s3_error, store_errors
from sageforge.services.s3.objects import CHECKSUM_ALGORITHMS
from sageforge.store.objects.base import (
    CompletedPart,
    DigestCheck,
    MultipartUpload,
    ObjectAttributes,
    ObjectInfo,
    ObjectStore,
    PartInfo,
    ReadableBody,
)

MAX_PART_NUMBER = 10_000
_COPY_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def completed_parts(document: Mapping[str, Any] | None) -> list[CompletedPart]:
    """The parts a CompleteMultipartUpload body lists, with any per-part checksums."""
    parts = (document or {}).get("Parts") or []
    if not parts:
        raise malformed_xml()
    completed = []
    for part in parts:
        if "PartNumber" not in part or "ETag" not in part:
            raise malformed_xml()
        claimed = {name: part[f"Checksum{name}"] for name in CHECKSUM_ALGORITHMS if part.get(f"Checksum{name}")}
        completed.append(CompletedPart(part["PartNumber"], part["ETag"], claimed))
    return completed


class MultipartManager:
    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

    def create(
        self, bucket: str, key: str, attributes: ObjectAttributes, algorithm: str | None, checksum_type: str | None
    ) -> MultipartUpload:
        if checksum_type == "FULL_OBJECT" and algorithm not in ("CRC32", "CRC32C", "CRC64NVME"):
            raise s3_error(
                "InvalidRequest",
                f"The FULL_OBJECT checksum type cannot be used with the {algorithm} checksum algorithm.",
            )
        with store_errors():
            return self._objects.create_multipart_upload(
                bucket, key, attributes, algorithm, checksum_type or "COMPOSITE"
            )

    def upload(
        self, bucket: str, key: str, upload_id: str, number: int, body: ReadableBody, check: DigestCheck
    ) -> PartInfo:
        _check_part_number(number)
        with store_errors(upload_id):
            return self._objects.upload_part(bucket, key, upload_id, number, body, check)

    def upload_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        source: tuple[str, str],
        range_header: str | None,
        conditions: Conditions,
    ) -> PartInfo:
        _check_part_number(number)
        with store_errors(upload_id):
            self._objects.get_multipart_upload(bucket, key, upload_id)
            info = self._objects.head_object(*source)
            conditions.check(info, reading=False)
            start, end = _copy_range(range_header, info.size)
            return self._objects.upload_part_copy(bucket, key, upload_id, number, source[0], source[1], start, end)

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[CompletedPart],
        claimed: Mapping[str, str],
        conditions: Conditions,
    ) -> ObjectInfo:
        """Join ``parts``; ``claimed`` checksums of the whole object are verified for FULL_OBJECT uploads
        (a COMPOSITE upload's parts were each verified as they arrived)."""
        with store_errors(upload_id):
            upload = self._objects.get_multipart_upload(bucket, key, upload_id)
            check_write(self._objects, bucket, key, conditions)
            check = DigestCheck(expected=claimed if upload.checksum_type == "FULL_OBJECT" else {})
            return self._objects.complete_multipart_upload(bucket, key, upload_id, parts, check)

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        with store_errors(upload_id):
            self._objects.abort_multipart_upload(bucket, key, upload_id)

    def parts(
        self, bucket: str, key: str, upload_id: str, marker: int, max_parts: int
    ) -> tuple[MultipartUpload, list[PartInfo], bool]:
        """The upload, up to ``max_parts`` parts after ``marker``, and whether more follow."""
        with store_errors(upload_id):
            upload = self._objects.get_multipart_upload(bucket, key, upload_id)
            found = self._objects.list_parts(bucket, key, upload_id, marker, max_parts + 1)
        return upload, found[:max_parts], len(found) > max_parts


def _check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PART_NUMBER:
        raise invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive", "partNumber", str(number)
        )


def _copy_range(header: str | None, size: int) -> tuple[int, int | None]:
    if header is None:
        return 0, None
    match = _COPY_RANGE.fullmatch(header.strip())
    if match is None:
        raise invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the "
            "zero-based offsets of the first and last bytes to copy",
            "x-amz-copy-source-range",
            header,
        )
    start, end = int(match.group(1)), int(match.group(2))
    if end < start or end >= size:
        raise invalid_argument(
            f"Range specified is not valid for source object of size: {size}", "x-amz-copy-source-range", header
        )
    return start, end
