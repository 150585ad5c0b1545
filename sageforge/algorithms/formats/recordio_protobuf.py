"""SageMaker's RecordIO-protobuf data (`application/x-recordio-protobuf`) as matrices: one `aialgs.data.Record`
(`protobuf_record`) per row, each in a RecordIO record (`recordio`).

A row is the record's `features["values"]` tensor: dense (the row's values) or sparse (`values` with their
column `keys`, and `shape` = `[width]`); its label is `label["values"]`. Float32, float64 and int32 tensors keep
their dtype.

- `read_matrix` gives `(features, labels)`: a numpy array, or a scipy CSR matrix when any record is sparse
  (absent entries are then missing values, as in libsvm); labels have shape `(n,)` (`(n, k)` for k values a
  record), or are None when no record has any. `read_dense` refuses sparse records, `iter_matrices` reads a
  stream chunk by chunk, `read_files` a channel's files (gzip or not).
- `write_dense` / `write_sparse` write, byte for byte, what the SageMaker SDK's `write_numpy_to_dense_tensor` /
  `write_spmatrix_to_sparse_tensor` write; `write_dense_records` puts rows under any names (an inference
  response's `label["score"]`). `read_records` / `write_records` (re-exported) keep every field of a record.
- A malformed record, one without `features["values"]`, rows of different widths or dtypes (the SDK writes one
  dtype a file), labels on some records only: `ValueError`, naming the record (counted from 0 in its file or
  payload) or the file.

Why a decoder of the protobuf wire format (`protobuf_wire`) rather than the `protobuf` library: code that runs
inside a workload (`train.py`, `inference.py`) may import only the standard library, numpy/scipy and its own
framework; and a message object per record costs microseconds a row before its repeated fields are even copied
into numpy. Here a tensor is a byte range. Records laid out alike -- dense rows of one width, as the SDK writes
them -- are read as one strided view of the buffer once every byte outside their values is found equal to the
first record's: no Python runs per row, and a million rows of 30 float32 take about three times as long as
copying the raw floats. Any other data (sparse rows, uids, ...) is parsed level by level, a few numpy operations
per field position over the whole batch, plus a Python step per record to walk the RecordIO headers: several
microseconds a record, under half what the SDK's own protobuf reader takes.
"""

from __future__ import annotations

import collections
import gzip
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse

from sageforge.algorithms.formats import open_data
from sageforge.algorithms.formats.protobuf_record import (
    FEATURES,
    FIXED_DTYPES,
    INT32,
    LABEL,
    Offsets,
    Record,
    Tensor,
    Tensors,
    entry,
    kind_of,
    named,
    packed_rows,
    packed_varints,
    payloads_in_place,
    read_records,
    record_entries,
    require,
    tensor_message,
    tensors_of_one_kind,
    write_records,
)
from sageforge.algorithms.formats.protobuf_wire import varint
from sageforge.algorithms.formats.recordio import frame, payload_spans, record_ends

__all__ = [
    "ByteStream",
    "Record",
    "Tensor",
    "iter_matrices",
    "read_dense",
    "read_files",
    "read_matrix",
    "read_records",
    "write_dense",
    "write_dense_records",
    "write_records",
    "write_sparse",
]

Buffer = bytes | bytearray | memoryview
Labels = npt.NDArray[Any] | None
# Features are a numpy array or a scipy CSR matrix; scipy ships no type stubs.
Matrix = tuple[Any, Labels]
_CHUNK_SIZE = 1 << 24
# A varint byte below this is a whole int32 value (0..127), so such values do not change a record's layout.
_ONE_BYTE_VARINT = 0x80


class ByteStream(Protocol):
    """What `iter_matrices` reads: an open binary or gzip file, `io.BytesIO`, ..."""

    def read(self, size: int, /) -> bytes: ...


def read_matrix(data: Buffer) -> Matrix:
    """Every record of ``data`` as one row of ``(features, labels)``; a CSR matrix when any record is sparse."""
    view = memoryview(data)
    parts, end = _read_whole_records(view, 0)
    if end < len(view):
        raise ValueError(f"the last {len(view) - end} bytes are not a whole RecordIO record")
    return _stack(parts, _part_names(parts))


