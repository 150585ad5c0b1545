"""The `aialgs.data.Record` message that SageMaker's RecordIO-protobuf data holds, one per RecordIO record: read
from a whole batch of payloads at once, and written.

The schema (the SageMaker SDK's `record.proto`, proto2): a Record has two maps from names to Values, `features`
(field 1) and `label` (2), and optional strings `uid` (3), `metadata` (4) and `configuration` (5). A Value is one
of a Float32Tensor (2), Float64Tensor (3), Int32Tensor (7) or Bytes (9); a tensor has packed `values` (1) and,
when sparse, packed uint64 `keys` (2) and `shape` (3). Bytes values are refused: no built-in reads them.

`Record`, `read_records` and `write_records` keep every field. The matrix readers of `recordio_protobuf` use
the batch steps: `record_entries` (every map entry of every record, as byte ranges), then
`tensors_of_one_kind` (the tensors of the chosen entries, decoded into concatenated arrays). Every step is a
few numpy operations over the whole batch (`protobuf_wire`). As protobuf requires, unknown fields are skipped,
unpacked repeated numbers are accepted, and a repeated map key or Value member keeps the last value. Errors
are `ValueError`s naming the record.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from sageforge.algorithms.formats.protobuf_wire import (
    FIXED32,
    FIXED64,
    LENGTH_DELIMITED,
    VARINT,
    Fields,
    WireError,
    decode_varints,
    encode_varints,
    length_delimited,
    message_fields,
    varint,
)
from sageforge.algorithms.formats.recordio import frame, payload_spans, payloads

FEATURES, LABEL = 1, 2
STRINGS = {3: "uid", 4: "metadata", 5: "configuration"}
# The members of the Value oneof, by field number.
FLOAT32, FLOAT64, INT32, BYTES = 2, 3, 7, 9
FIXED_DTYPES: dict[int, np.dtype[Any]] = {FLOAT32: np.dtype("<f4"), FLOAT64: np.dtype("<f8")}
KIND_NAMES = {FLOAT32: "float32", FLOAT64: "float64", INT32: "int32", BYTES: "Bytes"}
_ELEMENT_WIRE_TYPES = {FLOAT32: FIXED32, FLOAT64: FIXED64, INT32: VARINT}

Offsets = npt.NDArray[np.int64]
# Names the record of an item (a record, an entry, a tensor) by its index, for error messages.
Where = Callable[[int], str]


@dataclass(frozen=True)
class Tensor:
    """One Value: `values` (float32, float64 or int32), and for a sparse tensor `keys` and `shape`."""

    values: npt.NDArray[Any]
    keys: npt.NDArray[np.uint64] = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class Record:
    """One `aialgs.data.Record`: tensors by name in `features` and `label`, and the optional strings."""

    features: Mapping[str, Tensor] = field(default_factory=dict)
    label: Mapping[str, Tensor] = field(default_factory=dict)
    uid: str | None = None
    metadata: str | None = None
    configuration: str | None = None


class Entries(NamedTuple):
    """Map entries of a batch of records, in record order: `map` is `FEATURES` or `LABEL`, and the byte ranges
    are the entry's name and its Value."""

    record: Offsets
    map: Offsets
    name_start: Offsets
    name_end: Offsets
    value_start: Offsets
    value_end: Offsets

    def where(self, mask: npt.NDArray[Any]) -> Entries:
        """The entries selected by a boolean mask or an index array."""
        return Entries(*(column[mask] for column in self))

    def last_of_each_record(self) -> Entries:
        last = np.ones(len(self.record), dtype=bool)
        last[:-1] = self.record[1:] != self.record[:-1]
        return self.where(last)


class Tensors(NamedTuple):
    """Tensors of one kind, one per entry, decoded: each array concatenates theirs, and `*counts` say how many
    elements each tensor has. `runs` are the tensors' fields, as byte ranges of the batch."""

    kind: int
    values: npt.NDArray[Any]
    counts: Offsets
    keys: npt.NDArray[np.uint64]
    key_counts: Offsets
    shape: npt.NDArray[np.uint64]
    shape_counts: Offsets
    runs: Fields


