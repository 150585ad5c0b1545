"""Splitters: where the records of an input object begin and end, one per ``SplitType``.

A splitter answers two questions about the bytes read so far, without copying or decoding records one by one
where it can help it:

- ``cut(data, limit)``: the length of the longest start of ``data`` that is whole records and fits ``limit``
  (how MultiRecord cuts a payload: one ``rfind`` for lines, a walk over record headers for binary framings);
- ``records(data, final)``: the whole records at the start of ``data`` (each with its framing: a line keeps its
  newline) and how many bytes they span; ``final`` says ``data`` is the rest of the object, which must then be
  whole records.

``None`` treats the whole object as one record; ``Line`` splits after each ``\\n`` (a blank line is no record);
``RecordIO`` follows MXNet's framing (``algorithms.formats.recordio``); ``TFRecord`` follows TensorFlow's
(length, length CRC, data, data CRC; the CRCs are not checked). Binary records are sent with their framing
and padding under both batch strategies: SageMaker documents dropping a record's padding under SingleRecord,
but every RecordIO reader accepts a padded record and not every one a record without it (sageforge's
RecordIO-protobuf reader does not). Every splitter passes the contract in
``tests/serving/test_batch_splitting.py``. Broken framing raises ``RecordError``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Generator
from typing import Protocol

from sageforge.algorithms.formats.recordio import RecordIOError, record_ends
from sageforge.serving.batch.errors import RecordError
from sageforge.serving.batch.spec import SplitType

Buffer = bytes | bytearray


class Splitter(Protocol):
    def cut(self, data: Buffer, limit: int) -> int:
        """The length of the longest start of ``data`` made of whole records and at most ``limit`` bytes long."""
        ...

    def records(self, data: Buffer, final: bool) -> tuple[list[bytes], int]:
        """The whole records at the start of ``data``, framing included, and the bytes they span."""
        ...


class WholeObject:
    """SplitType None: the object is one record."""

    def cut(self, data: Buffer, limit: int) -> int:
        return 0  # the record is only known to be whole at the end of the object

    def records(self, data: Buffer, final: bool) -> tuple[list[bytes], int]:
        return ([bytes(data)], len(data)) if final and data else ([], 0)


class LineSplitter:
    def cut(self, data: Buffer, limit: int) -> int:
        return data.rfind(b"\n", 0, limit) + 1

    def records(self, data: Buffer, final: bool) -> tuple[list[bytes], int]:
        end = len(data) if final else data.rfind(b"\n") + 1
        *lines, last = bytes(data[:end]).split(b"\n")
        records = [line + b"\n" for line in lines if line.strip(b"\r")]
        if last.strip(b"\r"):
            records.append(last)
        return records, end


class FramedSplitter:
    """Binary framings: records found by walking their headers with ``ends`` (the offset past each record)."""

    def __init__(self, ends: Callable[[Buffer], Generator[int]]) -> None:
        self._ends = ends

    def cut(self, data: Buffer, limit: int) -> int:
        last = 0
        ends = self._ends(data)
        try:
            for end in ends:
                if end > limit:
                    break
                last = end
        finally:
            # A suspended walk may hold a view of ``data``, which would keep the caller's buffer from resizing.
            ends.close()
        return last

    def records(self, data: Buffer, final: bool) -> tuple[list[bytes], int]:
        records, start = [], 0
        for end in self._ends(data):
            records.append(bytes(data[start:end]))
            start = end
        if final and start < len(data):
            raise RecordError(f"the object ends with an incomplete record ({len(data) - start} bytes left over).")
        return records, start


def _recordio_ends(data: Buffer) -> Generator[int]:
    with memoryview(data) as view:
        try:
            yield from record_ends(view)
        except RecordIOError as error:
            raise RecordError(f"the data is not RecordIO: {error}.") from None


# TFRecord: uint64 length, uint32 masked CRC of the length, the data, uint32 masked CRC of the data.
_TFRECORD_HEADER = struct.Struct("<QI")
_TFRECORD_FOOTER = 4


def _tfrecord_ends(data: Buffer) -> Generator[int]:
    offset = 0
    while offset + _TFRECORD_HEADER.size <= len(data):
        length, _ = _TFRECORD_HEADER.unpack_from(data, offset)
        end = offset + _TFRECORD_HEADER.size + length + _TFRECORD_FOOTER
        if end > len(data):
            return
        offset = end
        yield end


SPLITTERS: dict[SplitType, Splitter] = {
    "None": WholeObject(),
    "Line": LineSplitter(),
    "RecordIO": FramedSplitter(_recordio_ends),
    "TFRecord": FramedSplitter(_tfrecord_ends),
}
