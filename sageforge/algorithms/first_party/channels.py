"""A first-party algorithm's input channels: their content type, and their rows as features and labels.

A channel's `ContentType` in `inputdataconfig.json` names its format, case-insensitively: `text/csv` (label
first, no header; the `label_size` MIME parameter says how many leading columns are labels, defaulting to what
the algorithm says, and `label_size=0` means none) or `application/x-recordio-protobuf` (the
`features["values"]` tensor of each record, dense or sparse, and `label["values"]`, read by
`formats.recordio_protobuf` and converted to float32). A channel that names no type is RecordIO-protobuf,
since that is what the SDK's `record_set()` uploads without saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.container import Container
from sageforge.algorithms.formats import DataFormat, data_files, parse_content_type, recordio_protobuf

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
    """Every file of `channel` (dotfiles and `_`-files aside, gzip or not), in path order, as one data set."""
    files = data_files(container.channel_dir(channel))
    if data_format.data_format is DataFormat.CSV:
        return _read_csv(files, data_format.label_size)
    return _read_recordio_protobuf(files)


def _read_csv(files: Sequence[Path], label_size: int) -> ChannelData:
    # Imported here: the CSV reader's pandas takes most of a second to load, which RecordIO jobs need not pay.
    from sageforge.algorithms.formats.csv import read_csv_file

    blocks: list[npt.NDArray[np.float32]] = []
    for path in files:
        block = read_csv_file(path)
        if block.shape[0] == 0:
            continue
        if block.shape[1] <= label_size:
            raise UserError(f"{path}: rows have {block.shape[1]} columns, but label_size is {label_size}")
        if blocks and block.shape[1] != blocks[0].shape[1]:
            raise UserError(f"{path}: rows have {block.shape[1]} columns but {files[0]} has {blocks[0].shape[1]}")
        blocks.append(block)
    if not blocks:
        return ChannelData(np.empty((0, 0), dtype=np.float32), np.empty(0, dtype=np.float32) if label_size else None)
    matrix = np.vstack(blocks)
    features = np.ascontiguousarray(matrix[:, label_size:])
    if label_size == 0:
        return ChannelData(features, None)
    labels = matrix[:, 0].copy() if label_size == 1 else np.ascontiguousarray(matrix[:, :label_size])
    return ChannelData(features, labels)


def _read_recordio_protobuf(files: Sequence[Path]) -> ChannelData:
    if not files:
        return ChannelData(np.empty((0, 0), dtype=np.float32), None)
    try:
        features, labels = recordio_protobuf.read_files(files)
    except ValueError as error:
        raise UserError(f"Could not read RecordIO-protobuf data: {error}") from None
    # SageMaker's Linear Learner and FM refuse tensors other than float32; reading every type as float32
    # serves the algorithms that take them and costs the others nothing [INF].
    features = features.astype(np.float32, copy=False)
    return ChannelData(features, None if labels is None else labels.astype(np.float32, copy=False))
