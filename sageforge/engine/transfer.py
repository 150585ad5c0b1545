"""Moving bytes between the object store and the local disk, streamed in chunks, never whole in memory."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from sageforge.store.objects.base import ObjectAttributes, ObjectInfo, ObjectStore

_PAGE = 1000
_CHUNK = 1024 * 1024


class TransferInterrupted(Exception):
    """The transfer's stop event was set; the destination file is incomplete."""


def list_all(objects: ObjectStore, bucket: str, prefix: str) -> list[ObjectInfo]:
    """Every object under ``prefix`` in key order, across pages."""
    found: list[ObjectInfo] = []
    start_after = ""
    while True:
        page = objects.list_objects(bucket, prefix=prefix, start_after=start_after, limit=_PAGE)
        found.extend(page)
        if len(page) < _PAGE:
            return found
        start_after = page[-1].key


def safe_relative_path(name: str) -> PurePosixPath:
    """``name`` (an object key or part of one) as a path that cannot leave the folder it is joined to."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"object key {name!r} does not name a file inside the destination")
    return PurePosixPath(*parts)


def download(
    objects: ObjectStore, bucket: str, key: str, destination: Path, *, gunzip: bool, stop: threading.Event
) -> None:
    """Write the object to ``destination`` (creating folders), decompressing gzip on the way if asked."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    chunks: Iterable[bytes] = objects.read_object(bucket, key)
    if gunzip:
        chunks = gunzip_chunks(chunks)
    with destination.open("wb") as out:
        for chunk in chunks:
            if stop.is_set():
                raise TransferInterrupted(key)
            out.write(chunk)


def upload_file(objects: ObjectStore, bucket: str, key: str, source: Path, content_type: str | None = None) -> None:
    with source.open("rb") as body:
        objects.put_object(bucket, key, body, ObjectAttributes(content_type=content_type))


def gunzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip stream given in chunks; ``zlib.error`` if it is not gzip or ends early."""
    decoder = _gzip_decoder()
    inside_member = False
    for chunk in chunks:
        data = chunk
        while data:
            # Bounded output per step: a small, highly compressed chunk must not become a huge bytes object.
            yield decoder.decompress(data, _CHUNK)
            inside_member = not decoder.eof
            if decoder.eof:
                # Concatenated gzip members are one valid gzip file (what `cat a.gz b.gz` makes).
                data = decoder.unused_data
                decoder = _gzip_decoder()
            else:
                data = decoder.unconsumed_tail
    yield decoder.flush()
    if inside_member and not decoder.eof:
        raise zlib.error("incomplete gzip stream")


def _gzip_decoder() -> zlib._Decompress:
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