def read_records(data: bytes | bytearray | memoryview) -> list[Record]:
    """Every record of ``data`` with all its fields."""
    raw, starts, ends = payloads_in_place(memoryview(data))

    def where(index: int) -> str:
        return f"record {index}"

    entries, strings = record_entries(raw, starts, ends, where)
    names = [
        _text(raw, start, end, where(record))
        for start, end, record in zip(
            entries.name_start.tolist(), entries.name_end.tolist(), entries.record.tolist(), strict=True
        )
    ]
    kinds, tensor_start, tensor_end = _members(raw, entries, where)
    invalid = np.flatnonzero(~np.isin(kinds, tuple(_ELEMENT_WIRE_TYPES)))
    if invalid.size:
        index = int(invalid[0])
        which = "features" if entries.map[index] == FEATURES else "label"
        raise ValueError(f"{where(entries.record[index])}: {which}[{names[index]!r}] {_no_tensor(kinds[index])}")
    tensors: dict[int, Tensor] = {}
    for kind in np.unique(kinds).tolist():
        chosen = np.flatnonzero(kinds == kind)
        decoded = _decode(raw, entries.where(chosen), kind, tensor_start[chosen], tensor_end[chosen], "a tensor", where)
        splits = [np.cumsum(counts)[:-1] for counts in (decoded.counts, decoded.key_counts, decoded.shape_counts)]
        for index, values, keys, shape in zip(
            chosen.tolist(),
            np.split(decoded.values, splits[0]),
            np.split(decoded.keys, splits[1]),
            np.split(decoded.shape, splits[2]),
            strict=True,
        ):
            tensors[index] = Tensor(values, keys, tuple(int(size) for size in shape))
    maps: list[tuple[dict[str, Tensor], dict[str, Tensor]]] = [({}, {}) for _ in range(len(starts))]
    for index, (record, number, name) in enumerate(
        zip(entries.record.tolist(), entries.map.tolist(), names, strict=True)
    ):
        maps[record][number - 1][name] = tensors[index]
    texts: list[dict[str, str]] = [{} for _ in range(len(starts))]
    for record, number, start, end in zip(
        strings.message.tolist(), strings.number.tolist(), strings.start.tolist(), strings.end.tolist(), strict=True
    ):
        texts[record][STRINGS[number]] = _text(raw, start, end, where(record))
    return [
        Record(features, label, strings_of.get("uid"), strings_of.get("metadata"), strings_of.get("configuration"))
        for (features, label), strings_of in zip(maps, texts, strict=True)
    ]


def payloads_in_place(view: memoryview) -> tuple[npt.NDArray[np.uint8], Offsets, Offsets]:
    """``view`` as bytes, and where each record's payload starts and ends in them. A payload split in parts
    (MXNet splits one that holds its magic) is not one run of bytes, so then the payloads are copied out."""
    spans = np.fromiter(itertools.chain.from_iterable(payload_spans(view)), dtype=np.int64).reshape(-1, 3)
    if not spans[:, 2].any():
        return np.frombuffer(view, dtype=np.uint8), spans[:, 0], spans[:, 1]
    joined = list(payloads(view))
    sizes = np.array([len(payload) for payload in joined], dtype=np.int64)
    return np.frombuffer(b"".join(joined), dtype=np.uint8), np.cumsum(sizes) - sizes, np.cumsum(sizes)


def record_entries(raw: npt.NDArray[np.uint8], starts: Offsets, ends: Offsets, where: Where) -> tuple[Entries, Fields]:
    """The map entries of the records ``raw[starts[i]:ends[i]]``, and their string fields."""
    top = _fields(raw, starts, ends, np.arange(len(starts)), where)
    known = (top.number >= FEATURES) & (top.number <= max(STRINGS))
    require(
        ~known | (top.wire_type == LENGTH_DELIMITED),
        lambda i: where(top.message[i]),
        lambda i: f"Record field {top.number[i]} has wire type {top.wire_type[i]}, not a length-delimited one",
    )
    entries = top.where(known & (top.number <= LABEL))
    inner = _fields(raw, entries.start, entries.end, entries.message, where)
    delimited = inner.wire_type == LENGTH_DELIMITED
    names = inner.where(delimited & (inner.number == 1)).last_of_each()
    values = inner.where(delimited & (inner.number == 2)).last_of_each()
    # Absent members are their defaults: the name "" and an empty Value.
    name_start, name_end, value_start, value_end = (entries.end.copy() for _ in range(4))
    name_start[names.message], name_end[names.message] = names.start, names.end
    value_start[values.message], value_end[values.message] = values.start, values.end
    return (
        Entries(entries.message, entries.number, name_start, name_end, value_start, value_end),
        top.where(known & (top.number > LABEL)),
    )


def named(raw: npt.NDArray[np.uint8], entries: Entries, name: bytes) -> npt.NDArray[np.bool_]:
    """Whether each entry's name is ``name``."""
    match = np.asarray(entries.name_end - entries.name_start == len(name), dtype=bool)
    candidates = np.flatnonzero(match)
    text = raw[entries.name_start[candidates, None] + np.arange(len(name))]
    match[candidates] = (text == np.frombuffer(name, dtype=np.uint8)).all(axis=1)
    return match


