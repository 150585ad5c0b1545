"""Pipe input mode: channels streamed through a FIFO per epoch, by ``engine.pipes`` alone and through the engine."""

from __future__ import annotations

import gzip
import json
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sageforge.engine.channels import StagedObject, host_share, plan_channel
from sageforge.engine.pipes import ChannelPipes
from sageforge.engine.training import TrainingEngine
from sageforge.engine.workload import ChannelSpec, S3Location, TrainingWorkload
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.objects.filesystem import FilesystemObjectStore
from tests.engine.support import RecordingListener, eventually, get, messages, put, stream_names, tar_members

MakeWorkload = Callable[..., TrainingWorkload]

# Reads `<channel>_<epoch>` for `epochs` epochs and saves what came through; with `hold`, reads one byte of
# epoch 0 and then waits with the FIFO open, to be stopped.
PIPE_SCRIPT = r"""
import json, os, pathlib, signal, sys

base = pathlib.Path(os.environ["SAGEMAKER_BASE_DIR"])
hp = json.loads((base / "input" / "config" / "hyperparameters.json").read_text())
host = json.loads((base / "input" / "config" / "resourceconfig.json").read_text())["current_host"]
data = base / "input" / "data"
print("entries:", json.dumps(sorted(p.name for p in data.iterdir())), flush=True)
if hp.get("hold"):
    with (data / "train_0").open("rb") as fifo:
        fifo.read(1)
        print("holding", flush=True)
        signal.pause()
for epoch in range(int(hp.get("epochs", "1"))):
    (base / "model" / f"{host}-{epoch}.bin").write_bytes((data / f"train_{epoch}").read_bytes())
"""


@pytest.fixture
def pipe_script(tmp_path: Path) -> Path:
    path = tmp_path / "pipe_train.py"
    path.write_text(PIPE_SCRIPT)
    return path


def pipe_channel(**fields: str) -> ChannelSpec:
    return ChannelSpec("train", S3Location("data", "train/"), input_mode="Pipe", **fields)  # type: ignore[arg-type]


def share(objects: FilesystemObjectStore, channel: ChannelSpec) -> tuple[StagedObject, ...]:
    return host_share(plan_channel(objects, channel, region="r", role_arn=None), channel, 0, 1)


@pytest.fixture
def pipes_for(objects: FilesystemObjectStore, tmp_path: Path) -> Iterator[Callable[..., ChannelPipes]]:
    """``pipes_for(channel, failures)``: started pipes under ``tmp_path/data``, closed at the end."""
    made: list[ChannelPipes] = []

    def make(channel: ChannelSpec, failures: list[str] | None = None) -> ChannelPipes:
        data_dir = tmp_path / "data"
        data_dir.mkdir(exist_ok=True)
        sink = failures if failures is not None else []
        pipes = ChannelPipes(objects, data_dir, [(channel, share(objects, channel))], sink.append)
        pipes.start("test-pipe")
        made.append(pipes)
        return pipes

    yield make
    for pipes in made:
        pipes.close()


def pipe_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if "-pipe" in thread.name]


def test_each_epoch_carries_the_channel_in_key_order(
    objects: FilesystemObjectStore, pipes_for: Callable[..., ChannelPipes], tmp_path: Path
) -> None:
    put(objects, "data", "train/b.csv", b"two\n")
    put(objects, "data", "train/a.csv", b"one\n")
    pipes = pipes_for(pipe_channel())
    data = tmp_path / "data"
    assert sorted(os.listdir(data)) == ["train_0"] and (data / "train_0").is_fifo()
    assert (data / "train_0").read_bytes() == b"one\ntwo\n"
    assert (data / "train_1").is_fifo()  # there as soon as epoch 0 has ended
    eventually(lambda: not (data / "train_0").exists())
    assert (data / "train_1").read_bytes() == b"one\ntwo\n"
    pipes.close()
    assert os.listdir(data) == []
    assert pipe_threads() == []


def test_gzip_is_decompressed_and_records_are_wrapped(
    objects: FilesystemObjectStore, pipes_for: Callable[..., ChannelPipes], tmp_path: Path
) -> None:
    put(objects, "data", "train/a.gz", gzip.compress(b"abcde"))
    pipes_for(pipe_channel(compression="Gzip", record_wrapper="RecordIO"))
    # MXNet RecordIO: magic, length, the payload padded to 4 bytes.
    assert (tmp_path / "data" / "train_0").read_bytes() == struct.pack("<II", 0xCED7230A, 5) + b"abcde\0\0\0"


def test_a_bad_object_is_reported(
    objects: FilesystemObjectStore, pipes_for: Callable[..., ChannelPipes], tmp_path: Path
) -> None:
    put(objects, "data", "train/a.gz", b"not gzip")
    failures: list[str] = []
    pipes_for(pipe_channel(compression="Gzip"), failures)
    (tmp_path / "data" / "train_0").read_bytes()
    eventually(lambda: bool(failures))
    assert failures[0].startswith('ClientError: Unable to decompress "s3://data/train/a.gz" as gzip: ')


