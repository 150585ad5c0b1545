"""Listing keys the way S3 does: prefix, delimiter roll-up into common prefixes, markers and continuation
tokens, MaxKeys pages and ``encoding-type=url``.

The walk pages through the store's index in key order and holds one page at a time: under a delimiter, a
common prefix is reported once and the keys beneath it are skipped by restarting the index scan past them,
so a "directory" of a million keys costs one page, not a million rows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from sageforge.services.s3.errors import invalid_argument, store_errors
from sageforge.store.objects.base import MultipartUpload, ObjectInfo, ObjectStore

_PAGE = 1000
# Sorts after every character a key can hold: a scan resumed after "<prefix>\U0010ffff" skips the prefix.
_PAST = "\U0010ffff"


@dataclass(frozen=True)
class Listing:
    """One page: objects and common prefixes in key order, and the last entry if more follow."""

    objects: list[ObjectInfo]
    prefixes: list[str]
    truncated: bool
    last: str | None


def list_keys(objects: ObjectStore, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int) -> Listing:
    """Up to ``max_keys`` entries (objects and common prefixes together) sorting after ``after``."""
    found: list[ObjectInfo] = []
    prefixes: list[str] = []
    last: str | None = None
    if max_keys == 0:
        return Listing(found, prefixes, False, None)
    with store_errors():
        entries = _walk(objects, bucket, prefix, delimiter, after)
        for entry in entries:
            if len(found) + len(prefixes) == max_keys:
                return Listing(found, prefixes, True, last)
            if isinstance(entry, str):
                prefixes.append(entry)
                last = entry
            else:
                found.append(entry)
                last = entry.key
    return Listing(found, prefixes, False, None)


def _walk(objects: ObjectStore, bucket: str, prefix: str, delimiter: str, after: str) -> Iterator[ObjectInfo | str]:
    """Objects and common prefixes after ``after`` in key order. A common prefix sorting at or before
    ``after`` was listed on an earlier page (``after`` is then that prefix) and is skipped with its keys."""
    marker = after
    rolled_up: str | None = None
    while True:
        page = objects.list_objects(bucket, prefix=prefix, start_after=marker, limit=_PAGE)
        for info in page:
            if rolled_up is not None and info.key.startswith(rolled_up):
                continue
            common = common_prefix(info.key, prefix, delimiter)
            if common is None:
                yield info
                continue
            rolled_up = common
            if common > after:
                yield common
        if len(page) < _PAGE:
            return
        marker = page[-1].key
        if rolled_up is not None and marker.startswith(rolled_up):
            marker = rolled_up + _PAST


def common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix ``key`` rolls up into under ``delimiter``, or None if it is listed itself."""
    if not delimiter:
        return None
    cut = key.find(delimiter, len(prefix))
    return None if cut < 0 else key[: cut + len(delimiter)]


def list_uploads(
    objects: ObjectStore,
    bucket: str,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
) -> tuple[list[MultipartUpload], list[str], bool]:
    """Uploads in progress, with common prefixes rolled up as for keys; True when more follow."""
    uploads: list[MultipartUpload] = []
    prefixes: list[str] = []
    rolled_up: str | None = None
    with store_errors():
        while True:
            page = objects.list_multipart_uploads(bucket, prefix, key_marker, upload_id_marker, limit=_PAGE)
            for upload in page:
                common = common_prefix(upload.key, prefix, delimiter)
                if common is not None and common == rolled_up:
                    continue
                if len(uploads) + len(prefixes) == max_uploads:
                    return uploads, prefixes, True
                if common is None:
                    uploads.append(upload)
                else:
                    rolled_up = common
                    prefixes.append(common)
            if len(page) < _PAGE:
                return uploads, prefixes, False
            key_marker, upload_id_marker = page[-1].key, page[-1].upload_id


def encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token) from error


def url_encoded(value: str | None, encoding_type: str | None) -> str | None:
    """``value`` as S3 writes it when ``encoding-type=url`` was asked for (keys may hold characters XML cannot)."""
    if value is None or encoding_type != "url":
        return value
    return quote(value, safe="/")
