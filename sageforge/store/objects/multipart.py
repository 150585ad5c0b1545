"""S3's rules for completing a multipart upload, and the ETag and checksums of the joined object."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence

from sageforge.store.objects import checksums
from sageforge.store.objects.base import (
    MIN_PART_SIZE,
    CompletedPart,
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    PartInfo,
)


def check_parts(parts: Sequence[CompletedPart], stored: Mapping[int, PartInfo]) -> list[PartInfo]:
    """The stored parts the client named: numbers ascending, ETags and given checksums equal to the stored
    ones, every part but the last at least ``MIN_PART_SIZE``."""
    if not parts:
        raise InvalidPart("no parts")
    chosen: list[PartInfo] = []
    for index, named in enumerate(parts):
        if index and named.part_number <= parts[index - 1].part_number:
            raise InvalidPartOrder(str(named.part_number))
        found = stored.get(named.part_number)
        if found is None or found.etag != named.etag.strip('"'):
            raise InvalidPart(str(named.part_number))
        if any(found.checksums.get(name.upper()) != value for name, value in named.checksums.items()):
            raise InvalidPart(str(named.part_number))
        chosen.append(found)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise EntityTooSmall(str(part.part_number))
    return chosen


def multipart_etag(parts: Sequence[PartInfo]) -> str:
    """S3's multipart ETag: the MD5 of the parts' binary MD5s, then ``-<number of parts>``."""
    joined = b"".join(bytes.fromhex(part.etag) for part in parts)
    return f"{hashlib.md5(joined).hexdigest()}-{len(parts)}"


def composite_checksum(algorithm: str, parts: Sequence[PartInfo]) -> str:
    """S3's COMPOSITE checksum: the checksum of the parts' binary checksums, then ``-<number of parts>``."""
    digest = checksums.new(algorithm)
    for part in parts:
        digest.update(base64.b64decode(part.checksums.get(algorithm, "")))
    return f"{checksums.encode(digest.digest())}-{len(parts)}"
