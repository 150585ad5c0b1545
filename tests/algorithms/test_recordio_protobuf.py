"""RecordIO-protobuf: byte-for-byte agreement with the SageMaker SDK's writers and readers (dense, sparse, labels,
every dtype), the fast path for records laid out alike against the general one, streams and files, records with
all their fields, protobuf's encoding rules, and the errors malformed data raises."""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from sagemaker.amazon.common import (
    read_records,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from sagemaker.amazon.record_pb2 import Record as SdkRecord
from sagemaker.deserializers import RecordDeserializer
from sagemaker.serializers import RecordSerializer

from sageforge.algorithms.formats import recordio_protobuf as rp
from sageforge.algorithms.formats.protobuf_wire import length_delimited, varint
from sageforge.algorithms.formats.recordio import MAGIC, frame

RNG = np.random.default_rng(11)


def sdk_dense(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


def sdk_sparse(features: Any, labels: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buffer, features, labels)
    return buffer.getvalue()


def sdk_records(data: bytes) -> list[Any]:
    return read_records(io.BytesIO(data))


def sdk_tensor(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value"))


def walked(data: bytes) -> rp.Matrix:
    """What the general path reads, as if no record were laid out like another."""
    return rp._assemble(*rp._row_tensors(*rp.payloads_in_place(memoryview(data)), 0), 0)


def assert_same_matrix(actual: rp.Matrix, expected: rp.Matrix) -> None:
    (features, labels), (expected_features, expected_labels) = actual, expected
    assert scipy.sparse.issparse(features) == scipy.sparse.issparse(expected_features)
    if scipy.sparse.issparse(features):
        features, expected_features = features.toarray(), expected_features.toarray()
    assert features.dtype == expected_features.dtype
    np.testing.assert_array_equal(features, expected_features)
    if expected_labels is None:
        assert labels is None
    else:
        assert labels is not None and labels.dtype == expected_labels.dtype
        np.testing.assert_array_equal(labels, expected_labels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("labelled", [True, False])
def test_dense_rows_round_trip_with_the_sdk(dtype: type, labelled: bool) -> None:
    features = (RNG.normal(size=(60, 7)) * 1000).astype(dtype)
    features[3, 2] = -5 if dtype == np.int64 else np.nan  # negative int32 varints take ten bytes
    labels = RNG.integers(0, 300, 60).astype(dtype) if labelled else None
    written = sdk_dense(features, labels)

    read_features, read_labels = rp.read_dense(written)
    # The SDK writes numpy's default integer as int32 tensors; they read back as int32.
    assert read_features.dtype == (np.int32 if dtype == np.int64 else dtype)
    np.testing.assert_array_equal(read_features, features)
    if labels is None:
        assert read_labels is None
    else:
        np.testing.assert_array_equal(read_labels, labels)
    assert read_features.flags.writeable
    assert_same_matrix(walked(written), (read_features, read_labels))

    assert rp.write_dense(features, labels) == written
    records = sdk_records(rp.write_dense(features, labels))
    np.testing.assert_array_equal([sdk_tensor(r.features["values"]).values for r in records], features)


def test_sparse_rows_round_trip_with_the_sdk() -> None:
    features = scipy.sparse.random(50, 300, density=0.05, format="lil", dtype=np.float32, random_state=3)
    features[4] = 0  # an empty row: no values, no keys, only its shape
    features[7, 299] = 2.5
    features = features.tocsr()
    features.data[0] = 0.0  # an explicit zero is kept, as a stored value
    labels = RNG.random(50).astype(np.float32)
    written = sdk_sparse(features, labels)

    read_features, read_labels = rp.read_matrix(written)
    assert scipy.sparse.isspmatrix_csr(read_features) and read_features.shape == (50, 300)
    np.testing.assert_array_equal(read_features.indptr, features.indptr)
    np.testing.assert_array_equal(read_features.indices, features.indices)
    np.testing.assert_array_equal(read_features.data, features.data)
    np.testing.assert_array_equal(read_labels, labels)

    assert rp.write_sparse(features, labels) == written
    record = sdk_records(written)[7]
    assert list(record.features["values"].float32_tensor.shape) == [300]
    with pytest.raises(ValueError, match="sparse tensors"):
        rp.read_dense(written)


def test_sdk_serializer_and_deserializer_agree() -> None:
    """What the SDK's predictors send (`RecordSerializer`) reads back; what is written, `RecordDeserializer` reads."""
    rows = RNG.random((4, 6))
    body = RecordSerializer().serialize(rows).read()
    np.testing.assert_array_equal(rp.read_dense(body)[0], rows)
    assert rp.read_dense(RecordSerializer().serialize(rows[0]).read())[0].shape == (1, 6)

    scores = RNG.random((4, 3)).astype(np.float32)
    answer = rp.write_dense_records({}, {"score": scores})
    records = RecordDeserializer().deserialize(io.BytesIO(answer), "application/x-recordio-protobuf")
    assert [list(record.label["score"].float32_tensor.values) for record in records] == scores.tolist()
    assert all(not record.features for record in records)


@pytest.mark.parametrize(
    ("labels", "dtype"),
    [
        (np.array([0, 1, 127, 3]), np.int32),  # one varint byte each: still read as one strided view
        (np.array([0, 1, 128, -1]), np.int32),  # varints of several bytes: read record by record
        (np.array([0.5, 1, 2, 3], dtype=np.float64), np.float64),
    ],
)
def test_labels_keep_their_dtype(labels: np.ndarray, dtype: type) -> None:
    features = RNG.random((4, 3)).astype(np.float32)
    written = sdk_dense(features, labels)
    assert rp.write_dense(features, labels) == written
    read_features, read_labels = rp.read_matrix(written)
    assert read_labels is not None and read_labels.dtype == dtype
    np.testing.assert_array_equal(read_labels, labels)
    assert_same_matrix(walked(written), (read_features, read_labels))


def test_records_laid_out_alike_then_differently_read_the_same() -> None:
    features = RNG.random((30, 5)).astype(np.float32)
    labels = RNG.random(30).astype(np.float32)
    alike = rp.write_dense(features, labels)
    # A uid on records 20.. changes their layout: the first 20 are read in one step, the rest record by record.
    records = [
        rp.Record({"values": rp.Tensor(row)}, {"values": rp.Tensor(label[None])}, uid=None if i < 20 else f"r{i}")
        for i, (row, label) in enumerate(zip(features, labels, strict=True))
    ]
    mixed = rp.write_records(records)
    assert mixed.startswith(alike[: len(alike) * 2 // 3])
    assert_same_matrix(rp.read_matrix(mixed), (features, labels))
    assert_same_matrix(rp.read_matrix(alike), (features, labels))
    parts, end = rp._read_whole_records(memoryview(mixed), 0)
    assert [part[0].shape[0] for part in parts] == [20, 10] and end == len(mixed)


def test_dense_and_sparse_records_together_make_a_csr_matrix() -> None:
    dense = np.array([[1.0, 0.0, np.nan]], dtype=np.float32)
    sparse = scipy.sparse.csr_matrix(np.array([[0.0, 4.0, 0.0]], dtype=np.float32))
    features, labels = rp.read_matrix(rp.write_dense(dense) + rp.write_sparse(sparse))
    assert scipy.sparse.isspmatrix_csr(features) and labels is None
    # A dense row's zeros are stored values (not missing), as its NaN is; the sparse row stores only its key.
    assert features.getrow(0).nnz == 3 and features.getrow(1).nnz == 1
    np.testing.assert_array_equal(features.toarray(), [[1.0, 0.0, np.nan], [0.0, 4.0, 0.0]])


def test_streams_and_files_read_in_chunks(tmp_path: Path) -> None:
    features = RNG.random((500, 4)).astype(np.float32)
    labels = RNG.integers(0, 2, 500).astype(np.float32)
    first, second = rp.write_dense(features[:300], labels[:300]), rp.write_dense(features[300:], labels[300:])
    (tmp_path / "part-0.pbr").write_bytes(first)
    (tmp_path / "part-1.pbr.gz").write_bytes(gzip.compress(second))
    # A chunk smaller than a record, and chunks that end inside records.
    for chunk_size in (17, 1000, 1 << 20):
        parts = list(rp.iter_matrices(io.BytesIO(first + second), chunk_size))
        assert_same_matrix(rp._stack(parts, rp._part_names(parts)), (features, labels))
    paths = sorted(tmp_path.iterdir())
    assert_same_matrix(rp.read_files(paths, chunk_size=999), (features, labels))

    (tmp_path / "part-2.pbr").write_bytes(rp.write_dense(features[:2, :3], labels[:2]))
    with pytest.raises(ValueError, match=r"part-2\.pbr: 3 features, but .*part-0\.pbr has 4"):
        rp.read_files(sorted(tmp_path.iterdir()))
    (tmp_path / "part-2.pbr").write_bytes(first[:-10])
    with pytest.raises(ValueError, match=r"part-2\.pbr: the data ends inside a RecordIO record"):
        rp.read_files(sorted(tmp_path.iterdir()))
    (tmp_path / "part-2.pbr").write_bytes(gzip.compress(first)[:-20])
    with pytest.raises(ValueError, match=r"part-2\.pbr: could not decompress gzip data"):
        rp.read_files(sorted(tmp_path.iterdir()))


def test_records_keep_every_field_both_ways() -> None:
    sdk = SdkRecord()
    sdk.features["source"].int32_tensor.values.extend([5, -7, 300])
    sdk.features["target"].int32_tensor.values.extend([1])
    sdk.features["values"].float64_tensor.values.extend([0.5, 2.0])
    sdk.features["values"].float64_tensor.keys.extend([1, 9])
    sdk.features["values"].float64_tensor.shape.extend([10])
    sdk.label["score"].float32_tensor.values.extend([0.25])
    sdk.uid, sdk.metadata, sdk.configuration = "id-1", "", '{"k": 1}'
    (record,) = rp.read_records(frame(sdk.SerializeToString()))
    assert (record.uid, record.metadata, record.configuration) == ("id-1", "", '{"k": 1}')
    assert set(record.features) == {"source", "target", "values"} and set(record.label) == {"score"}
    assert record.features["source"].values.dtype == np.int32
    np.testing.assert_array_equal(record.features["source"].values, [5, -7, 300])
    np.testing.assert_array_equal(record.features["values"].keys, [1, 9])
    assert record.features["values"].shape == (10,)
    assert record.label["score"].values.dtype == np.float32

    (again,) = sdk_records(rp.write_records([record]))
    assert again == sdk  # protobuf's equality: every field and map entry, whatever the entries' order
    assert rp.read_records(rp.write_records([rp.Record()])) == [rp.Record()]


def test_protobuf_encoding_rules_are_followed() -> None:
    """Unknown fields are skipped, unpacked repeated numbers accepted, the last of a repeated key or member wins."""
    unpacked = b"".join(b"\x0d" + struct.pack("<f", value) for value in (1.5, -2.0))
    tensor = length_delimited(2, unpacked)  # float32_tensor, its values unpacked
    entry = length_delimited(1, length_delimited(1, b"values") + length_delimited(2, tensor))
    stale = length_delimited(1, length_delimited(1, b"values") + length_delimited(2, length_delimited(3, b"")))
    unknown = bytes((15 << 3,)) + varint(300) + bytes((14 << 3 | 5,)) + b"abcd" + length_delimited(13, b"x")
    payload = stale + unknown + entry
    sdk = SdkRecord()
    sdk.ParseFromString(payload)
    assert list(sdk.features["values"].float32_tensor.values) == [1.5, -2.0]
    features, labels = rp.read_matrix(frame(payload))
    np.testing.assert_array_equal(features, [[1.5, -2.0]])
    assert labels is None


def test_payloads_split_in_parts_are_joined() -> None:
    """MXNet's writer cuts a payload where it holds the magic (4-byte aligned) and the reader puts it back."""
    magic_float = struct.unpack("<f", struct.pack("<I", MAGIC))[0]
    features = np.array([[1.0, magic_float, 2.0, magic_float]], dtype=np.float32)
    payload = rp.write_dense(features)[8:]
    cut = [i for i in range(0, len(payload), 4) if payload[i : i + 4] == struct.pack("<I", MAGIC)]
    assert len(cut) == 2
    pieces = [payload[: cut[0]], payload[cut[0] + 4 : cut[1]], payload[cut[1] + 4 :]]
    framed = b"".join(
        struct.pack("<II", MAGIC, len(piece) | flag << 29) + piece + b"\0" * (-len(piece) % 4)
        for piece, flag in zip(pieces, (1, 2, 3), strict=True)
    )
    data = framed + rp.write_dense(features)
    np.testing.assert_array_equal(rp.read_dense(data)[0], np.vstack([features, features]))


def test_an_empty_payload_holds_no_rows() -> None:
    features, labels = rp.read_matrix(b"")
    assert features.shape == (0, 0) and labels is None
    assert rp.write_dense(np.empty((0, 3), dtype=np.float32)) == b""


def _values(values: bytes, keys: bytes = b"", shape: bytes = b"", kind: int = 2) -> bytes:
    tensor = b"".join(length_delimited(n, v) for n, v in ((1, values), (2, keys), (3, shape)) if v)
    return length_delimited(1, length_delimited(1, b"values") + length_delimited(2, length_delimited(kind, tensor)))


ROW = struct.pack("<4f", 1, 2, 3, 4)
ROW64 = struct.pack("<4d", 1, 2, 3, 4)
GOOD = frame(_values(ROW))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01\x02\x03" * 4, "invalid RecordIO magic at byte 0"),
        (GOOD + GOOD[:-3], "the last 37 bytes are not a whole RecordIO record"),
        (GOOD + frame(b"\x0a\x40\x0a"), r"record 1: field 1 runs past the end of its message"),
        (GOOD + frame(b"\x0a\x80"), "record 1: a varint is cut short"),
        (GOOD + frame(b"\x0b"), "record 1: field 1 has wire type 3"),
        (GOOD + frame(b"\x00\x00"), "record 1: field number 0 is not valid"),
        (GOOD + frame(b"\x08\x01"), "record 1: Record field 1 has wire type 0"),
        (GOOD + frame(length_delimited(1, length_delimited(1, b"other"))), r"record 1: .*no features\['values'\]"),
        (GOOD + frame(_values(ROW[:12])), "record 1: 3 features, but record 0 has 4"),
        (GOOD + frame(_values(ROW64, kind=3)), "record 1: .* holds float64 values but record 0 holds float32"),
        (GOOD + frame(_values(ROW64, kind=3)) + GOOD, "record 2: .* holds float32 values but record 1 holds float64"),
        (GOOD + frame(_values(ROW[:6])), "record 1: the float32 values of features\\['values'\\] are cut short"),
        (GOOD + frame(_values(b"", kind=9)), r"record 1: features\['values'\] holds Bytes, not a tensor"),
        (
            GOOD + frame(_values(ROW[:4], keys=b"\x01")),
            "record 1: a sparse features\\['values'\\] tensor needs a shape",
        ),
        (GOOD + frame(_values(ROW[:4], keys=b"\x07", shape=b"\x04")), "record 1: a key of .* is not below 4"),
        (GOOD + frame(_values(ROW[:4], keys=b"\x01\x02", shape=b"\x04")), "different number of keys and values"),
        (GOOD + frame(_values(ROW, shape=b"\x05")), "record 1: features\\['values'\\] does not fill its shape"),
        (rp.write_dense(np.ones((2, 4), np.float32), np.ones(2, np.float32)) + GOOD, "record 2: .*no label"),
    ],
)
def test_malformed_data_is_a_value_error_naming_the_record(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rp.read_matrix(data)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rp.write_dense(np.ones(3, np.float32)), "features must be a matrix"),
        (lambda: rp.write_dense(np.ones((2, 3), np.float32), np.ones(3)), "labels must be a vector of 2 values"),
        (lambda: rp.write_dense(np.ones((2, 3), np.float16)), "float16 values cannot be written"),
        (lambda: rp.write_dense(np.full((1, 1), 2**40)), "integer values must be within int32"),
        (lambda: rp.write_sparse(np.ones((2, 2))), "features must be a scipy sparse matrix"),
    ],
)
def test_what_cannot_be_written_is_refused(call: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        call()
