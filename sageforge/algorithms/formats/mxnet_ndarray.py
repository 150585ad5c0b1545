"""MXNet's NDArray file (`mx.nd.save` / `mx.nd.load`), the `model_algo-1` of K-Means and PCA (reference A7).

A file is a little-endian header -- uint64 list magic 0x112, uint64 0 -- then a uint64 count and that many
arrays, then a uint64 count of names and each name as a uint64 length and its bytes (no names for a list,
one per array for a dict). An array (version 2) is uint32 magic 0xF993FAC9, int32 storage type (0: dense),
uint32 ndim, int64 dims, int32 device type and id (1, 0: CPU), int32 dtype flag, then its values row-major.
`write` writes that; `read` also takes version 1 arrays (0xF993FAC8: no storage type) and MXNet 1.6+'s
numpy-shape magic (0xF993FACA), dense only, and raises ValueError on anything else.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

LIST_MAGIC = 0x112
_V1_MAGIC, _V2_MAGIC, _V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
_DENSE = 0
_CPU = 1
_DTYPES: dict[int, np.dtype[Any]] = {
    0: np.dtype("<f4"),
    1: np.dtype("<f8"),
    2: np.dtype("<f2"),
    3: np.dtype("u1"),
    4: np.dtype("<i4"),
    5: np.dtype("i1"),
    6: np.dtype("<i8"),
}
_FLAGS = {(dtype.kind, dtype.itemsize): flag for flag, dtype in _DTYPES.items()}

Arrays = Sequence[npt.NDArray[Any]] | Mapping[str, npt.NDArray[Any]]


def write(arrays: Arrays) -> bytes:
    """The file holding `arrays`: a list (no names) or a dict (named), as `mx.nd.save` writes them."""
    named = isinstance(arrays, Mapping)
    values = list(arrays.values()) if isinstance(arrays, Mapping) else list(arrays)
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(values))]
    for array in values:
        parts.append(_array(np.asarray(array)))
    names = list(arrays) if isinstance(arrays, Mapping) else []
    parts.append(struct.pack("<Q", len(names) if named else 0))
    for name in names:
        encoded = name.encode()
        parts.append(struct.pack("<Q", len(encoded)) + encoded)
    return b"".join(parts)


def _array(array: npt.NDArray[Any]) -> bytes:
    flag = _FLAGS.get((array.dtype.kind, array.dtype.itemsize))
    if flag is None:
        raise ValueError(f"MXNet NDArray files hold no {array.dtype} arrays")
    head = struct.pack("<IiI", _V2_MAGIC, _DENSE, array.ndim) + struct.pack(f"<{array.ndim}q", *array.shape)
    head += struct.pack("<iii", _CPU, 0, flag)
    return head + np.ascontiguousarray(array, dtype=_DTYPES[flag]).tobytes()


def read(data: bytes) -> list[npt.NDArray[Any]] | dict[str, npt.NDArray[Any]]:
    """The arrays of a file: a dict when it names them, else a list; ValueError when it is no such file."""
    reader = _Reader(data)
    magic, _ = reader.unpack("<QQ")
    if magic != LIST_MAGIC:
        raise ValueError(f"not an MXNet NDArray file (magic {magic:#x}, expected {LIST_MAGIC:#x})")
    (count,) = reader.unpack("<Q")
    arrays = [_read_array(reader) for _ in range(count)]
    (name_count,) = reader.unpack("<Q")
    if name_count == 0:
        return arrays
    if name_count != count:
        raise ValueError(f"the file names {name_count} of its {count} arrays")
    names = [reader.take(reader.unpack("<Q")[0]).decode() for _ in range(name_count)]
    return dict(zip(names, arrays, strict=True))


def _read_array(reader: _Reader) -> npt.NDArray[Any]:
    (magic,) = reader.unpack("<I")
    if magic not in (_V1_MAGIC, _V2_MAGIC, _V3_MAGIC):
        raise ValueError(f"an array of unsupported layout (magic {magic:#x})")
    if magic != _V1_MAGIC:
        (storage,) = reader.unpack("<i")
        if storage != _DENSE:
            raise ValueError(f"sparse NDArrays (storage type {storage}) are not read")
    (ndim,) = reader.unpack("<I")
    shape = reader.unpack(f"<{ndim}q")
    reader.unpack("<ii")  # the device the array was saved from: irrelevant once on disk
    (flag,) = reader.unpack("<i")
    dtype = _DTYPES.get(flag)
    if dtype is None:
        raise ValueError(f"an array of unknown dtype flag {flag}")
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return np.frombuffer(reader.take(size), dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ValueError("the NDArray file is cut short")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, layout: str) -> tuple[Any, ...]:
        return struct.unpack(layout, self.take(struct.calcsize(layout)))
