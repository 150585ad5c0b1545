"""The first-party framework on its own: the container's failure contract, channel formats, metric lines and
their regexes, the model artifact, and the request and response encodings."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party import metric_definitions
from sageforge.algorithms.first_party.artifact import ModelArtifact, find_artifact, read_artifact, write_artifact
from sageforge.algorithms.first_party.channels import channel_format, load_channel
from sageforge.algorithms.first_party.container import Container, run_training
from sageforge.algorithms.first_party.gather import gather_shards
from sageforge.algorithms.first_party.log_lines import MetricLog
from sageforge.algorithms.first_party.request_bodies import decode_request
from sageforge.algorithms.first_party.response_bodies import ResponseFormat, encode_response, negotiate
from sageforge.algorithms.formats import DataFormat, data_files, recordio_protobuf
from sageforge.algorithms.linear_learner import LINEAR_LEARNER
from sageforge.serving.runtime.contract import InferenceError
from tests.algorithms.opt_ml import Channel, write_layout

PROTOBUF = "application/x-recordio-protobuf"


def _container(tmp_path: Path, channels: dict[str, Channel]) -> Container:
    return Container(write_layout(tmp_path, {}, channels))


def _run_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channels: dict[str, Channel], raised: Exception
) -> str:
    """Run a `train` that raises `raised` as Linear Learner's harness would, in a layout with `channels`; the
    failure file's reason."""
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(write_layout(tmp_path, {}, channels)))

    def train(container: Container) -> None:
        raise raised

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert run_training(LINEAR_LEARNER, train) == 1  # it sets up the 1P log format on the root logger
    finally:
        root.handlers[:], root.level = handlers, level
    return (tmp_path / "output" / "failure").read_text()


@pytest.mark.parametrize(
    ("raised", "reason"),
    [(UserError("bad input"), "ClientError: bad input"), (RuntimeError("broken"), "AlgorithmError: broken")],
)
def test_a_failure_is_written_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: Exception, reason: str
) -> None:
    assert _run_failing(tmp_path, monkeypatch, {"train": Channel(b"1,2\n")}, raised) == reason


@pytest.mark.parametrize(
    ("channels", "reason"),
    [
        ({"validation": Channel(b"1,2\n")}, "ClientError: Linear Learner needs a train channel"),
        (
            {"train": Channel(b"1,2\n"), "extra": Channel(b"1,2\n")},
            "ClientError: Channel extra is not supported by Linear Learner; use: train, validation, test",
        ),
    ],
)
def test_channels_are_checked_against_the_declaration_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channels: dict[str, Channel], reason: str
) -> None:
    assert _run_failing(tmp_path, monkeypatch, channels, AssertionError("train must not run")) == reason


def test_channel_formats_default_to_recordio_protobuf_and_to_the_algorithms_label_size(tmp_path: Path) -> None:
    container = _container(
        tmp_path,
        {
            "train": Channel(b"", content_type=None),
            "validation": Channel(b"", content_type="text/csv"),
            "test": Channel(b"", content_type="text/csv; label_size=0"),
        },
    )
    assert channel_format(container, "train", default_label_size=1).data_format is DataFormat.RECORDIO_PROTOBUF
    assert channel_format(container, "validation", default_label_size=1).label_size == 1
    assert channel_format(container, "test", default_label_size=1).label_size == 0


def test_a_format_the_1p_algorithms_do_not_read_is_a_client_error(tmp_path: Path) -> None:
    container = _container(tmp_path, {"train": Channel(b"", content_type="text/libsvm")})
    with pytest.raises(UserError, match="text/libsvm is not supported"):
        channel_format(container, "train", default_label_size=1)


def test_channels_load_csv_labels_and_sparse_recordio(tmp_path: Path) -> None:
    sparse = scipy.sparse.csr_matrix(np.array([[0, 2.0, 0], [1.0, 0, 0]], dtype=np.float32))
    container = _container(
        tmp_path,
        {
            "train": Channel(b"1,2,3,4\n5,6,7,8\n", content_type="text/csv;label_size=2"),
            "test": Channel(recordio_protobuf.write_sparse(sparse), content_type=None),
        },
    )
    csv = load_channel(container, "train", channel_format(container, "train", default_label_size=1))
    assert csv.labels is not None and csv.labels.tolist() == [[1, 2], [5, 6]]
    assert csv.features.tolist() == [[3, 4], [7, 8]]
    records = load_channel(container, "test", channel_format(container, "test", default_label_size=1))
    assert records.is_sparse and records.labels is None and (records.features != sparse).nnz == 0