def test_close_stops_a_writer_blocked_on_a_slow_reader(
    objects: FilesystemObjectStore, pipes_for: Callable[..., ChannelPipes], tmp_path: Path
) -> None:
    put(objects, "data", "train/big", os.urandom(4 * 1024 * 1024))
    pipes = pipes_for(pipe_channel())
    with (tmp_path / "data" / "train_0").open("rb") as fifo:
        assert len(fifo.read(10)) == 10  # the rest does not fit the pipe: the writer waits
        pipes.close()
    assert pipe_threads() == []
    assert os.listdir(tmp_path / "data") == []


def test_close_without_a_reader(objects: FilesystemObjectStore, pipes_for: Callable[..., ChannelPipes]) -> None:
    put(objects, "data", "train/a", b"x")
    pipes_for(pipe_channel()).close()
    assert pipe_threads() == []


def run(engine: TrainingEngine, workload: TrainingWorkload) -> RecordingListener:
    listener = RecordingListener()
    engine.submit(workload, listener)
    listener.wait()
    return listener


def test_a_job_reads_its_shard_through_fifos(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload, pipe_script: Path
) -> None:
    for n in range(5):
        put(objects, "data", f"train/{n}.csv", f"{n}\n".encode())
    workload = make_workload(
        instance_count=2,
        command=(sys.executable, str(pipe_script)),
        hyperparameters={"epochs": "2"},
        channels=(pipe_channel(distribution="ShardedByS3Key"),),
    )
    outcome = run(engine, workload).outcome
    assert outcome is not None and outcome.status == "Completed", outcome
    model = tar_members(get(objects, "models", f"out/{workload.job_name}/output/model.tar.gz"))
    assert model == {
        "algo-1-0.bin": b"0\n2\n4\n",
        "algo-1-1.bin": b"0\n2\n4\n",
        "algo-2-0.bin": b"1\n3\n",
        "algo-2-1.bin": b"1\n3\n",
    }
    assert pipe_threads() == []


def test_inputdataconfig_says_pipe_and_nothing_is_staged(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload, pipe_script: Path
) -> None:
    put(objects, "data", "train/a", b"x")
    workload = make_workload(command=(sys.executable, "-c", _SHOW_CONFIG), channels=(pipe_channel(),))
    listener = RecordingListener()
    engine.submit(workload, listener)
    assert listener.wait().status == "Completed"
    model = tar_members(get(objects, "models", f"out/{workload.job_name}/output/model.tar.gz"))
    assert json.loads(model["inputdataconfig.json"])["train"]["TrainingInputMode"] == "Pipe"
    assert json.loads(model["entries.json"]) == ["train_0"]


_SHOW_CONFIG = """
import json, os, pathlib, shutil
base = pathlib.Path(os.environ["SAGEMAKER_BASE_DIR"])
shutil.copy(base / "input" / "config" / "inputdataconfig.json", base / "model")
(base / "model" / "entries.json").write_text(json.dumps(sorted(os.listdir(base / "input" / "data"))))
"""


def test_a_stream_error_fails_the_job(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload, pipe_script: Path
) -> None:
    put(objects, "data", "train/a.gz", b"not gzip")
    workload = make_workload(command=(sys.executable, str(pipe_script)), channels=(pipe_channel(compression="Gzip"),))
    outcome = run(engine, workload).outcome
    assert outcome is not None and outcome.status == "Failed"
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith('ClientError: Unable to decompress "s3://data/train/a.gz" as gzip')


def test_stop_mid_stream_leaves_nothing_behind(
    engine: TrainingEngine,
    objects: FilesystemObjectStore,
    logs: SqlLogStore,
    make_workload: MakeWorkload,
    pipe_script: Path,
) -> None:
    put(objects, "data", "train/big", os.urandom(4 * 1024 * 1024))
    workload = make_workload(
        command=(sys.executable, str(pipe_script)), hyperparameters={"hold": "1"}, channels=(pipe_channel(),)
    )
    listener = RecordingListener()
    engine.submit(workload, listener)
    # The instance has read a byte and holds the FIFO open; the writer waits on the full pipe.
    eventually(
        lambda: any("holding" in messages(logs, stream) for stream in stream_names(logs, f"{workload.job_name}/"))
    )
    assert any(name.startswith(f"sageforge-{workload.job_name}-algo-1-pipe") for name in pipe_threads())
    assert engine.stop(workload.job_name)
    assert listener.wait().status == "Stopped"
    eventually(lambda: engine.running() == [])
    assert pipe_threads() == []
