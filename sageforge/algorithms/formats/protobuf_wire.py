"""The protobuf wire format, vectorised over many messages at once with numpy, as RecordIO-protobuf needs it.

A message is a sequence of fields, each a varint tag (`field number << 3 | wire type`) and a value: a varint
(wire type 0), 8 or 4 little-endian bytes (1, 5), or a varint length and that many bytes (2: strings, embedded
messages, packed repeated numbers). Groups (3, 4) are used by no schema read here and are an error.
`message_fields` reads the fields of every message of a batch together -- one numpy step per field position,
not per message -- so a million small messages cost a few dozen array operations. Standard library and numpy
only, so in-container readers can use it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
# A varint holds at most 64 bits: ten groups of seven.
_MAX_VARINT_BYTES = 10
_Offsets = npt.NDArray[np.int64]


class WireError(ValueError):
    """Bytes that are not a protobuf message; ``index`` is the message's position in its batch."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


class Fields(NamedTuple):
    """Fields of a batch of messages, ordered by message and then position.

    ``start:end`` is the value's content for a length-delimited field and the value's bytes otherwise, so the
    elements of a repeated field, packed or not, are byte ranges that can be joined.
    """

    message: _Offsets
    number: _Offsets
    wire_type: _Offsets
    start: _Offsets
    end: _Offsets

    def where(self, mask: npt.NDArray[Any]) -> Fields:
        """The fields selected by a boolean mask or an index array."""
        return Fields(*(column[mask] for column in self))

    def last_of_each(self) -> Fields:
        """The last field of each message present (protobuf's rule for a repeated singular field)."""
        last = np.ones(len(self.message), dtype=bool)
        last[:-1] = self.message[1:] != self.message[:-1]
        return self.where(last)


def message_fields(raw: npt.NDArray[np.uint8], starts: _Offsets, ends: _Offsets) -> Fields:
    """Every field of every message ``raw[starts[i]:ends[i]]``."""
    rounds: list[Fields] = []
    message = np.arange(len(starts), dtype=np.int64)
    position, limit = starts.astype(np.int64), ends.astype(np.int64)
    while True:
        going = position < limit
        if not going.all():
            message, position, limit = message[going], position[going], limit[going]
        if not message.size:
            break
        tag, position = varints_at(raw, position, limit, message)
        number, wire_type = (tag >> np.uint64(3)).astype(np.int64), (tag & np.uint64(7)).astype(np.int64)
        start, end = position.copy(), position.copy()
        delimited = np.flatnonzero(wire_type == LENGTH_DELIMITED)
        length, start[delimited] = varints_at(raw, position[delimited], limit[delimited], message[delimited])
        # A length past the message's end (even one beyond int64) is caught below as an overrun.
        end[delimited] = start[delimited] + np.minimum(length, np.uint64(len(raw))).astype(np.int64)
        if delimited.size < message.size:
            plain = np.flatnonzero(wire_type == VARINT)
            _, end[plain] = varints_at(raw, position[plain], limit[plain], message[plain])
            end[wire_type == FIXED32] += 4
            end[wire_type == FIXED64] += 8
            known = np.isin(wire_type, (VARINT, FIXED64, LENGTH_DELIMITED, FIXED32))
            _fail(known, message, "field {} has wire type {}, which this schema never uses", number, wire_type)
        _fail(number > 0, message, "field number 0 is not valid (tag {})", tag)
        _fail(end <= limit, message, "field {} runs past the end of its message", number)
        rounds.append(Fields(message, number, wire_type, start, end))
        position = end
    if len(rounds) <= 1:
        return rounds[0] if rounds else Fields(*(np.empty(0, dtype=np.int64) for _ in Fields._fields))
    columns = Fields(*(np.concatenate(column) for column in zip(*rounds, strict=True)))
    # Each round took the next field of every message; a stable sort by message keeps their order.
    return columns.where(np.argsort(columns.message, kind="stable"))