def _pipe_container(tmp_path: Path, channels: dict[str, Channel]) -> Container:
    """A layout whose channels are Pipe mode: each one's data written once into its `<channel>_0` FIFO."""
    container = _container(tmp_path, {})
    config = {name: {"TrainingInputMode": "Pipe", "ContentType": c.content_type} for name, c in channels.items()}
    (tmp_path / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(config))
    for name, channel in channels.items():
        fifo = container.pipe_path(name, 0)
        fifo.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(fifo)
        threading.Thread(target=fifo.write_bytes, args=(channel.data,), daemon=True).start()
    return container


def test_pipe_channels_are_read_from_their_epoch_0_fifo(tmp_path: Path) -> None:
    dense = np.array([[1, 2], [3, 4]], dtype=np.float32)
    container = _pipe_container(
        tmp_path,
        {
            "train": Channel(b"1,2,3\n4,5,6\n", content_type="text/csv"),
            "test": Channel(recordio_protobuf.write_dense(dense, np.array([0, 1])), content_type=PROTOBUF),
        },
    )
    csv = load_channel(container, "train", channel_format(container, "train", default_label_size=1))
    assert csv.labels is not None and csv.labels.tolist() == [1, 4] and csv.features.tolist() == [[2, 3], [5, 6]]
    records = load_channel(container, "test", channel_format(container, "test", default_label_size=1))
    assert records.features.tolist() == dense.tolist() and records.labels is not None


def test_a_missing_pipe_is_a_client_error(tmp_path: Path) -> None:
    container = _container(tmp_path, {})
    (tmp_path / "input" / "config" / "inputdataconfig.json").write_text(
        json.dumps({"train": {"TrainingInputMode": "Pipe", "ContentType": "text/csv"}})
    )
    with pytest.raises(UserError, match="train_0 does not exist"):
        load_channel(container, "train", channel_format(container, "train", default_label_size=1))


def _host_layout(base: Path, host: str, files: dict[str, bytes]) -> Container:
    """algo-1 or algo-2 of two, with a sharded `train` and a replicated `test` channel holding `files`."""
    write_layout(base, {}, {"train": Channel(b"", file_name="_unused"), "test": Channel(b"t", file_name="t")})
    config = {
        "train": {"TrainingInputMode": "File", "S3DistributionType": "ShardedByS3Key"},
        "test": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"},
    }
    (base / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(config))
    (base / "input" / "config" / "resourceconfig.json").write_text(
        json.dumps({"current_host": host, "hosts": ["algo-1", "algo-2"]})
    )
    for name, data in files.items():
        (base / "input" / "data" / "train" / name).parent.mkdir(parents=True, exist_ok=True)
        (base / "input" / "data" / "train" / name).write_bytes(data)
    return Container(base)


def test_the_first_host_gathers_every_hosts_shards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SAGEFORGE_HOSTS", json.dumps({"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}))
    monkeypatch.setenv("SAGEFORGE_COLLECTIVE_PORT", str(port))
    leader = _host_layout(tmp_path / "algo-1", "algo-1", {"part-0": b"zero", "part-2": b"two"})
    other = _host_layout(tmp_path / "algo-2", "algo-2", {"part-1": b"one", "sub/part-3": b"three"})
    sent: list[bool] = []
    sender = threading.Thread(target=lambda: sent.append(gather_shards(other)))
    sender.start()
    assert gather_shards(leader)
    sender.join()
    assert sent == [False]
    train = tmp_path / "algo-1" / "input" / "data" / "train"
    assert {path.relative_to(train).as_posix(): path.read_bytes() for path in data_files(train)} == {
        "part-0": b"zero",
        "part-1": b"one",
        "part-2": b"two",
        "sub/part-3": b"three",
    }
    assert os.listdir(tmp_path / "algo-1" / "input" / "data" / "test") == ["t"]  # replicated: not sent


