"""Bring your own container: the ``docker run`` command the Docker backend builds for an instance, and a real
job through it where a Docker engine answers (skipped elsewhere)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sageforge.engine.backends.base import InstanceSpec
from sageforge.engine.backends.docker import DockerBackend, docker_run_argv
from sageforge.engine.errors import NoContainerBackend
from sageforge.engine.instance_types import instance_resources
from sageforge.engine.training import TrainingEngine
from sageforge.engine.workload import TrainingWorkload
from sageforge.store.objects.filesystem import FilesystemObjectStore
from tests.engine.support import RecordingListener, get, put, tar_members


def test_an_instance_runs_as_its_image_with_train_and_opt_ml_mounted(tmp_path: Path) -> None:
    spec = InstanceSpec(
        job_name="my job",
        host="algo-1",
        command=("train",),
        environment={
            "PATH": "/host/bin",
            "HOME": "/root",
            "SAGEMAKER_BASE_DIR": str(tmp_path),
            "TRAINING_JOB_NAME": "my job",
            "AWS_SECRET_ACCESS_KEY": "secret",
        },
        directory=tmp_path,
        resources=instance_resources("ml.m5.large"),
        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1",
    )
    cpus = str(min(2, os.cpu_count() or 1))
    assert docker_run_argv(spec) == [
        "docker", "run", "--rm", "--name", "sageforge-my-job-algo-1", "--network", "host", "--cpus", cpus,
        "--volume", f"{tmp_path}:/opt/ml",
        "--env", "AWS_SECRET_ACCESS_KEY", "--env", "SAGEMAKER_BASE_DIR", "--env", "TRAINING_JOB_NAME",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1", "train",
    ]  # fmt: skip


def test_without_a_docker_engine_the_backend_says_so(
    engine: TrainingEngine, make_workload: Callable[..., TrainingWorkload]
) -> None:
    assert DockerBackend(docker="/nonexistent/docker").available() is False
    # An engine given no container backend refuses a workload that runs its image.
    assert engine.runs_images() is False
    with pytest.raises(NoContainerBackend):
        engine.submit(make_workload(image="mine:1", runs_image=True, command=("train",)), RecordingListener())


@pytest.mark.skipif(not DockerBackend().available(), reason="no Docker engine answers here")
def test_a_job_runs_in_a_container(
    make_engine: Callable[..., TrainingEngine],
    objects: FilesystemObjectStore,
    make_workload: Callable[..., TrainingWorkload],
) -> None:
    put(objects, "data", "train/a.csv", b"1,2\n")
    engine = make_engine(container_backend=DockerBackend())
    script = "cat /opt/ml/input/data/train/a.csv > /opt/ml/model/seen.csv && echo trained in $TRAINING_JOB_NAME"
    workload = make_workload(image="busybox", runs_image=True, command=("sh", "-c", script))
    listener = RecordingListener()
    engine.submit(workload, listener)
    outcome = listener.wait(timeout=300)
    assert outcome.status == "Completed", outcome.failure_reason
    model = tar_members(get(objects, "models", f"out/{workload.job_name}/output/model.tar.gz"))
    assert model["seen.csv"] == b"1,2\n"