def read_dense(data: Buffer) -> tuple[npt.NDArray[Any], Labels]:
    """Like `read_matrix`, for data that must be dense."""
    features, labels = read_matrix(data)
    if scipy.sparse.issparse(features):
        raise ValueError("the records hold sparse tensors (keys and shape); read them with read_matrix")
    return features, labels


def iter_matrices(stream: ByteStream, chunk_size: int = _CHUNK_SIZE) -> Iterator[Matrix]:
    """The records of ``stream`` as consecutive matrices, each read from about ``chunk_size`` bytes."""
    pending, first = b"", 0
    while chunk := stream.read(chunk_size):
        buffer = pending + chunk if pending else chunk
        parts, end = _read_whole_records(memoryview(buffer), first)
        for part in parts:
            yield part
            first += part[0].shape[0]
        pending = buffer[end:]
    if pending:
        raise ValueError(f"the data ends inside a RecordIO record (the {len(pending)} bytes after {first} records)")


def read_files(paths: Sequence[Path], chunk_size: int = _CHUNK_SIZE) -> Matrix:
    """The records of every file (gzip or not) as one matrix; errors name the file."""
    files: list[Matrix] = []
    for path in paths:
        try:
            with open_data(path) as stream:
                parts = list(iter_matrices(stream, chunk_size))
            files.append(_stack(parts, _part_names(parts)))
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise ValueError(f"{path}: could not decompress gzip data: {error}") from None
    return _stack(files, [str(path) for path in paths])


def write_dense(features: npt.NDArray[Any], labels: npt.NDArray[Any] | None = None) -> bytes:
    """One record per row, as `write_numpy_to_dense_tensor` writes them: float32 and float64 arrays keep their
    type, integer arrays (values within int32) are written as int32; ``labels`` holds one value per row."""
    if features.ndim != 2:
        raise ValueError(f"features must be a matrix, not an array of {features.ndim} dimensions")
    label = {} if labels is None else {"values": _label_column(labels, features.shape[0])}
    return write_dense_records({"values": features}, label)


def write_dense_records(features: Mapping[str, npt.NDArray[Any]], label: Mapping[str, npt.NDArray[Any]]) -> bytes:
    """Record ``i`` holds row ``i`` of every matrix, as a dense tensor under its name in `features` or `label`."""
    columns = [(FEATURES, name, array) for name, array in features.items()]
    columns += [(LABEL, name, array) for name, array in label.items()]
    if any(array.ndim != 2 for _, _, array in columns) or len({array.shape[0] for _, _, array in columns}) > 1:
        raise ValueError("every array must be a matrix with one row per record")
    if not columns or not columns[0][2].shape[0]:
        return b""
    kinds = [kind_of(array) for _, _, array in columns]
    if all(kind != INT32 or _one_byte_varints(array) for (_, _, array), kind in zip(columns, kinds, strict=True)):
        return _write_alike(columns, kinds)
    # Larger int32 varints vary in size with the values: each record is put together on its own.
    rows = columns[0][2].shape[0]
    tensors = [
        (number, name.encode(), kind, packed_rows(array.ravel(), kind, np.arange(rows + 1) * array.shape[1]))
        for (number, name, array), kind in zip(columns, kinds, strict=True)
    ]
    return b"".join(
        frame(b"".join(entry(number, name, kind, tensor_message(row[index])) for number, name, kind, row in tensors))
        for index in range(rows)
    )


