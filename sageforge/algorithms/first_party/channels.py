"""A first-party algorithm's input channels: their content type, and their rows as features and labels.

A channel's `ContentType` in `inputdataconfig.json` names its format, case-insensitively: `text/csv` (label
first, no header; the `label_size` MIME parameter says how many leading columns are labels, defaulting to what
the algorithm says, and `label_size=0` means none) or `application/x-recordio-protobuf` (the
`features["values"]` tensor of each record, dense or sparse, and `label["values"]`, read by
`formats.recordio_protobuf` and converted to float32). A channel that names no type is RecordIO-protobuf,
since that is what the SDK's `record_set()` uploads without saying so.

A Pipe-mode channel (`TrainingInputMode: Pipe`) is read from its epoch-0 FIFO `input/data/<channel>_0`, to its
end, into memory once: the algorithms make their passes over the rows in memory, as they do in File mode, so
they never open the later epochs' FIFOs. On the first host of a multi-instance job the other hosts' streams
follow, from the channel's folder (`gather`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.container import Container
from sageforge.algorithms.formats import DataFormat, data_files, parse_content_type, read_bytes, recordio_protobuf

ACCEPTED_FORMATS = (DataFormat.CSV, DataFormat.RECORDIO_PROTOBUF)
_MEDIA_TYPES = {DataFormat.CSV: "text/csv", DataFormat.RECORDIO_PROTOBUF: "application/x-recordio-protobuf"}


@dataclass(frozen=True)
class ChannelFormat:
    data_format: DataFormat
    label_size: int  # leading CSV columns that are labels; RecordIO-protobuf keeps labels apart


@dataclass(frozen=True)
class ChannelData:
    """A channel's rows. `features` is a float32 ndarray (n, d) or a scipy CSR matrix (n, d); `labels` is
    (n,) for one label per row, (n, k) for k, None for a channel without labels."""

    features: Any  # numpy.ndarray or scipy.sparse.csr_matrix; scipy ships no type stubs
    labels: npt.NDArray[np.float32] | None

    @property
    def num_rows(self) -> int:
        return int(self.features.shape[0])

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])

    @property
    def is_sparse(self) -> bool:
        return not isinstance(self.features, np.ndarray)


def channel_format(container: Container, channel: str, *, default_label_size: int) -> ChannelFormat:
    """The format of `channel` as configured; UserError for a type the 1P algorithms do not read."""
    content_type = container.input_data_config[channel].get("ContentType")
    if not content_type:
        return ChannelFormat(DataFormat.RECORDIO_PROTOBUF, 0)
    parsed = parse_content_type(content_type)
    if parsed.data_format not in ACCEPTED_FORMATS:
        accepted = ", ".join(_MEDIA_TYPES[data_format] for data_format in ACCEPTED_FORMATS)
        raise UserError(f"Channel {channel}: content type {content_type} is not supported; use one of: {accepted}")
    label_size = default_label_size if parsed.label_size is None else parsed.label_size
    if label_size < 0:
        raise UserError(f"Channel {channel}: label_size must not be negative, got {label_size}")
    return ChannelFormat(parsed.data_format, label_size if parsed.data_format is DataFormat.CSV else 0)


def load_channel(container: Container, channel: str, data_format: ChannelFormat) -> ChannelData:
    """Every file of `channel` (dotfiles and `_`-files aside, gzip or not), in path order, as one data set; in
    Pipe mode, the epoch-0 stream."""
    if data_format.data_format is DataFormat.CSV:
        return _read_csv(container, channel, data_format.label_size)
    matrix = read_recordio_protobuf(container, channel)
    if matrix is None:
        return ChannelData(np.empty((0, 0), dtype=np.float32), None)
    features, labels = matrix
    # SageMaker's Linear Learner and FM refuse tensors other than float32; reading every type as float32
    # serves the algorithms that take them and costs the others nothing [INF].
    features = features.astype(np.float32, copy=False)
    return ChannelData(features, None if labels is None else labels.astype(np.float32, copy=False))


def load_rows(container: Container, channel: str, *, feature_dim: int | None, default_label_size: int) -> ChannelData:
    """`channel`'s rows, refused with a UserError when there are none, when they do not have `feature_dim`
    features (None: any number), or when a feature is missing or infinite."""
    data = load_channel(container, channel, channel_format(container, channel, default_label_size=default_label_size))
    if data.num_rows == 0:
        raise UserError(f"No data in the {channel} channel ({container.channel_dir(channel)})")
    if feature_dim is not None and data.num_features != feature_dim:
        raise UserError(
            f"feature_dim is {feature_dim} but the {channel} channel's rows have {data.num_features} features"
            + (" (a CSV channel's label_size leading columns are not features)" if default_label_size == 0 else "")
        )
    values = data.features.data if data.is_sparse else data.features
    if not np.all(np.isfinite(values)):
        raise UserError(f"The {channel} channel has missing or infinite feature values")
    return data


def as_float64(data: ChannelData) -> Any:
    """A channel's features as float64, dense or CSR: NumPy multiplies mixed precisions without BLAS, so the
    algorithms that compute in float64 convert once."""
    if data.is_sparse:
        return scipy.sparse.csr_matrix(data.features, dtype=np.float64)
    return np.asarray(data.features, dtype=np.float64)


def read_recordio_protobuf(container: Container, channel: str) -> recordio_protobuf.Matrix | None:
    """`channel`'s records as one matrix in their own tensor type; None when the channel holds no data."""
    try:
        if is_pipe(container, channel):
            # RecordIO framing makes concatenated streams one stream.
            raw = b"".join(part for _, part in _pipe_parts(container, channel))
            return recordio_protobuf.read_matrix(raw) if raw else None
        files = data_files(container.channel_dir(channel))
        return recordio_protobuf.read_files(files) if files else None
    except ValueError as error:
        raise UserError(f"Could not read RecordIO-protobuf data in the {channel} channel: {error}") from None


