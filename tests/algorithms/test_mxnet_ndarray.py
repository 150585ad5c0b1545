"""MXNet's NDArray file: the exact bytes of a list and a dict, round trips, and what is refused."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sageforge.algorithms.formats import mxnet_ndarray


def test_a_list_of_one_array_has_mxnets_layout() -> None:
    array = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
    expected = (
        struct.pack("<QQQ", 0x112, 0, 1)
        + struct.pack("<IiI", 0xF993FAC9, 0, 2)
        + struct.pack("<qq", 3, 2)
        + struct.pack("<iii", 1, 0, 0)
        + array.tobytes()
        + struct.pack("<Q", 0)
    )
    assert mxnet_ndarray.write([array]) == expected
    (read,) = mxnet_ndarray.read(expected)
    np.testing.assert_array_equal(read, array)


def test_a_dict_keeps_its_names_and_dtypes() -> None:
    arrays = {
        "mean": np.arange(3, dtype=np.float32).reshape(1, 3),
        "v": np.arange(6, dtype=np.float64).reshape(3, 2),
        "s": np.array([7, 9], dtype=np.int32),
    }
    read = mxnet_ndarray.read(mxnet_ndarray.write(arrays))
    assert isinstance(read, dict) and list(read) == ["mean", "v", "s"]
    for name, array in arrays.items():
        assert read[name].dtype == array.dtype
        np.testing.assert_array_equal(read[name], array)


def test_a_version_1_array_is_read() -> None:
    data = (
        struct.pack("<QQQ", 0x112, 0, 1)
        + struct.pack("<II", 0xF993FAC8, 1)
        + struct.pack("<q", 2)
        + struct.pack("<iii", 1, 0, 1)
        + np.array([1.5, 2.5]).tobytes()
        + struct.pack("<Q", 0)
    )
    (read,) = mxnet_ndarray.read(data)
    np.testing.assert_array_equal(read, [1.5, 2.5])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04" + bytes(20), "not an MXNet NDArray file"),
        (mxnet_ndarray.write([np.ones((2, 2), dtype=np.float32)])[:-12], "cut short"),
    ],
)
def test_other_bytes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mxnet_ndarray.read(data)


def test_an_unsupported_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="no complex128 arrays"):
        mxnet_ndarray.write([np.ones(2, dtype=np.complex128)])