def test_metric_lines_read_by_the_regex_templates(caplog: pytest.LogCaptureFixture) -> None:
    log = MetricLog("algo-1")
    with caplog.at_level(logging.INFO, logger="sageforge.algorithms.first_party"):
        log.epoch(3, "validation", "mse_objective", "loss", np.float64(0.25))
        log.final("test", "binary_f_1.000", "score", 0.9)
        log.progress(40)
        log.throughput(1234.5)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "#quality_metric: host=algo-1, epoch=3, validation mse_objective <loss>=0.25",
        "#quality_metric: host=algo-1, test binary_f_1.000 <score>=0.9",
        "#progress_metric: host=algo-1, completed 40 % of epochs",
        "#throughput_metric: host=algo-1, train throughput=1234.5 records/second",
    ]
    definitions = [
        metric_definitions.quality_metric(
            "validation:objective_loss", "validation", r"\S+_objective", "loss", per_epoch=True
        ),
        metric_definitions.quality_metric("test:binary_f_beta", "test", r"binary_f_\S+", "score"),
        metric_definitions.PROGRESS,
        metric_definitions.THROUGHPUT,
    ]
    for definition, line, value in zip(definitions, lines, ("0.25", "0.9", "40", "1234.5"), strict=True):
        match = re.search(definition.regex, line)
        assert match is not None and match.group(1) == value
    # A final-value regex never reads a per-epoch line.
    final = metric_definitions.quality_metric("validation:mse", "validation", r"\S+_objective", "loss")
    assert re.search(final.regex, lines[0]) is None


def test_the_artifact_round_trips_and_refuses_other_algorithms(tmp_path: Path) -> None:
    artifact = ModelArtifact("kmeans", {"k": 3}, {"centroids": np.arange(6.0).reshape(3, 2)})
    path = write_artifact(tmp_path, "algo-1", artifact)
    assert path.name == "model_algo-1" and find_artifact(tmp_path) == path
    loaded = read_artifact(path, "kmeans")
    assert loaded.metadata == {"k": 3} and loaded.arrays["centroids"].tolist() == artifact.arrays["centroids"].tolist()
    with pytest.raises(ValueError, match="not pca"):
        read_artifact(path, "pca")


def test_requests_decode_every_documented_form() -> None:
    expected = [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]
    assert decode_request(b"1,0,2\n0,3,0\n", "text/csv", 3).tolist() == expected
    assert decode_request(b"9,1,0,2\n9,0,3,0", "text/csv; label_size=1", 3).tolist() == expected
    sparse = {
        "instances": [{"data": {"features": {"keys": [0, 2], "shape": [3], "values": [1, 2]}}}, {"features": [0, 3, 0]}]
    }
    decoded = decode_request(json.dumps(sparse).encode(), "application/json", 3)
    assert scipy.sparse.issparse(decoded) and decoded.toarray().tolist() == expected
    lines = b'{"features": [1, 0, 2]}\n{"data": {"features": {"values": [0, 3, 0]}}}\n'
    assert decode_request(lines, "application/jsonlines", 3).tolist() == expected
    records = recordio_protobuf.write_dense(np.array(expected, dtype=np.float32))
    assert decode_request(records, "application/x-recordio-protobuf", 3).tolist() == expected
    with pytest.raises(InferenceError) as caught:
        decode_request(b"1,2", "text/csv", 3, accepted=("application/json",))
    assert caught.value.status == 415


def test_accept_negotiation() -> None:
    supported = ("application/json", "application/jsonlines")
    assert negotiate("", supported, "application/json") == ResponseFormat("application/json")
    assert (
        negotiate("text/csv, application/jsonlines", supported, "application/json").media_type
        == "application/jsonlines"
    )
    assert negotiate("application/json; verbose=True", supported, "application/json").verbose
    with pytest.raises(InferenceError) as caught:
        negotiate("text/csv", supported, "application/json")
    assert caught.value.status == 406


def test_responses_encode_records_by_accept() -> None:
    records = [
        {"closest_cluster": 1, "distance_to_cluster": np.float32(0.5)},
        {"closest_cluster": 0, "distance_to_cluster": 2.0},
    ]
    as_json = encode_response(records, ResponseFormat("application/json"), wrapper="predictions")
    assert json.loads(as_json) == {
        "predictions": [
            {"closest_cluster": 1, "distance_to_cluster": 0.5},
            {"closest_cluster": 0, "distance_to_cluster": 2.0},
        ]
    }
    assert encode_response(records, ResponseFormat("text/csv"), wrapper="predictions") == b"1,0.5\n0,2.0\n"
    projections = [{"projection": np.array([0.1, 0.2])}]
    lines = encode_response(projections, ResponseFormat("application/jsonlines"), wrapper="projections")
    assert json.loads(lines) == {"projection": [0.1, 0.2]}
    body = encode_response(projections, ResponseFormat("application/x-recordio-protobuf"), wrapper="projections")
    (record,) = recordio_protobuf.read_records(body)
    assert record.label["projection"].values.tolist() == pytest.approx([0.1, 0.2])