def is_pipe(container: Container, channel: str) -> bool:
    return container.input_data_config[channel].get("TrainingInputMode") == "Pipe"


def _pipe_parts(container: Container, channel: str) -> list[tuple[Path, bytes]]:
    """The epoch-0 stream, then the other hosts' streams the first host gathered (see `gather`), by source."""
    fifo = container.pipe_path(channel, 0)
    # Opened once and read to its end: the engine serves each epoch's FIFO once.
    try:
        parts = [(fifo, fifo.read_bytes())]
    except FileNotFoundError:
        raise UserError(f"Pipe-mode input {fifo} does not exist") from None
    return parts + [(path, read_bytes(path)) for path in data_files(container.channel_dir(channel))]


def _read_csv(container: Container, channel: str, label_size: int) -> ChannelData:
    # Imported here: the CSV reader's pandas takes most of a second to load, which RecordIO jobs need not pay.
    from sageforge.algorithms.formats.csv import parse_csv, read_csv_file

    if is_pipe(container, channel):
        parsed = [(source, parse_csv(raw, source)) for source, raw in _pipe_parts(container, channel)]
    else:
        parsed = [(path, read_csv_file(path)) for path in data_files(container.channel_dir(channel))]
    blocks: list[npt.NDArray[np.float32]] = []
    for path, block in parsed:
        if block.shape[0] == 0:
            continue
        if block.shape[1] <= label_size:
            raise UserError(f"{path}: rows have {block.shape[1]} columns, but label_size is {label_size}")
        if blocks and block.shape[1] != blocks[0].shape[1]:
            raise UserError(f"{path}: rows have {block.shape[1]} columns but {parsed[0][0]} has {blocks[0].shape[1]}")
        blocks.append(block)
    if not blocks:
        return ChannelData(np.empty((0, 0), dtype=np.float32), np.empty(0, dtype=np.float32) if label_size else None)
    matrix = np.vstack(blocks)
    features = np.ascontiguousarray(matrix[:, label_size:])
    if label_size == 0:
        return ChannelData(features, None)
    labels = matrix[:, 0].copy() if label_size == 1 else np.ascontiguousarray(matrix[:, :label_size])
    return ChannelData(features, labels)