def varints_at(
    raw: npt.NDArray[np.uint8], positions: _Offsets, limits: _Offsets, messages: _Offsets
) -> tuple[npt.NDArray[np.uint64], _Offsets]:
    """The varint at each of ``positions`` (ending before its limit) and the offset just past it."""
    _fail(positions < limits, messages, "a varint is cut short")
    byte = raw[positions]
    values = (byte & 0x7F).astype(np.uint64)
    after = positions + 1
    # Most varints (tags, short lengths) are one byte; only the others go round again.
    pending = np.flatnonzero(byte >= 0x80)
    for group in range(1, _MAX_VARINT_BYTES):
        if not pending.size:
            return values, after
        _fail(after[pending] < limits[pending], messages[pending], "a varint is cut short")
        byte = raw[after[pending]]
        values[pending] |= (byte & 0x7F).astype(np.uint64) << np.uint64(7 * group)
        after[pending] += 1
        pending = pending[byte >= 0x80]
    _fail(np.zeros(len(pending), dtype=bool), messages[pending], "a varint is longer than ten bytes")
    return values, after


def decode_varints(data: npt.NDArray[np.uint8], sizes: _Offsets) -> tuple[npt.NDArray[np.uint64], _Offsets]:
    """The varints of ``data``, cut in runs of ``sizes`` bytes that each end a varint, and how many each run holds."""
    run_ends = np.cumsum(sizes, dtype=np.int64)
    _fail(data[run_ends[sizes > 0] - 1] < 0x80, np.flatnonzero(sizes > 0), "a varint is cut short")
    last = data < 0x80
    ends = np.flatnonzero(last)
    starts = np.zeros_like(ends)
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    runs = np.searchsorted(run_ends, ends, side="right")
    _fail(lengths <= _MAX_VARINT_BYTES, runs, "a varint is longer than ten bytes")
    # Each byte's seven bits shifted to their place in its varint, then the varint's bytes or'ed together.
    place = (np.arange(data.size, dtype=np.int64) - np.repeat(starts, lengths)).astype(np.uint64)
    parts = (data & 0x7F).astype(np.uint64) << (np.uint64(7) * place)
    values = np.bitwise_or.reduceat(parts, starts) if starts.size else np.empty(0, dtype=np.uint64)
    counted = np.concatenate(([0], np.cumsum(last, dtype=np.int64)))
    return values, counted[run_ends] - counted[run_ends - sizes]


def encode_varints(values: npt.NDArray[np.uint64]) -> tuple[bytes, _Offsets]:
    """``values`` as consecutive varints, and the size in bytes of each."""
    sizes = np.ones(values.shape, dtype=np.int64)
    for group in range(1, _MAX_VARINT_BYTES):
        sizes += values >= np.uint64(1 << (7 * group))
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    starts = np.cumsum(sizes) - sizes
    for group in range(_MAX_VARINT_BYTES):
        present = sizes > group
        if not present.any():
            break
        low_bits = (values[present] >> np.uint64(7 * group)) & np.uint64(0x7F)
        more = (sizes[present] > group + 1).astype(np.uint8) << 7
        out[starts[present] + group] = low_bits.astype(np.uint8) | more
    return out.tobytes(), sizes


def varint(value: int) -> bytes:
    """``value`` (0 <= value < 2**64) as a varint."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_delimited(number: int, content: bytes) -> bytes:
    """Field ``number`` (below 16, so that its tag is one byte) holding ``content``."""
    return bytes((number << 3 | LENGTH_DELIMITED,)) + varint(len(content)) + content


def _fail(ok: npt.NDArray[np.bool_], messages: _Offsets, fault: str, *columns: npt.NDArray[Any]) -> None:
    """Raise for the first item that is not ``ok``, naming its message; ``fault`` is formatted with the item's
    value in each of ``columns``."""
    bad = np.flatnonzero(~ok)
    if bad.size:
        item = int(bad[0])
        raise WireError(int(messages[item]), fault.format(*(column[item] for column in columns)))
