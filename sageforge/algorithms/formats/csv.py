"""CSV training data: label in the first column, no header, delimiter sniffed from each file's first line.

With `has_weights` the second column is the instance weight (XGBoost's `csv_weights=1`). Empty fields (and
`nan`, `NA`, `null`, ...) are missing values. A non-numeric field or a row whose field count differs from
the file's first row is a UserError naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from sageforge.algorithms.base import UserError
from sageforge.algorithms.formats import LabeledData, decode_text, read_bytes

# Restricting the sniffer's candidates stops it from choosing a digit or `.` on purely numeric lines.
_DELIMITERS = ",\t;| "
_MISSING = ("", "NA", "N/A", "nan", "NaN", "NAN", "null", "NULL", "None")


def read_csv(paths: Sequence[Path], *, has_weights: bool = False) -> LabeledData:
    """All rows of `paths`, in order; every file must have the same number of columns."""
    blocks: list[npt.NDArray[np.float32]] = []
    width_source: Path | None = None
    for path in paths:
        block = read_csv_file(path)
        if block.shape[0] == 0:
            continue
        if blocks and block.shape[1] != blocks[0].shape[1]:
            raise UserError(f"{path}: rows have {block.shape[1]} columns but {width_source} has {blocks[0].shape[1]}")
        width_source = width_source or path
        blocks.append(block)
    matrix = np.vstack(blocks) if blocks else np.empty((0, 2 if has_weights else 1), dtype=np.float32)
    label_columns = 2 if has_weights else 1
    if matrix.shape[1] < label_columns:
        raise UserError(f"{width_source}: csv_weights=1 needs a label and a weight column before the features")
    return LabeledData(
        features=matrix[:, label_columns:],
        labels=matrix[:, 0].copy(),
        weights=matrix[:, 1].copy() if has_weights else None,
    )


def read_csv_file(path: Path) -> npt.NDArray[np.float32]:
    """One file as a float32 matrix (label and weight columns included); blank lines are skipped."""
    return parse_csv(read_bytes(path), path)


def parse_csv(raw: bytes, path: Path) -> npt.NDArray[np.float32]:
    """CSV bytes (a file's, or a Pipe-mode stream's) as `read_csv_file` reads them; `path` names them in errors."""
    first = next((line for line in raw[:65536].splitlines() if line.strip()), None)
    if first is None:
        return np.empty((0, 0), dtype=np.float32)
    delimiter = sniff_delimiter(first.decode("utf-8-sig", errors="replace"), path)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep=delimiter,
            header=None,
            dtype=np.float32,
            keep_default_na=False,
            na_values=list(_MISSING),
            skip_blank_lines=True,
            encoding="utf-8-sig",
        )
    except (ValueError, pd.errors.ParserError):
        # pandas does not say where; the slow parse finds the offending line (or copes with what pandas rejects).
        text = decode_text(raw, path)
        _check_field_counts(text, delimiter, path)
        return _parse_lines(text, delimiter, path)
    matrix = np.asarray(frame, dtype=np.float32)
    # pandas pads a short row with missing values; the file's delimiter count shows whether any row was short
    # (a long row already failed above), and only then is it walked line by line to name the row.
    if raw.count(delimiter.encode()) != matrix.shape[0] * (matrix.shape[1] - 1):
        _check_field_counts(decode_text(raw, path), delimiter, path)
    return matrix


def sniff_delimiter(line: str, path: Path) -> str:
    """The delimiter of `line` as Python's csv.Sniffer finds it (what the SageMaker container does)."""
    try:
        return csv.Sniffer().sniff(line, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        if not any(delimiter in line.strip() for delimiter in _DELIMITERS):
            return ","  # a single column: any delimiter reads it the same way
        raise UserError(f"{path}: could not determine the delimiter of line 1: {line[:50]!r}") from None


def _check_field_counts(text: str, delimiter: str, path: Path) -> None:
    expected, first_number = 0, 0
    for number, line in enumerate(io.StringIO(text), start=1):
        if not line.strip():
            continue
        count = line.rstrip("\r\n").count(delimiter) + 1
        if not expected:
            expected, first_number = count, number
        elif count != expected:
            raise UserError(
                f"{path}: line {number} has {count} fields but line {first_number} has {expected} "
                f"(delimiter {delimiter!r})"
            )


def _parse_lines(text: str, delimiter: str, path: Path) -> npt.NDArray[np.float32]:
    rows: list[list[float]] = []
    for number, line in enumerate(io.StringIO(text), start=1):
        if not line.strip():
            continue
        row: list[float] = []
        for column, field in enumerate(line.rstrip("\r\n").split(delimiter), start=1):
            value = field.strip()
            if value in _MISSING:
                row.append(float("nan"))
                continue
            try:
                row.append(float(value))
            except ValueError:
                raise UserError(f"{path}: line {number}, column {column}: {value[:50]!r} is not a number") from None
        rows.append(row)
    return np.asarray(rows, dtype=np.float32)