def write_sparse(features: Any, labels: npt.NDArray[Any] | None = None) -> bytes:
    """One record per row of a scipy sparse matrix, as `write_spmatrix_to_sparse_tensor` writes them: the row's
    stored values with their columns as keys (explicit zeros included) and its width as shape."""
    if not scipy.sparse.issparse(features):
        raise TypeError("features must be a scipy sparse matrix")
    csr = features.tocsr()
    rows, width = csr.shape
    kind = kind_of(csr.data)
    indptr = csr.indptr.astype(np.int64)
    values = packed_rows(csr.data, kind, indptr)
    keys = packed_varints(csr.indices.astype(np.uint64), indptr)
    shape = varint(width)
    records = [entry(FEATURES, b"values", kind, tensor_message(values[row], keys[row], shape)) for row in range(rows)]
    if labels is not None:
        label_kind = kind_of(labels)
        label = packed_rows(_label_column(labels, rows).ravel(), label_kind, np.arange(rows + 1))
        records = [
            record + entry(LABEL, b"values", label_kind, tensor_message(value))
            for record, value in zip(records, label, strict=True)
        ]
    return b"".join(frame(record) for record in records)


def _read_whole_records(view: memoryview, first: int) -> tuple[list[Matrix], int]:
    """The whole records at the start of ``view`` as matrices, and where they end.

    Those laid out like the first are read in one step, any after them (from the first that differs) together.
    """
    parts: list[Matrix] = []
    alike = _read_alike(view, first)
    start = 0
    if alike is not None:
        part, start = alike
        parts.append(part)
        first += part[0].shape[0]
    last = collections.deque(record_ends(view, start), maxlen=1)
    end = last[0] if last else start
    if end > start:
        raw, starts, ends = payloads_in_place(view[start:end])
        parts.append(_assemble(*_row_tensors(raw, starts, ends, first), first))
    return parts, end


