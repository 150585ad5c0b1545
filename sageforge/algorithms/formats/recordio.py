"""MXNet's RecordIO framing, which SageMaker's RecordIO-protobuf data and `SplitType: RecordIO` use.

A record is a little-endian uint32 magic (0xced7230a), a uint32 whose low 29 bits are the payload length and
whose top 3 bits flag a part (0: whole; 1, 2, 3: first, middle, last part of a payload that contained the magic
and was cut there), then the payload padded with zeros to a multiple of 4 bytes. Standard library only: batch
transform splits with it in the server, and in-container readers decode with it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

MAGIC = 0xCED7230A
_HEADER = struct.Struct("<II")
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_LENGTH_MASK = (1 << 29) - 1


class RecordIOError(ValueError):
    """Bytes that are not RecordIO framing (a bad magic, or a record cut short)."""


def frame(payload: bytes) -> bytes:
    """``payload`` as one whole record (what the SageMaker SDK writes: it never splits a payload)."""
    if len(payload) > _LENGTH_MASK:
        raise RecordIOError(f"a record holds at most {_LENGTH_MASK} bytes, not {len(payload)}")
    return _HEADER.pack(MAGIC, len(payload)) + payload + b"\x00" * (-len(payload) % 4)


def record_ends(data: bytes | memoryview, start: int = 0) -> Iterator[int]:
    """The offset just past each complete framed record in ``data`` from ``start`` (a multi-part payload ends
    after its last part). Stops at an incomplete record at the end; raises ``RecordIOError`` on a bad magic."""
    view = memoryview(data)
    offset, size = start, len(view)
    while offset + _HEADER.size <= size:
        magic, word = _HEADER.unpack_from(view, offset)
        if magic != MAGIC:
            raise RecordIOError(f"invalid RecordIO magic at byte {offset}")
        length, flag = word & _LENGTH_MASK, word >> 29
        end = offset + _HEADER.size + length + (-length % 4)
        if end > size:
            return
        offset = end
        if flag in (0, 3):
            yield end


def payload_spans(data: bytes | memoryview) -> Iterator[tuple[int, int, int]]:
    """``(start, end, flag)`` of each framed part's payload in ``data``, for readers that decode in place (a
    whole record has flag 0; see `payloads` for joining parts); raises ``RecordIOError`` when ``data`` is not
    whole records."""
    view = memoryview(data)
    offset = 0
    while offset < len(view):
        if offset + _HEADER.size > len(view):
            raise RecordIOError(f"a RecordIO header is cut short at byte {offset}")
        magic, word = _HEADER.unpack_from(view, offset)
        if magic != MAGIC:
            raise RecordIOError(f"invalid RecordIO magic at byte {offset}")
        length, flag = word & _LENGTH_MASK, word >> 29
        body_start = offset + _HEADER.size
        if body_start + length > len(view):
            raise RecordIOError(f"the RecordIO record at byte {offset} is cut short")
        yield body_start, body_start + length, flag
        offset = body_start + length + (-length % 4)


def payloads(data: bytes | memoryview) -> Iterator[bytes]:
    """Each record's payload, parts joined as MXNet joins them (with the magic between them); raises
    ``RecordIOError`` when ``data`` is not whole records."""
    view = memoryview(data)
    parts = list[bytes]()
    for start, end, flag in payload_spans(view):
        parts.append(bytes(view[start:end]))
        if flag in (0, 3):
            yield _MAGIC_BYTES.join(parts)
            parts = []
    if parts:
        raise RecordIOError("the last RecordIO record has no final part")
