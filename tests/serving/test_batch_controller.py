"""The batch controller without the API: real replica processes, the object and log stores, and this module
as their inference module (``model_fn`` / ``transform_fn`` below), which answers what a request's records ask.

Text records (one per line) are answered ``<pid>:<RECORD>`` per line, unless they say ``sleep:<s>`` (answer
after a while), ``status:<code>`` (fail with that status), ``flaky`` (503 the first time this replica sees it),
``env`` (the batch variables the replica got) or ``exit`` (the replica dies). ``application/x-recordio`` and
``application/x-tfrecord`` bodies are answered one line per framed record, its payload reversed, so a test
sees the framing arrive intact.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from sageforge.algorithms.formats.recordio import frame, payloads
from sageforge.engine.backends import create_backend
from sageforge.engine.workload import S3Location
from sageforge.serving.batch.controller import TRANSFORM_LOG_GROUP, BatchController, TransformOutcome
from sageforge.serving.batch.sources import plan_inputs
from sageforge.serving.batch.spec import BatchStrategy, ExecutionParameters, TransformSpec
from sageforge.serving.runtime.contract import InferenceError
from sageforge.serving.spec import ModelSource
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.objects.base import ObjectAttributes, ObjectStore
from sageforge.store.objects.filesystem import FilesystemObjectStore

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "data"
_seen: set[bytes] = set()


# --- the stand-in model (runs inside the replicas) -------------------------------------------------------------


def model_fn(model_dir: str) -> str:
    if (Path(model_dir) / "broken").exists():
        raise ValueError("this model is broken on purpose")
    return "stand-in"


def transform_fn(model: str, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    if content_type == "application/x-recordio":
        return b"".join(payload[::-1] + b"\n" for payload in payloads(body)), "text/plain"
    if content_type == "application/x-tfrecord":
        return b"".join(data[::-1] + b"\n" for data in _tfrecords(body)), "text/plain"
    return b"".join(_answer(line) + b"\n" for line in body.splitlines() if line), "text/plain"


def _answer(line: bytes) -> bytes:
    if line.startswith(b"sleep:"):
        time.sleep(float(line.split(b":")[1]))
    elif line.startswith(b"status:"):
        raise InferenceError(int(line.split(b":")[1]), "failing as asked")
    elif line == b"flaky" and line not in _seen:
        _seen.add(line)
        raise InferenceError(503, "try again")
    elif line == b"exit":
        os._exit(3)
    elif line == b"env":
        return ";".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("SAGEMAKER_")).encode()
    return f"{os.getpid()}:".encode() + line.upper()


def _tfrecords(body: bytes) -> Iterator[bytes]:
    offset = 0
    while offset < len(body):
        (length,) = struct.unpack_from("<Q", body, offset)
        yield body[offset + 12 : offset + 12 + length]
        offset += 12 + length + 4


# --- the tests --------------------------------------------------------------------------------------------------


@dataclass
class Listener:
    parameters: ExecutionParameters | None = None
    outcome: TransformOutcome | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def on_started(self, at: float, parameters: ExecutionParameters) -> None:
        self.parameters = parameters

    def on_finished(self, outcome: TransformOutcome) -> None:
        self.outcome = outcome
        self.done.set()

    def wait(self, timeout: float = 30) -> TransformOutcome:
        assert self.done.wait(timeout), "the job did not end in time"
        assert self.outcome is not None
        return self.outcome


@dataclass
class Batch:
    controller: BatchController
    objects: ObjectStore
    logs: SqlLogStore

    def put(self, key: str, body: bytes) -> None:
        self.objects.put_object(BUCKET, key, io.BytesIO(body), ObjectAttributes())

    def output(self, key: str) -> bytes:
        return b"".join(self.objects.read_object(BUCKET, key))

    def outputs(self) -> list[str]:
        return [info.key for info in self.objects.list_objects(BUCKET, prefix="out/")]

    def spec(self, name: str, prefix: str = "in/", **given: Any) -> TransformSpec:
        inputs = plan_inputs(
            self.objects, S3Location(BUCKET, prefix), "S3Prefix", "None", region="us-east-1", role_arn=None
        )
        spec = TransformSpec(
            key=name,
            name=name,
            image="stand-in",
            command=(sys.executable, "-m", "sageforge.serving.runtime"),
            environment={"PYTHONPATH": str(ROOT), "SAGEFORGE_INFERENCE_MODULE": __name__},
            files=(),
            instance_type="ml.m5.large",
            instance_count=1,
            inputs=inputs,
            output=S3Location(BUCKET, "out"),
            content_type="text/plain",
            split_type="Line",
            startup_timeout=20,
        )
        return replace(spec, **given)

    def run(self, spec: TransformSpec) -> Listener:
        listener = Listener()
        self.controller.submit(spec, listener)
        listener.wait()
        return listener

    def data_log(self, job: str) -> list[str]:
        streams = self.logs.describe_log_streams(TRANSFORM_LOG_GROUP, prefix=f"{job}/").items
        return [
            event.message
            for stream in streams
            if stream.name.endswith("/data-log")
            for event in self.logs.get_log_events(TRANSFORM_LOG_GROUP, stream.name)
        ]

    def variables(self, key: str) -> dict[str, str]:
        """What an ``env`` record was answered: the replica's SAGEMAKER_ variables but its port and folder."""
        answer = self.output(key).decode().strip()
        found = dict(item.split("=", 1) for item in answer.split(";"))
        return {k: v for k, v in found.items() if k not in ("SAGEMAKER_BASE_DIR", "SAGEMAKER_BIND_TO_PORT")}