def _read_alike(view: memoryview, first: int) -> tuple[Matrix, int] | None:
    """The leading records framed and laid out exactly like the first, read from one strided view, and where they
    end; None when the first record is incomplete, or its layout varies with its values (sparse keys, int32
    values beyond one varint byte)."""
    stride = next(record_ends(view), 0)
    spans = list(payload_spans(view[:stride])) if stride else []
    if len(spans) != 1:
        return None  # no whole record, or one split in parts
    raw = np.frombuffer(view, dtype=np.uint8)
    row = _row_tensors(raw, np.array([spans[0][0]]), np.array([spans[0][1]]), first)
    _assemble(*row, first)  # the first record's own checks
    tensors = [tensor for tensor in row if tensor is not None]
    if any(
        len(tensor.runs.number) != 1
        or tensor.runs.number[0] != 1
        or (tensor.kind == INT32 and not _one_byte_varints(tensor.values))
        for tensor in tensors
    ):
        return None
    slots = [(int(tensor.runs.start[0]), int(tensor.runs.end[0]), tensor.kind) for tensor in tensors]
    rows = raw[: len(raw) // stride * stride].reshape(-1, stride)
    # Equal bytes around the values mean equal framing and an equal parse: fixed-width values do not change how a
    # message parses, and int32 values do not either while each is one varint byte.
    edges = [0, *(edge for start, stop, _ in sorted(slots) for edge in (start, stop)), stride]
    around = [(rows[:, start:stop], rows[0, start:stop]) for start, stop in zip(edges[::2], edges[1::2], strict=True)]
    varint_values = [rows[:, start:stop] for start, stop, kind in slots if kind == INT32]
    if not all((block == template).all() for block, template in around) or any(
        (block >= _ONE_BYTE_VARINT).any() for block in varint_values
    ):
        alike = np.ones(len(rows), dtype=bool)
        for block, template in around:
            alike &= (block == template).all(axis=1)
        for block in varint_values:
            alike &= (block < _ONE_BYTE_VARINT).all(axis=1)
        rows = rows[: int(np.argmin(alike))]
    features = _slot_values(rows, *slots[0])
    labels = _slot_values(rows, *slots[1]) if len(slots) == 2 else None
    return (features, _label_shape(labels)), len(rows) * stride


def _slot_values(rows: npt.NDArray[np.uint8], start: int, stop: int, kind: int) -> npt.NDArray[Any]:
    block = rows[:, start:stop]
    if kind == INT32:
        return block.astype(np.int32)
    dtype = FIXED_DTYPES[kind]
    return np.ascontiguousarray(block).view(dtype).astype(dtype.newbyteorder("="), copy=False)


def _one_byte_varints(values: npt.NDArray[Any]) -> bool:
    return bool(((values >= 0) & (values < _ONE_BYTE_VARINT)).all())


def _row_tensors(
    raw: npt.NDArray[np.uint8], starts: Offsets, ends: Offsets, first: int
) -> tuple[Tensors, Tensors | None]:
    """The `features["values"]` tensor of every record ``raw[starts[i]:ends[i]]``, and their `label["values"]`."""

    def where(index: int) -> str:
        return f"record {first + index}"

    entries, _ = record_entries(raw, starts, ends, where)
    # The last `values` entry of a map wins, as protobuf keeps the last value of a repeated map key.
    values = entries.where(named(raw, entries, b"values"))
    features = values.where(values.map == FEATURES).last_of_each_record()
    label = values.where(values.map == LABEL).last_of_each_record()
    has_features = np.zeros(len(starts), dtype=bool)
    has_features[features.record] = True
    require(has_features, where, "the record has no features['values'] tensor")
    labeled = np.zeros(len(starts), dtype=bool)
    labeled[label.record] = True
    require(labeled | ~labeled.any(), where, "the record has no label['values'] although others have")
    return (
        tensors_of_one_kind(raw, features, "features['values']", where),
        tensors_of_one_kind(raw, label, "label['values']", where) if labeled.any() else None,
    )


def _assemble(features: Tensors, label: Tensors | None, first: int) -> Matrix:
    """Rows checked and put together: one width, dense or sparse; labels dense, as many on every row."""
    rows = len(features.counts)
    if not rows:
        return np.empty((0, 0), dtype=np.float32), None

    def where(index: int) -> str:
        return f"record {first + index}"

    counts, key_counts, shape_counts = features.counts, features.key_counts, features.shape_counts
    require(shape_counts <= 1, where, "features['values'] must have a one-dimensional shape, [width]")
    sparse = (key_counts > 0) | ((counts == 0) & (shape_counts > 0))
    require(~sparse | (shape_counts == 1), where, "a sparse features['values'] tensor needs a shape")
    require(~sparse | (key_counts == counts), where, "features['values'] has a different number of keys and values")
    shape = np.zeros(rows, dtype=np.int64)
    shape[shape_counts == 1] = features.shape.astype(np.int64)
    require(sparse | (shape_counts == 0) | (shape == counts), where, "features['values'] does not fill its shape")
    widths = np.where(sparse, shape, counts)
    width = int(widths[0])
    require(widths == width, where, lambda i: f"{widths[i]} features, but {where(0)} has {width}")
    if sparse.any():
        outside = np.repeat(np.arange(rows), key_counts)[features.keys >= np.uint64(width)]
        require(~np.isin(np.arange(rows), outside), where, f"a key of features['values'] is not below {width}")
        matrix: Any = _csr(features.values, counts, features.keys, sparse, width)
    else:
        matrix = features.values.reshape(rows, width)
    if label is None:
        return matrix, None
    require(label.key_counts == 0, where, "label['values'] is sparse")
    label_counts = label.counts
    require(
        label_counts == label_counts[0],
        where,
        lambda i: f"label['values'] has {label_counts[i]} values but {where(0)} has {label_counts[0]}",
    )
    return matrix, _label_shape(label.values.reshape(rows, int(label_counts[0])))


def _label_shape(labels: Labels) -> Labels:
    return labels[:, 0].copy() if labels is not None and labels.shape[1] == 1 else labels


def _csr(
    values: npt.NDArray[Any], counts: Offsets, keys: npt.NDArray[np.uint64], sparse: npt.NDArray[np.bool_], width: int
) -> Any:
    """Rows as CSR: a sparse row's entries at its keys, a dense row's at every column (zeros and NaNs kept)."""
    indptr = np.concatenate(([0], np.cumsum(counts)))
    entry_row = np.repeat(np.arange(len(counts)), counts)
    indices = np.arange(len(values), dtype=np.int64) - indptr[entry_row]
    indices[sparse[entry_row]] = keys.astype(np.int64)
    matrix = scipy.sparse.csr_matrix((values, indices, indptr), shape=(len(counts), width))
    matrix.sort_indices()
    return matrix


def _stack(parts: Sequence[Matrix], names: Sequence[str]) -> Matrix:
    """Consecutive matrices as one, of one width and dtype; ``names[i]`` says where part ``i`` starts."""
    nonempty = [(part, name) for part, name in zip(parts, names, strict=True) if part[0].shape[0]]
    if len(nonempty) <= 1:
        return nonempty[0][0] if nonempty else (np.empty((0, 0), dtype=np.float32), None)
    (first_features, first_labels), first_name = nonempty[0]
    for (features, labels), name in nonempty[1:]:
        if features.shape[1] != first_features.shape[1]:
            raise ValueError(f"{name}: {features.shape[1]} features, but {first_name} has {first_features.shape[1]}")
        if (labels is None) != (first_labels is None):
            which, other = (name, first_name) if labels is None else (first_name, name)
            raise ValueError(f"{which}: the records have no label['values'] but {other} has")
        for what, array, first in (("features", features, first_features), ("label", labels, first_labels)):
            if array is not None and first is not None and array.dtype != first.dtype:
                raise ValueError(
                    f"{name}: {what}['values'] holds {array.dtype} values but {first_name} holds {first.dtype}"
                )
        if labels is not None and first_labels is not None and labels.shape[1:] != first_labels.shape[1:]:
            raise ValueError(f"{name}: label['values'] has a different length than in {first_name}")
    blocks = [features for (features, _), _ in nonempty]
    if any(scipy.sparse.issparse(block) for block in blocks):
        stacked: Any = scipy.sparse.vstack([_as_csr(block) for block in blocks], format="csr")
    else:
        stacked = np.concatenate(blocks)
    label_blocks = [labels for (_, labels), _ in nonempty if labels is not None]
    return stacked, np.concatenate(label_blocks) if label_blocks else None


def _as_csr(features: Any) -> Any:
    if scipy.sparse.issparse(features):
        return features
    rows, width = features.shape
    indptr = np.arange(rows + 1, dtype=np.int64) * width
    indices = np.tile(np.arange(width, dtype=np.int64), rows)
    return scipy.sparse.csr_matrix((features.ravel(), indices, indptr), shape=features.shape)


def _part_names(parts: Sequence[Matrix]) -> list[str]:
    firsts = np.cumsum([0] + [part[0].shape[0] for part in parts[:-1]]).tolist() if parts else []
    return [f"record {first}" for first in firsts]


def _write_alike(columns: Sequence[tuple[int, str, npt.NDArray[Any]]], kinds: Sequence[int]) -> bytes:
    """Rows whose tensors have one size: every record is laid out like the first, so all are one strided array."""
    arrays = [
        np.ascontiguousarray(array, dtype=np.uint8 if kind == INT32 else FIXED_DTYPES[kind])
        for (_, _, array), kind in zip(columns, kinds, strict=True)
    ]
    entries = [
        entry(number, name.encode(), kind, tensor_message(array[0].tobytes()))
        for (number, name, _), kind, array in zip(columns, kinds, arrays, strict=True)
    ]
    template = np.frombuffer(frame(b"".join(entries)), dtype=np.uint8)
    out = np.empty((arrays[0].shape[0], template.size), dtype=np.uint8)
    out[:] = template
    # An entry ends with its tensor's values (nothing follows them in the Value), which fixes where they go.
    end = len(frame(b""))  # the RecordIO header before the payload
    for entry_bytes, array in zip(entries, arrays, strict=True):
        end += len(entry_bytes)
        size = array.shape[1] * array.itemsize
        out[:, end - size : end] = array.view(np.uint8).reshape(len(array), size)
    return out.tobytes()


def _label_column(labels: npt.NDArray[Any], rows: int) -> npt.NDArray[Any]:
    if labels.shape != (rows,):
        raise ValueError(f"labels must be a vector of {rows} values, one per row, not of shape {labels.shape}")
    return labels.reshape(rows, 1)
