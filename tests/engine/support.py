"""Helpers for the engine's tests: a tiny training script, a recording listener, polling, store shortcuts."""

from __future__ import annotations

import io
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sageforge.engine.logs import TRAINING_LOG_GROUP
from sageforge.engine.status import TrainingOutcome
from sageforge.store.logs.base import NoSuchLogGroup
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.objects.base import NoSuchBucket, ObjectAttributes
from sageforge.store.objects.filesystem import FilesystemObjectStore

TIMEOUT = 20.0

# A training "algorithm" that follows the container contract using only the standard library. Its behaviour is
# chosen by hyperparameters: mode=train|fail|exit|wait, fail_host, code, failure, save_on_term, ignore_term.
TRAINING_SCRIPT = r"""
import json, os, pathlib, signal, sys

base = pathlib.Path(os.environ["SAGEMAKER_BASE_DIR"])
config = base / "input" / "config"
hp = json.loads((config / "hyperparameters.json").read_text())
host = json.loads((config / "resourceconfig.json").read_text())["current_host"]
model = base / "model"

def on_term(signum, frame):
    if hp.get("save_on_term"):
        (model / "saved-on-term.txt").write_text(host)
        sys.exit(0)
    if hp.get("ignore_term"):
        print("ignoring SIGTERM", flush=True)
        return
    sys.exit(128 + signum)

signal.signal(signal.SIGTERM, on_term)

data = base / "input" / "data"
files = {p.relative_to(data).as_posix(): p.read_text() for p in sorted(data.rglob("*")) if p.is_file()}
checkpoints = sorted(p.name for p in (base / "checkpoints").iterdir())
print("files:", json.dumps(sorted(files)))
print("to stderr", file=sys.stderr)
for epoch, rmse in enumerate([0.5, 0.25, 0.125]):
    print(f"[{epoch}]\ttrain-rmse:{rmse}\tvalidation-rmse:{rmse * 2}")

mode = hp.get("mode", "train")
if hp.get("fail_host", host) != host:
    mode = "wait"
if mode == "wait":
    print("waiting", flush=True)
    while True:
        signal.pause()

(model / "config").mkdir()
for name in ("hyperparameters.json", "inputdataconfig.json", "resourceconfig.json"):
    (model / "config" / name).write_text((config / name).read_text())
(model / f"data-{host}.json").write_text(json.dumps(files))
(model / f"env-{host}.json").write_text(json.dumps(dict(os.environ)))
(model / f"checkpoints-{host}.json").write_text(json.dumps(checkpoints))
(model / "model.txt").write_text(f"trained on {host}")
(base / "output" / "data" / "extra.txt").write_text("extra")
(base / "checkpoints" / f"ckpt-{host}.txt").write_text(f"checkpoint of {host}")

if mode == "fail":
    (base / "output" / "failure").write_text(hp.get("failure", "boom"))
    sys.exit(2)
if mode == "exit":
    sys.exit(int(hp["code"]))
print("done")
"""


@dataclass
class RecordingListener:
    """A ``TrainingListener`` that remembers every call."""

    statuses: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[tuple[str, float]] = field(default_factory=list)
    outcome: TrainingOutcome | None = None
    _condition: threading.Condition = field(default_factory=threading.Condition)

    def on_status(self, secondary_status: str, message: str, at: float) -> None:
        with self._condition:
            self.statuses.append((secondary_status, message))
            self._condition.notify_all()

    def on_metric(self, name: str, value: float, at: float) -> None:
        with self._condition:
            self.metrics.append((name, value))

    def on_finished(self, outcome: TrainingOutcome) -> None:
        with self._condition:
            self.outcome = outcome
            self._condition.notify_all()

    def wait(self, timeout: float = TIMEOUT) -> TrainingOutcome:
        with self._condition:
            assert self._condition.wait_for(lambda: self.outcome is not None, timeout), "job did not finish"
            assert self.outcome is not None
            return self.outcome

    def wait_for_status(self, status: str, timeout: float = TIMEOUT) -> None:
        with self._condition:
            reached = self._condition.wait_for(lambda: status in [seen for seen, _ in self.statuses], timeout)
            assert reached, f"status {status} not reached; saw {self.statuses}"

    def status_names(self) -> list[str]:
        with self._condition:
            return [status for status, _ in self.statuses]


def eventually(check: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Poll ``check`` until it holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def tar_members(data: bytes) -> dict[str, bytes]:
    """Regular files of a .tar.gz, by name."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        found: dict[str, bytes] = {}
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                found[member.name] = extracted.read()
        return found


def put(objects: FilesystemObjectStore, bucket: str, key: str, data: bytes) -> None:
    """Store an object, creating its bucket if needed."""
    try:
        objects.get_bucket(bucket)
    except NoSuchBucket:
        objects.create_bucket(bucket, "us-east-1")
    objects.put_object(bucket, key, io.BytesIO(data), ObjectAttributes())


def get(objects: FilesystemObjectStore, bucket: str, key: str) -> bytes:
    return b"".join(objects.read_object(bucket, key))


def keys(objects: FilesystemObjectStore, bucket: str) -> list[str]:
    return [info.key for info in objects.list_objects(bucket)]


def stream_names(logs: SqlLogStore, prefix: str) -> list[str]:
    """Training log streams whose name starts with ``prefix``."""
    try:
        return [stream.name for stream in logs.describe_log_streams(TRAINING_LOG_GROUP, prefix=prefix).items]
    except NoSuchLogGroup:
        return []


def messages(logs: SqlLogStore, stream: str) -> list[str]:
    return [event.message for event in logs.get_log_events(TRAINING_LOG_GROUP, stream)]
