"""Training-data formats shared by the built-ins: content types, channel files, and the parsed result.

`parse_content_type` reads a channel's `ContentType` (case-insensitive, MIME parameters after `;`);
`data_files` lists what a channel directory holds the way SageMaker containers read it; `read_bytes`,
`read_text` and `open_data` read one file, gzip or not. The per-format readers (`csv`, `libsvm`) return
`LabeledData`; `recordio_protobuf` reads matrices (and raises ValueError, as it also serves inference).
Each algorithm decides which formats it accepts and what an unset content type means.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.base import UserError

_GZIP_MAGIC = b"\x1f\x8b"


class DataFormat(Enum):
    CSV = "csv"
    LIBSVM = "libsvm"
    PARQUET = "parquet"
    RECORDIO_PROTOBUF = "recordio-protobuf"


# Media types SageMaker's built-ins name in ContentType, including the containers' short forms.
_MEDIA_TYPES = {
    "csv": DataFormat.CSV,
    "text/csv": DataFormat.CSV,
    "libsvm": DataFormat.LIBSVM,
    "text/libsvm": DataFormat.LIBSVM,
    "text/x-libsvm": DataFormat.LIBSVM,
    "parquet": DataFormat.PARQUET,
    "application/x-parquet": DataFormat.PARQUET,
    "recordio-protobuf": DataFormat.RECORDIO_PROTOBUF,
    "application/x-recordio-protobuf": DataFormat.RECORDIO_PROTOBUF,
}


@dataclass(frozen=True)
class ContentType:
    """A parsed ContentType: the data format and the `label_size` parameter when one was given."""

    data_format: DataFormat
    label_size: int | None = None


def parse_content_type(value: str) -> ContentType:
    """Parse e.g. `text/csv; label_size=1`; an unknown media type or a malformed parameter is a UserError."""
    media_type, *parameters = (part.strip() for part in value.lower().split(";"))
    data_format = _MEDIA_TYPES.get(media_type)
    if data_format is None:
        accepted = ", ".join(_MEDIA_TYPES)
        raise UserError(f"{value} is not an accepted ContentType: {accepted}.")
    label_size: int | None = None
    for parameter in parameters:
        key, _, raw = parameter.partition("=")
        if key.strip() == "label_size":
            try:
                label_size = int(raw.strip().strip('"'))
            except ValueError:
                raise UserError(f"{value}: label_size must be an integer") from None
    return ContentType(data_format, label_size)


@dataclass(frozen=True)
class LabeledData:
    """Rows of one channel: `features` is a dense float32 array or a scipy CSR matrix.

    `weights` holds instance weights and `qid` ranking-group ids, when the data carries them.
    """

    features: Any  # numpy.ndarray (n, d) or scipy.sparse.csr_matrix (n, d); scipy ships no type stubs
    labels: npt.NDArray[np.float32]
    weights: npt.NDArray[np.float32] | None = None
    qid: npt.NDArray[np.int64] | None = None

    @property
    def num_rows(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])


def data_files(channel_dir: Path) -> list[Path]:
    """Every regular file under `channel_dir`, recursively, sorted by path.

    Names starting with `.` or `_` (in any path component) are not data: `_SUCCESS` markers, `.ipynb_checkpoints`,
    the SDK's `.amazon.manifest`. A missing directory holds no files.
    """
    if not channel_dir.is_dir():
        return []
    return sorted(
        path
        for path in channel_dir.rglob("*")
        if path.is_file() and not any(part.startswith((".", "_")) for part in path.relative_to(channel_dir).parts)
    )


def read_bytes(path: Path) -> bytes:
    """The bytes of `path`, gunzipped when it is gzip (recognised by content, not only by a `.gz` name)."""
    raw = path.read_bytes()
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise UserError(f"{path}: could not decompress gzip data: {error}") from None
    return raw


def open_data(path: Path) -> io.BufferedIOBase:
    """``path`` open for reading its bytes, gunzipped as they are read when it is gzip (see `read_bytes`)."""
    with path.open("rb") as probe:
        compressed = probe.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def read_text(path: Path) -> str:
    """The text of `path` (see `read_bytes`), decoded as UTF-8."""
    return decode_text(read_bytes(path), path)


def decode_text(raw: bytes, source: Path) -> str:
    """`raw` decoded as UTF-8; `source` (a file, or a Pipe-mode FIFO) names it in the error."""
    try:
        # utf-8-sig drops the byte-order mark some spreadsheet exports put first.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(f"{source}: not UTF-8 text (invalid byte at offset {error.start})") from None
