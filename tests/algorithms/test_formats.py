"""Training-data readers: content types, channel files, CSV and libsvm."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from sageforge.algorithms.base import UserError
from sageforge.algorithms.formats import ContentType, DataFormat, data_files, parse_content_type
from sageforge.algorithms.formats.csv import read_csv
from sageforge.algorithms.formats.libsvm import read_libsvm


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/csv", ContentType(DataFormat.CSV)),
        ("csv", ContentType(DataFormat.CSV)),
        ("text/csv;label_size=1", ContentType(DataFormat.CSV, 1)),
        ("Text/CSV; label_size=0", ContentType(DataFormat.CSV, 0)),
        ("text/libsvm", ContentType(DataFormat.LIBSVM)),
        ("text/x-libsvm", ContentType(DataFormat.LIBSVM)),
        ("libsvm", ContentType(DataFormat.LIBSVM)),
        ("application/x-recordio-protobuf", ContentType(DataFormat.RECORDIO_PROTOBUF)),
    ],
)
def test_parse_content_type(value: str, expected: ContentType) -> None:
    assert parse_content_type(value) == expected


def test_unknown_content_type_is_a_user_error() -> None:
    with pytest.raises(UserError, match="application/json is not an accepted ContentType"):
        parse_content_type("application/json")


def test_data_files_are_recursive_sorted_and_skip_hidden(tmp_path: Path) -> None:
    for name in ("b.csv", "a/z.csv", "a/c.csv", ".hidden", "_SUCCESS", "_tmp/x.csv", ".cache/y.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1,2\n")
    assert [path.relative_to(tmp_path).as_posix() for path in data_files(tmp_path)] == ["a/c.csv", "a/z.csv", "b.csv"]
    assert data_files(tmp_path / "missing") == []


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|", " "])
def test_csv_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "data"
    path.write_text(f"1{delimiter}0.5{delimiter}2\n0{delimiter}1.5{delimiter}3\n\n")
    data = read_csv([path])
    np.testing.assert_array_equal(data.labels, [1, 0])
    np.testing.assert_array_equal(data.features, [[0.5, 2], [1.5, 3]])
    assert data.weights is None


def test_csv_weights_column_and_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("1,0.5,7,\n0,2,8,9\n")
    data = read_csv([path], has_weights=True)
    np.testing.assert_array_equal(data.labels, [1, 0])
    assert data.weights is not None
    np.testing.assert_array_equal(data.weights, [0.5, 2])
    np.testing.assert_array_equal(data.features, [[7, np.nan], [8, 9]])


def test_csv_files_are_concatenated_and_gzip_is_read(tmp_path: Path) -> None:
    (tmp_path / "part-1.csv").write_text("1,1,1\n")
    with gzip.open(tmp_path / "part-2.csv.gz", "wt") as compressed:
        compressed.write("0,2,2\n0,3,3\n")
    data = read_csv(data_files(tmp_path))
    np.testing.assert_array_equal(data.labels, [1, 0, 0])
    np.testing.assert_array_equal(data.features[:, 0], [1, 2, 3])


def test_csv_non_numeric_field_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3\n0,4,5\n1,oops,6\n")
    with pytest.raises(UserError, match=r"bad\.csv: line 3, column 2: 'oops' is not a number"):
        read_csv([path])


@pytest.mark.parametrize("row", ["1,2\n", "1,2,3,4\n"])
def test_csv_ragged_rows_name_file_and_line(tmp_path: Path, row: str) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("1,2,3\n0,4,5\n" + row)
    with pytest.raises(UserError, match=r"ragged\.csv: line 3 has \d fields but line 1 has 3"):
        read_csv([path])


def test_csv_files_of_different_widths_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,2,3\n")
    (tmp_path / "b.csv").write_text("1,2\n")
    with pytest.raises(UserError, match=r"b\.csv: rows have 2 columns"):
        read_csv(data_files(tmp_path))


def test_libsvm_labels_weights_and_sparse_features(tmp_path: Path) -> None:
    path = tmp_path / "data.libsvm"
    path.write_text("1:2.5 0:1.5 3:2  # comment\n\n0 1:-1\n")
    data = read_libsvm([path])
    np.testing.assert_array_equal(data.labels, [1, 0])
    assert data.weights is not None
    np.testing.assert_array_equal(data.weights, [2.5, 1])
    assert data.features.shape == (2, 4)
    np.testing.assert_array_equal(data.features.toarray(), [[1.5, 0, 0, 2], [0, -1, 0, 0]])
    assert data.qid is None


def test_libsvm_qid_and_gzip(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "rank.gz", "wt") as compressed:
        compressed.write("2 qid:1 1:0.5\n0 qid:1 2:1\n1 qid:2 1:1\n")
    data = read_libsvm(data_files(tmp_path))
    assert data.qid is not None
    np.testing.assert_array_equal(data.qid, [1, 1, 2])
    assert data.weights is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [("x 1:2", "label 'x' is not a number"), ("1 1-2", "'1-2' is not <index>:<value>"), ("1 a:2", "feature index 'a'")],
)
def test_libsvm_malformed_lines_name_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "bad.libsvm"
    path.write_text(f"1 0:1\n{line}\n")
    with pytest.raises(UserError, match=re.escape(f"bad.libsvm: line 2: {problem}")):
        read_libsvm([path])