@pytest.fixture
def batch(database: Engine, tmp_path: Path) -> Iterator[Batch]:
    objects = FilesystemObjectStore(tmp_path / "objects", database)
    objects.create_bucket(BUCKET, "us-east-1")
    logs = SqlLogStore(database)
    controller = BatchController(objects, logs, create_backend("local"), tmp_path / "transform", stop_grace_seconds=2)
    yield Batch(controller, objects, logs)
    controller.shutdown()
    assert controller.replica_count() == 0, "replica processes outlived the controller"


def lines(body: bytes) -> list[str]:
    """The answered records without the answering process's id."""
    return [line.split(":", 1)[1] for line in body.decode().splitlines()]


def test_records_are_answered_in_input_order_with_requests_in_flight(batch: Batch) -> None:
    # Single records, four at a time, the early ones slowest: answers come back out of order.
    records = [f"sleep:{0.2 - n * 0.02:.2f}" if n < 10 else f"r{n}" for n in range(40)]
    batch.put("in/records.txt", "\n".join(records).encode())
    listener = batch.run(batch.spec("ordered", batch_strategy="SingleRecord", max_concurrent_transforms=4))
    assert listener.wait().status == "Completed", listener.wait().failure_reason
    assert listener.parameters == ExecutionParameters(4, 6, "SingleRecord")
    assert lines(batch.output("out/records.txt.out")) == [record.upper() for record in records]
    assert batch.data_log("ordered") == [
        "[sagemaker logs]: MaxConcurrentTransforms=4, MaxPayloadInMB=6, BatchStrategy=SINGLE_RECORD"
    ]


def test_settings_left_open_come_from_the_container_and_batch_variables_reach_it(batch: Batch) -> None:
    batch.put("in/env.txt", b"env\n")
    listener = batch.run(batch.spec("settled"))
    # sageforge's runtime answers /execution-parameters with its CPU count, MULTI_RECORD and 6 MB; settings the
    # job does not give are not passed to the container, as SageMaker does.
    assert listener.parameters == ExecutionParameters(os.cpu_count() or 1, 6, "MultiRecord")
    assert batch.variables("out/env.txt.out") == {"SAGEMAKER_BATCH": "true"}
    given = batch.spec("given", batch_strategy="MultiRecord", max_payload_in_mb=2, max_concurrent_transforms=3)
    assert batch.run(given).parameters == ExecutionParameters(3, 2, "MultiRecord")
    assert batch.variables("out/env.txt.out") == {
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_BATCH_STRATEGY": "MULTI_RECORD",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "3",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "2",
    }