def tensors_of_one_kind(raw: npt.NDArray[np.uint8], entries: Entries, what: str, where: Where) -> Tensors:
    """The tensors of ``entries`` (named ``what`` in errors), which must all be float32, float64 or int32."""
    kinds, start, end = _members(raw, entries, where)

    def at(index: int) -> str:
        return where(entries.record[index])

    require(np.isin(kinds, tuple(_ELEMENT_WIRE_TYPES)), at, lambda i: f"{what} {_no_tensor(kinds[i])}")
    require(
        kinds == kinds[:1],
        at,
        lambda i: f"{what} holds {KIND_NAMES[kinds[i]]} values but {at(0)} holds {KIND_NAMES[kinds[0]]}",
    )
    return _decode(raw, entries, int(kinds[0]) if len(kinds) else FLOAT32, start, end, what, where)


def require(condition: npt.NDArray[np.bool_], where: Where, message: str | Callable[[int], str]) -> None:
    """Raise for the first item for which ``condition`` is false; ``where`` names the item's record."""
    failed = np.flatnonzero(~condition)
    if failed.size:
        index = int(failed[0])
        raise ValueError(f"{where(index)}: {message if isinstance(message, str) else message(index)}")


def _no_tensor(kind: int) -> str:
    return "holds Bytes, not a tensor" if kind == BYTES else "holds no tensor"


def _text(raw: npt.NDArray[np.uint8], start: int, end: int, where: str) -> str:
    content = raw[start:end].tobytes()
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where}: a string is not UTF-8: {content[:50]!r}") from None


def _members(raw: npt.NDArray[np.uint8], entries: Entries, where: Where) -> tuple[Offsets, Offsets, Offsets]:
    """Which member of its Value each entry holds (0 when none) and that member's byte range."""
    level = _fields(raw, entries.value_start, entries.value_end, entries.record, where)
    members = level.where(np.isin(level.number, tuple(KIND_NAMES)) & (level.wire_type == LENGTH_DELIMITED))
    members = members.last_of_each()
    kinds = np.zeros(len(entries.record), dtype=np.int64)
    start, end = entries.value_end.copy(), entries.value_end.copy()
    kinds[members.message], start[members.message], end[members.message] = members.number, members.start, members.end
    return kinds, start, end


def _decode(
    raw: npt.NDArray[np.uint8], entries: Entries, kind: int, start: Offsets, end: Offsets, what: str, where: Where
) -> Tensors:
    """The tensors of ``kind`` at ``start:end``, one per entry, decoded."""
    runs = _fields(raw, start, end, entries.record, where)
    allowed = np.where(
        runs.number == 1,
        np.isin(runs.wire_type, (LENGTH_DELIMITED, _ELEMENT_WIRE_TYPES[kind])),
        np.isin(runs.wire_type, (LENGTH_DELIMITED, VARINT)) | (runs.number > 3),
    )
    require(
        allowed,
        lambda i: where(entries.record[runs.message[i]]),
        lambda i: f"{what}: tensor field {runs.number[i]} has wire type {runs.wire_type[i]}",
    )

    def of(index: int) -> str:
        return where(entries.record[index])

    count = len(entries.record)
    value_bytes, value_sizes = _gather(raw, runs.where(runs.number == 1), count)
    if kind == INT32:
        values, counts = _varints(value_bytes, value_sizes, of)
        values = values.view(np.int64).astype(np.int32)
    else:
        dtype = FIXED_DTYPES[kind]
        require(value_sizes % dtype.itemsize == 0, of, f"the {KIND_NAMES[kind]} values of {what} are cut short")
        values = value_bytes.view(dtype).astype(dtype.newbyteorder("="), copy=False)
        counts = value_sizes // dtype.itemsize
    keys, key_counts = _varints(*_gather(raw, runs.where(runs.number == 2), count), of)
    shape, shape_counts = _varints(*_gather(raw, runs.where(runs.number == 3), count), of)
    return Tensors(kind, values, counts, keys, key_counts, shape, shape_counts, runs)


