"""The engine end to end: a tiny training script run through the local backend against in-memory stores."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from sageforge.engine.errors import EngineShutDown, InvalidMetricDefinition, JobAlreadyRunning
from sageforge.engine.training import TrainingEngine
from sageforge.engine.workload import ChannelSpec, MetricDefinition, S3Location, TrainingWorkload
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.objects.filesystem import FilesystemObjectStore
from tests.engine.conftest import ENDPOINT
from tests.engine.support import RecordingListener, eventually, get, keys, messages, put, stream_names, tar_members

MakeWorkload = Callable[..., TrainingWorkload]
TRAIN_RMSE = MetricDefinition("train:rmse", r".*\[[0-9]+\].*#011train-rmse:([-+]?[0-9]*\.?[0-9]+).*")
VALIDATION_RMSE = MetricDefinition("validation:rmse", r".*\[[0-9]+\]#011.*validation-rmse:([0-9.]+)")


def run(engine: TrainingEngine, workload: TrainingWorkload) -> RecordingListener:
    listener = RecordingListener()
    engine.submit(workload, listener)
    listener.wait()
    return listener


def model_files(objects: FilesystemObjectStore, job: str) -> dict[str, bytes]:
    return tar_members(get(objects, "models", f"out/{job}/output/model.tar.gz"))


def log_streams(logs: SqlLogStore, job: str) -> list[str]:
    return stream_names(logs, f"{job}/")


def wrote(logs: SqlLogStore, job: str, line: str) -> bool:
    return any(line in messages(logs, stream) for stream in log_streams(logs, job))


class TestCompletedJob:
    @pytest.fixture
    def completed(
        self, engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
    ) -> tuple[TrainingWorkload, RecordingListener]:
        put(objects, "data", "train/a.csv", b"1,2\n")
        put(objects, "data", "train/sub/b.csv", b"3,4\n")
        put(objects, "data", "trainer.csv", b"not under train/")
        workload = make_workload(
            hyperparameters={"max_depth": "3", "objective": '"reg:squarederror"'},
            channels=(ChannelSpec("train", S3Location("data", "train/"), content_type="text/csv"),),
            metric_definitions=(TRAIN_RMSE, VALIDATION_RMSE),
            environment={"MY_SETTING": "on", "TRAINING_JOB_NAME": "cannot override"},
        )
        return workload, run(engine, workload)

    def test_outcome(self, completed: tuple[TrainingWorkload, RecordingListener]) -> None:
        workload, listener = completed
        outcome = listener.outcome
        assert outcome is not None
        assert (outcome.status, outcome.secondary_status, outcome.message) == (
            "Completed",
            "Completed",
            "Training job completed",
        )
        assert outcome.failure_reason is None
        assert outcome.model_artifact == f"s3://models/out/{workload.job_name}/output/model.tar.gz"
        assert outcome.training_start is not None and outcome.training_start <= outcome.at

    def test_statuses(self, completed: tuple[TrainingWorkload, RecordingListener]) -> None:
        assert completed[1].statuses == [
            ("Starting", "Launching requested ML instances"),
            ("Starting", "Preparing the instances for training"),
            ("Downloading", "Downloading input data"),
            ("Training", "Training image download completed. Training in progress."),
            ("Uploading", "Uploading generated training model"),
        ]

    def test_model_tarball(
        self, completed: tuple[TrainingWorkload, RecordingListener], objects: FilesystemObjectStore
    ) -> None:
        files = model_files(objects, completed[0].job_name)
        assert files["model.txt"] == b"trained on algo-1"
        assert json.loads(files["data-algo-1.json"]) == {"train/a.csv": "1,2\n", "train/sub/b.csv": "3,4\n"}

    def test_output_tarball(
        self, completed: tuple[TrainingWorkload, RecordingListener], objects: FilesystemObjectStore
    ) -> None:
        data = get(objects, "models", f"out/{completed[0].job_name}/output/output.tar.gz")
        assert tar_members(data) == {"extra.txt": b"extra"}

    def test_config_files(
        self, completed: tuple[TrainingWorkload, RecordingListener], objects: FilesystemObjectStore
    ) -> None:
        files = model_files(objects, completed[0].job_name)
        assert json.loads(files["config/hyperparameters.json"]) == {"max_depth": "3", "objective": '"reg:squarederror"'}
        assert json.loads(files["config/inputdataconfig.json"]) == {
            "train": {
                "ContentType": "text/csv",
                "TrainingInputMode": "File",
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None",
            }
        }
        assert json.loads(files["config/resourceconfig.json"]) == {
            "current_host": "algo-1",
            "current_instance_type": "ml.m5.large",
            "current_group_name": "homogeneousCluster",
            "hosts": ["algo-1"],
            "instance_groups": [
                {"instance_group_name": "homogeneousCluster", "instance_type": "ml.m5.large", "hosts": ["algo-1"]}
            ],
            "network_interface_name": "eth0",
        }

    def test_environment(
        self, completed: tuple[TrainingWorkload, RecordingListener], objects: FilesystemObjectStore
    ) -> None:
        workload = completed[0]
        environment = json.loads(model_files(objects, workload.job_name)["env-algo-1.json"])
        assert environment["MY_SETTING"] == "on"
        assert environment["TRAINING_JOB_NAME"] == workload.job_name
        assert environment["TRAINING_JOB_ARN"] == workload.job_arn
        assert environment["SAGEMAKER_BASE_DIR"].endswith("/algo-1")
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "S3_ENDPOINT_URL"):
            assert environment[name] == ENDPOINT
        assert environment["AWS_REGION"] == environment["AWS_DEFAULT_REGION"] == "us-east-1"
        assert (environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
        assert json.loads(environment["SAGEFORGE_HOSTS"]) == {"algo-1": "127.0.0.1"}
        assert int(environment["SAGEFORGE_COLLECTIVE_PORT"]) > 0
        assert environment["PATH"] == os.environ["PATH"]
        assert "PYTEST_CURRENT_TEST" not in environment

    def test_logs(self, completed: tuple[TrainingWorkload, RecordingListener], logs: SqlLogStore) -> None:
        job = completed[0].job_name
        [stream] = log_streams(logs, job)
        assert re.fullmatch(rf"{job}/algo-1-\d{{10}}", stream)
        lines = messages(logs, stream)
        stdout = [line for line in lines if line != "to stderr"]
        assert stdout == [
            'files: ["train/a.csv", "train/sub/b.csv"]',
            "[0]\ttrain-rmse:0.5\tvalidation-rmse:1.0",
            "[1]\ttrain-rmse:0.25\tvalidation-rmse:0.5",
            "[2]\ttrain-rmse:0.125\tvalidation-rmse:0.25",
            "done",
        ]
        assert "to stderr" in lines

    def test_metrics(self, completed: tuple[TrainingWorkload, RecordingListener]) -> None:
        listener = completed[1]
        assert listener.outcome is not None
        assert listener.outcome.final_metrics == {"train:rmse": 0.125, "validation:rmse": 0.25}
        assert [(o.name, o.value, o.host) for o in listener.outcome.metrics if o.name == "train:rmse"] == [
            ("train:rmse", 0.5, "algo-1"),
            ("train:rmse", 0.25, "algo-1"),
            ("train:rmse", 0.125, "algo-1"),
        ]
        assert listener.metrics == [(o.name, o.value) for o in listener.outcome.metrics]

    def test_the_work_directory_is_removed(
        self, completed: tuple[TrainingWorkload, RecordingListener], tmp_path: Path
    ) -> None:
        assert list((tmp_path / "work" / "training").iterdir()) == []


def test_manifest_channel(engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload) -> None:
    put(objects, "data", "raw/x/1.csv", b"one")
    put(objects, "data", "raw/2.csv", b"two")
    put(objects, "data", "raw/not-listed.csv", b"no")
    put(
        objects, "data", "lists/train.manifest", json.dumps([{"prefix": "s3://data/raw/"}, "x/1.csv", "2.csv"]).encode()
    )
    channel = ChannelSpec("train", S3Location("data", "lists/train.manifest"), data_type="ManifestFile")
    workload = make_workload(channels=(channel,))
    assert run(engine, workload).outcome.status == "Completed"  # type: ignore[union-attr]
    assert json.loads(model_files(objects, workload.job_name)["data-algo-1.json"]) == {
        "train/2.csv": "two",
        "train/x/1.csv": "one",
    }


def test_gzip_channel(engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload) -> None:
    put(objects, "data", "train/a.csv.gz", gzip.compress(b"1,2\n" * 100))
    workload = make_workload(channels=(ChannelSpec("train", S3Location("data", "train/"), compression="Gzip"),))
    run(engine, workload)
    assert json.loads(model_files(objects, workload.job_name)["data-algo-1.json"]) == {"train/a.csv": "1,2\n" * 100}


def test_two_instances_sharded_by_key(
    engine: TrainingEngine, objects: FilesystemObjectStore, logs: SqlLogStore, make_workload: MakeWorkload
) -> None:
    for n in range(5):
        put(objects, "data", f"train/{n}.csv", str(n).encode())
    put(objects, "data", "test/t.csv", b"t")
    workload = make_workload(
        instance_count=2,
        channels=(
            ChannelSpec("train", S3Location("data", "train/"), distribution="ShardedByS3Key"),
            ChannelSpec("test", S3Location("data", "test/")),
        ),
    )
    assert run(engine, workload).outcome.status == "Completed"  # type: ignore[union-attr]
    files = model_files(objects, workload.job_name)
    assert json.loads(files["data-algo-1.json"]) == {
        "test/t.csv": "t",
        "train/0.csv": "0",
        "train/2.csv": "2",
        "train/4.csv": "4",
    }
    assert json.loads(files["data-algo-2.json"]) == {"test/t.csv": "t", "train/1.csv": "1", "train/3.csv": "3"}
    # Both hosts wrote model.txt and config/; algo-1's copy is the one kept.
    assert files["model.txt"] == b"trained on algo-1"
    assert json.loads(files["config/resourceconfig.json"])["hosts"] == ["algo-1", "algo-2"]
    environment = json.loads(files["env-algo-2.json"])
    assert json.loads(environment["SAGEFORGE_HOSTS"]) == {"algo-1": "127.0.0.1", "algo-2": "127.0.0.1"}
    assert environment["SAGEMAKER_BASE_DIR"].endswith("/algo-2")
    assert [stream.split("/")[1].rsplit("-", 1)[0] for stream in log_streams(logs, workload.job_name)] == [
        "algo-1",
        "algo-2",
    ]


def test_failure_file_is_the_reason(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    workload = make_workload(hyperparameters={"mode": "fail", "failure": "AlgorithmError: bad input " + "x" * 2000})
    outcome = run(engine, workload).outcome
    assert outcome is not None
    assert (outcome.status, outcome.secondary_status, outcome.message) == ("Failed", "Failed", "Training job failed")
    assert outcome.failure_reason == ("AlgorithmError: bad input " + "x" * 2000)[:1024]
    assert outcome.model_artifact is None
    assert keys(objects, "models") == []


def test_non_zero_exit_without_failure_file(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    outcome = run(engine, make_workload(hyperparameters={"mode": "exit", "code": "3"})).outcome
    assert outcome is not None and outcome.status == "Failed"
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("AlgorithmError:") and "exit code 3" in outcome.failure_reason


def test_one_failed_instance_fails_the_job_and_stops_the_others(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    workload = make_workload(
        instance_count=2, hyperparameters={"mode": "fail", "fail_host": "algo-2", "failure": "algo-2 broke"}
    )
    outcome = run(engine, workload).outcome
    assert outcome is not None
    assert (outcome.status, outcome.failure_reason) == ("Failed", "algo-2 broke")


def test_empty_channel_fails_with_client_error(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "elsewhere/a.csv", b"x")
    listener = run(engine, make_workload(region="eu-west-1"))
    outcome = listener.outcome
    assert outcome is not None and outcome.status == "Failed"
    assert outcome.failure_reason == (
        'ClientError: No S3 objects found under S3 URL "s3://data/train/" given in input data source. Please '
        "ensure that the bucket exists in the selected region (eu-west-1), that objects exist under that S3 "
        'prefix, and that the role arn:aws:iam::000000000000:role/SageMakerRole has "s3:ListBucket" permissions '
        'on bucket "data".'
    )
    assert "Training" not in listener.status_names()


def test_max_runtime_exceeded_stops_and_keeps_the_model(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    workload = make_workload(max_runtime_seconds=1.0, hyperparameters={"mode": "wait", "save_on_term": "1"})
    listener = run(engine, workload)
    outcome = listener.outcome
    assert outcome is not None
    assert (outcome.status, outcome.secondary_status) == ("Stopped", "MaxRuntimeExceeded")
    assert outcome.training_start is not None and outcome.at - outcome.training_start >= 1.0
    assert listener.status_names()[-1] == "Stopping"
    assert model_files(objects, workload.job_name) == {"saved-on-term.txt": b"algo-1"}
    assert outcome.model_artifact == f"s3://models/out/{workload.job_name}/output/model.tar.gz"


def test_stop_mid_run(
    engine: TrainingEngine, objects: FilesystemObjectStore, logs: SqlLogStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    workload = make_workload(hyperparameters={"mode": "wait"})
    listener = RecordingListener()
    engine.submit(workload, listener)
    # The line arrives in the log store while the instance still runs: logs are live.
    eventually(lambda: wrote(logs, workload.job_name, "waiting"))
    assert engine.running() == [workload.job_name]
    assert engine.stop(workload.job_name)
    outcome = listener.wait()
    assert (outcome.status, outcome.secondary_status, outcome.message) == ("Stopped", "Stopped", "Training job stopped")
    assert outcome.model_artifact is None  # it saved nothing
    assert listener.statuses[-1] == ("Stopping", "Stopping the training job")
    assert engine.running() == []
    assert not engine.stop(workload.job_name)


def test_stop_kills_an_instance_that_ignores_sigterm(
    make_engine: Callable[..., TrainingEngine],
    objects: FilesystemObjectStore,
    logs: SqlLogStore,
    make_workload: MakeWorkload,
) -> None:
    engine = make_engine(stop_grace_seconds=0.2)
    put(objects, "data", "train/a.csv", b"x")
    workload = make_workload(hyperparameters={"mode": "wait", "ignore_term": "1"})
    listener = RecordingListener()
    engine.submit(workload, listener)
    eventually(lambda: wrote(logs, workload.job_name, "waiting"))  # its SIGTERM handler is in place
    engine.stop(workload.job_name)
    assert listener.wait().status == "Stopped"
    assert wrote(logs, workload.job_name, "ignoring SIGTERM")


def test_checkpoints_are_restored_and_saved(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    put(objects, "ckpt", "runs/1/previous.txt", b"earlier")
    workload = make_workload(checkpoint=S3Location("ckpt", "runs/1"))
    run(engine, workload)
    assert json.loads(model_files(objects, workload.job_name)["checkpoints-algo-1.json"]) == ["previous.txt"]
    assert keys(objects, "ckpt") == ["runs/1/ckpt-algo-1.txt", "runs/1/previous.txt"]
    assert get(objects, "ckpt", "runs/1/ckpt-algo-1.txt") == b"checkpoint of algo-1"


def test_checkpoints_are_saved_for_a_failed_job(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    objects.create_bucket("ckpt", "us-east-1")
    run(engine, make_workload(checkpoint=S3Location("ckpt", ""), hyperparameters={"mode": "fail"}))
    assert keys(objects, "ckpt") == ["ckpt-algo-1.txt"]


def test_a_missing_command_fails_the_job(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    outcome = run(engine, make_workload(command=("/nonexistent/train",))).outcome
    assert outcome is not None and outcome.status == "Failed"
    assert outcome.failure_reason is not None and outcome.failure_reason.startswith("AlgorithmError: cannot run")


def test_jobs_wait_for_cpus(
    make_engine: Callable[..., TrainingEngine], objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    engine = make_engine(cpus=2)
    put(objects, "data", "train/a.csv", b"x")
    first, second = RecordingListener(), RecordingListener()
    engine.submit(make_workload(job_name="first", hyperparameters={"mode": "wait"}), first)
    first.wait_for_status("Training")
    # An ml.m5.large asks for 2 vCPUs: none are free until "first" ends.
    engine.submit(make_workload(job_name="second"), second)
    eventually(lambda: engine.scheduler.waiting() == ["second"])
    assert second.status_names() == ["Starting"]
    engine.stop("first")
    assert second.wait().status == "Completed"
    assert engine.scheduler.held() == {}


def test_stop_while_waiting_for_cpus(
    make_engine: Callable[..., TrainingEngine], objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    engine = make_engine(cpus=1)
    put(objects, "data", "train/a.csv", b"x")
    first, second = RecordingListener(), RecordingListener()
    engine.submit(make_workload(job_name="first", hyperparameters={"mode": "wait"}), first)
    first.wait_for_status("Training")
    engine.submit(make_workload(job_name="second"), second)
    eventually(lambda: engine.scheduler.waiting() == ["second"])
    assert engine.stop("second")
    outcome = second.wait()
    assert (outcome.status, outcome.training_start, outcome.model_artifact) == ("Stopped", None, None)
    assert first.outcome is None


def test_a_job_bigger_than_the_machine_still_runs(
    make_engine: Callable[..., TrainingEngine], objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    outcome = run(make_engine(cpus=1), make_workload(instance_type="ml.m5.4xlarge", instance_count=2)).outcome
    assert outcome is not None and outcome.status == "Completed"


def test_submit_refusals(engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload) -> None:
    put(objects, "data", "train/a.csv", b"x")
    waiting = make_workload(hyperparameters={"mode": "wait"})
    listener = RecordingListener()
    engine.submit(waiting, listener)
    with pytest.raises(JobAlreadyRunning):
        engine.submit(waiting, RecordingListener())
    with pytest.raises(InvalidMetricDefinition):
        engine.submit(make_workload(metric_definitions=(MetricDefinition("m", "(["),)), RecordingListener())
    engine.shutdown(grace_seconds=0)
    assert listener.outcome is not None and listener.outcome.status == "Stopped"
    with pytest.raises(EngineShutDown):
        engine.submit(make_workload(), RecordingListener())


def test_a_failing_listener_does_not_break_the_job(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    class Grumpy(RecordingListener):
        def on_status(self, secondary_status: str, message: str, at: float) -> None:
            raise RuntimeError("listener bug")

    put(objects, "data", "train/a.csv", b"x")
    listener = Grumpy()
    engine.submit(make_workload(), listener)
    assert listener.wait().status == "Completed"


def test_a_missing_output_bucket_fails_the_job(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"x")
    outcome = run(engine, make_workload(output=S3Location("no-such-bucket", "out"))).outcome
    assert outcome is not None and outcome.status == "Failed"
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("ClientError: Unable to upload training artifacts (NoSuchBucket")
