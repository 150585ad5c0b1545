"""Conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) and byte ranges,
evaluated against one version of an object the way S3 does."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sageforge.aws.errors import AwsError
from sageforge.services.s3.errors import no_such_key, s3_error
from sageforge.store.objects.base import NoSuchKey, ObjectInfo, ObjectStore

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None

    @classmethod
    def of(cls, params: Mapping[str, Any], prefix: str = "") -> Conditions:
        """The conditions among ``params`` (``prefix="CopySource"`` reads x-amz-copy-source-if-*)."""
        return cls(
            params.get(f"{prefix}IfMatch"),
            params.get(f"{prefix}IfNoneMatch"),
            params.get(f"{prefix}IfModifiedSince"),
            params.get(f"{prefix}IfUnmodifiedSince"),
        )

    def check(self, info: ObjectInfo, *, reading: bool = True) -> None:
        """Raise 412 PreconditionFailed, or 304 Not Modified when ``reading`` the object (copy sources and
        writes fail with 412 instead), when the object fails a condition.

        As in S3, a matching If-Match overrides a false If-Unmodified-Since, and a failing If-None-Match
        overrides a true If-Modified-Since."""
        modified = info.last_modified.replace(microsecond=0)  # HTTP dates have whole seconds
        if self.if_match is not None:
            if not _etag_matches(self.if_match, info.etag):
                raise precondition_failed("If-Match")
        elif self.if_unmodified_since is not None and modified > self.if_unmodified_since:
            raise precondition_failed("If-Unmodified-Since")
        if self.if_none_match is not None:
            if _etag_matches(self.if_none_match, info.etag):
                raise not_modified() if reading else precondition_failed("If-None-Match")
        elif self.if_modified_since is not None and modified <= self.if_modified_since:
            raise not_modified() if reading else precondition_failed("If-Modified-Since")


def check_write(objects: ObjectStore, bucket: str, key: str, conditions: Conditions) -> None:
    """Conditional writes: ``If-None-Match: *`` creates only; ``If-Match`` replaces only that version.
    (Checked before the write: two racing conditional writers may both pass.)"""
    if conditions.if_match is None and conditions.if_none_match is None:
        return
    try:
        current = objects.head_object(bucket, key)
    except NoSuchKey:
        if conditions.if_match is not None:
            raise no_such_key(key) from None
        return
    conditions.check(current, reading=False)


def precondition_failed(condition: str) -> AwsError:
    return s3_error(
        "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412, Condition=condition
    )


def not_modified() -> AwsError:
    return s3_error("NotModified", "Not Modified", 304)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` bytes a Range header asks for, or None for the whole object.

    Like S3: a header that is not one ``bytes=`` range is ignored, an end past the object is clipped, and a
    range starting at or beyond the end is 416 InvalidRange."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            raise invalid_range(header or "", size)
        return max(size - length, 0), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None  # a syntactically invalid range is ignored, not refused
    if start >= size:
        raise invalid_range(header or "", size)
    return start, size - 1 if last == "" else min(int(last), size - 1)


def invalid_range(requested: str, size: int) -> AwsError:
    return s3_error(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        RangeRequested=requested,
        ActualObjectSize=str(size),
    )


def _etag_matches(condition: str, etag: str) -> bool:
    candidates = [item.strip().removeprefix("W/").strip('"') for item in condition.split(",")]
    return "*" in candidates or etag in candidates