def _gather(raw: npt.NDArray[np.uint8], runs: Fields, count: int) -> tuple[npt.NDArray[np.uint8], Offsets]:
    """The bytes of ``runs``, in order, in a new array, and how many of them belong to each of ``count`` messages."""
    sizes = runs.end - runs.start
    if sizes.size and sizes[0] and (sizes == sizes[0]).all():
        # Runs of one size (dense rows of one width) are rows of a sliding window, copied in one step.
        joined = sliding_window_view(raw, int(sizes[0]))[runs.start].reshape(-1)
    else:
        view = raw.data
        pieces = [view[start:end] for start, end in zip(runs.start.tolist(), runs.end.tolist(), strict=True)]
        joined = np.frombuffer(bytearray().join(pieces), dtype=np.uint8)
    return joined, np.bincount(runs.message, weights=sizes, minlength=count).astype(np.int64)


def _fields(raw: npt.NDArray[np.uint8], starts: Offsets, ends: Offsets, records: Offsets, where: Where) -> Fields:
    try:
        return message_fields(raw, starts, ends)
    except WireError as error:
        raise ValueError(f"{where(int(records[error.index]))}: {error}") from None


def _varints(raw: npt.NDArray[np.uint8], sizes: Offsets, where: Where) -> tuple[npt.NDArray[np.uint64], Offsets]:
    try:
        return decode_varints(raw, sizes)
    except WireError as error:
        raise ValueError(f"{where(error.index)}: {error}") from None


# -- writing ----------------------------------------------------------------------------------------------------


def write_records(records: Iterable[Record]) -> bytes:
    """Every record with all its fields; tensors must be float32, float64 or integers within int32."""
    return b"".join(frame(_encode_record(record)) for record in records)


def kind_of(array: npt.NDArray[Any]) -> int:
    """The tensor type that holds ``array``'s values (integers are checked to fit int32)."""
    if array.dtype == np.float32:
        return FLOAT32
    if array.dtype == np.float64:
        return FLOAT64
    if array.dtype.kind in "iu":
        if array.size and (array.min() < -(2**31) or array.max() >= 2**31):
            raise ValueError("integer values must be within int32")
        return INT32
    raise ValueError(f"{array.dtype} values cannot be written: use float32, float64 or integers within int32")


def entry(number: int, name: bytes, kind: int, tensor: bytes) -> bytes:
    """A map entry of ``number`` (`FEATURES` or `LABEL`) holding the tensor message ``tensor``."""
    return length_delimited(number, length_delimited(1, name) + length_delimited(2, length_delimited(kind, tensor)))


def tensor_message(values: bytes, keys: bytes = b"", shape: bytes = b"") -> bytes:
    """A tensor of packed fields; empty ones are left out, as protobuf leaves them out."""
    return b"".join(
        length_delimited(number, packed) for number, packed in ((1, values), (2, keys), (3, shape)) if packed
    )


def packed_rows(values: npt.NDArray[Any], kind: int, bounds: Offsets) -> list[bytes]:
    """The packed encoding of ``values[bounds[i]:bounds[i + 1]]`` for each row ``i``."""
    if kind == INT32:
        # int32 varints carry the value sign-extended to 64 bits, as protobuf writes negative numbers.
        return packed_varints(values.astype(np.int64).view(np.uint64), bounds)
    dtype = FIXED_DTYPES[kind]
    raw = np.ascontiguousarray(values, dtype=dtype).tobytes()
    offsets = (bounds * dtype.itemsize).tolist()
    return [raw[start:stop] for start, stop in itertools.pairwise(offsets)]


def packed_varints(values: npt.NDArray[np.uint64], bounds: Offsets) -> list[bytes]:
    """``values[bounds[i]:bounds[i + 1]]`` as packed varints, for each row ``i``."""
    raw, sizes = encode_varints(values)
    offsets = np.concatenate(([0], np.cumsum(sizes)))[bounds].tolist()
    return [raw[start:stop] for start, stop in itertools.pairwise(offsets)]


def _encode_record(record: Record) -> bytes:
    parts = [
        entry(number, name.encode(), *_encode_tensor(tensor))
        for number, entries in ((FEATURES, record.features), (LABEL, record.label))
        for name, tensor in entries.items()
    ]
    for number, name in STRINGS.items():
        value: str | None = getattr(record, name)
        if value is not None:
            parts.append(length_delimited(number, value.encode()))
    return b"".join(parts)


def _encode_tensor(tensor: Tensor) -> tuple[int, bytes]:
    kind = kind_of(tensor.values)
    values = tensor.values.ravel()
    (packed,) = packed_rows(values, kind, np.array([0, values.size]))
    (keys,) = packed_varints(tensor.keys.astype(np.uint64), np.array([0, tensor.keys.size]))
    return kind, tensor_message(packed, keys, b"".join(varint(size) for size in tensor.shape))