@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_binary_records_reach_the_container_framed(batch: Batch, strategy: BatchStrategy) -> None:
    records = [b"first", b"second record", b"", b"x" * 33]
    batch.put("in/data.rec", b"".join(frame(record) for record in records))
    tfrecords = b"".join(struct.pack("<QI", len(r), 0) + r + b"\0\0\0\0" for r in records)
    batch.put("tf/data.tfrecord", tfrecords)
    recordio = batch.run(
        batch.spec("recordio", split_type="RecordIO", content_type="application/x-recordio", batch_strategy=strategy)
    )
    assert recordio.wait().status == "Completed", recordio.wait().failure_reason
    tfrecord = batch.run(
        batch.spec(
            "tfrecord", "tf/", split_type="TFRecord", content_type="application/x-tfrecord", batch_strategy=strategy
        )
    )
    assert tfrecord.wait().status == "Completed", tfrecord.wait().failure_reason
    expected = b"".join(record[::-1] + b"\n" for record in records)
    assert batch.output("out/data.rec.out") == batch.output("out/data.tfrecord.out") == expected


def test_instances_share_the_objects_each_object_on_one_instance(batch: Batch) -> None:
    for n in range(6):
        batch.put(f"in/part-{n}.txt", f"a{n}\nb{n}\n".encode())
    listener = batch.run(batch.spec("shared", instance_count=2, batch_strategy="SingleRecord"))
    assert listener.wait().status == "Completed", listener.wait().failure_reason
    answered_by = set()
    for n in range(6):
        answers = batch.output(f"out/part-{n}.txt.out").decode().splitlines()
        assert [answer.split(":")[1] for answer in answers] == [f"A{n}", f"B{n}"]
        processes = {answer.split(":")[0] for answer in answers}
        assert len(processes) == 1
        answered_by |= processes
    assert len(answered_by) == 2


def test_a_rejected_record_fails_its_object_and_the_others_are_stored(batch: Batch) -> None:
    batch.put("in/a.txt", b"one\ntwo\n")
    batch.put("in/b.txt", b"one\nstatus:415\nthree\n")
    batch.put("in/c.txt", b"three\n")
    outcome = batch.run(batch.spec("rejected", batch_strategy="SingleRecord")).wait()
    assert outcome.status == "Failed"
    assert (
        outcome.failure_reason == "ClientError: s3://data/in/b.txt: the model container answered 415: failing as asked"
    )
    assert batch.outputs() == ["out/a.txt.out", "out/c.txt.out"]
    assert "[sagemaker logs]: data/in/b.txt: the model container answered 415: failing as asked" in batch.data_log(
        "rejected"
    )


def test_server_errors_are_retried_as_model_client_config_says(batch: Batch) -> None:
    batch.put("in/flaky.txt", b"flaky\n")
    assert batch.run(batch.spec("retried")).wait().status == "Completed"
    once = batch.run(batch.spec("not-retried", invocation_max_retries=0)).wait()
    assert once.status == "Failed" and "answered 503: try again" in (once.failure_reason or "")


def test_stop_abandons_requests_in_flight_and_stores_nothing(batch: Batch) -> None:
    batch.put("in/slow.txt", b"sleep:30\n")
    listener = Listener()
    spec = batch.spec("stopped")
    batch.controller.submit(spec, listener)
    deadline = time.monotonic() + 20
    while listener.parameters is None:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.02)
    batch.controller.stop(spec.key)
    assert listener.wait(10).status == "Stopped"
    assert batch.outputs() == [] and batch.controller.replica_count() == 0


def test_a_replica_that_dies_fails_the_job(batch: Batch) -> None:
    batch.put("in/exit.txt", b"exit\n")
    outcome = batch.run(batch.spec("died")).wait()
    assert outcome.status == "Failed"
    assert "exited with code 3 while the job was transforming" in (outcome.failure_reason or "")


def test_a_model_that_does_not_load_fails_the_job_and_says_why_in_its_log(batch: Batch) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("broken"), io.BytesIO())
    batch.put("model/model.tar.gz", archive.getvalue())
    batch.put("in/a.txt", b"a\n")
    outcome = batch.run(batch.spec("broken", files=(ModelSource(BUCKET, "model/model.tar.gz"),))).wait()
    assert outcome.status == "Failed"
    assert (outcome.failure_reason or "").startswith(
        "ClientError: The model container did not pass the ping health check. Please check CloudWatch logs for this "
        "transform job. (The container exited with code 1."
    )
    [instance] = [
        s.name
        for s in batch.logs.describe_log_streams(TRANSFORM_LOG_GROUP, prefix="broken/").items
        if s.name.count("/") == 1
    ]
    messages = [event.message for event in batch.logs.get_log_events(TRANSFORM_LOG_GROUP, instance)]
    assert "Unable to load model: ValueError: this model is broken on purpose" in messages
