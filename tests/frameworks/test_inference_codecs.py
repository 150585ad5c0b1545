"""The framework containers' default decoders and encoders (JSON, CSV, NPY), and content negotiation."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from sageforge.frameworks.inference import codecs
from sageforge.serving.runtime.contract import InferenceError


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[[1.5, 2], [3, 4]]", "application/json"),
        (b"1.5,2\n3,4\n", "text/csv"),
        (b"1.5,2\r\n3,4", "text/csv; charset=utf-8"),
        (_npy(np.array([[1.5, 2], [3, 4]])), "application/x-npy"),
    ],
)
def test_decoders_read_a_table(body: bytes, content_type: str) -> None:
    np.testing.assert_array_equal(codecs.decode(body, content_type), [[1.5, 2], [3, 4]])


def test_one_csv_row_is_a_one_row_table() -> None:
    assert codecs.decode(b"1,2,3\n", "text/csv").shape == (1, 3)


def test_npy_bodies_are_never_unpickled() -> None:
    with pytest.raises(InferenceError) as raised:
        codecs.decode(_npy(np.array([{"a": 1}], dtype=object)), "application/x-npy")
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [(b"x", "image/png", 415), (b"", "", 415), (b"1,a\n", "text/csv", 400), (b"{", "application/json", 400)],
)
def test_bad_requests(body: bytes, content_type: str, status: int) -> None:
    with pytest.raises(InferenceError) as raised:
        codecs.decode(body, content_type)
    assert raised.value.status == status


def test_encoders_write_each_type() -> None:
    prediction = np.array([[1.0, 2.5], [3.0, 4.0]], dtype=np.float32)
    assert json.loads(codecs.encode(prediction, "application/json")) == [[1.0, 2.5], [3.0, 4.0]]
    assert codecs.encode(prediction, "text/csv") == b"1.0,2.5\n3.0,4.0\n"
    assert codecs.encode(np.array([0, 1]), "text/csv") == b"0\n1\n"
    np.testing.assert_array_equal(np.load(io.BytesIO(codecs.encode(prediction, "application/x-npy"))), prediction)
    assert json.loads(codecs.encode({"scores": np.arange(2)}, "application/json")) == {"scores": [0, 1]}


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("image/png, text/csv;q=0.9", "text/csv"),
    ],
)
def test_negotiation(accept: str, chosen: str) -> None:
    assert codecs.negotiate(accept, "application/json") == chosen


def test_an_accept_of_only_unwritable_types_is_406() -> None:
    with pytest.raises(InferenceError) as raised:
        codecs.negotiate("image/png", "application/json")
    assert raised.value.status == 406
