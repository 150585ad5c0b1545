"""A node lost under a running instance: a training job fails with the reason, and an endpoint's replica there
is replaced on another node."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError
from sklearn.datasets import load_breast_cancer

from sageforge.engine.backends import create_backend
from sageforge.engine.instance_types import instance_resources
from sageforge.engine.training import TrainingEngine
from sageforge.engine.workload import TrainingWorkload
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.objects.filesystem import FilesystemObjectStore
from sageforge.testing.server import RunningServer
from tests.engine.conftest import ENDPOINT
from tests.engine.support import TIMEOUT, RecordingListener, eventually, messages, put, stream_names
from tests.engine.test_training import wrote
from tests.hosting import Hosting, csv_body, local_predictions
from tests.ray.conftest import NODE
from tests.sagemaker.support import unique

if TYPE_CHECKING:
    from ray.cluster_utils import Cluster


def test_a_training_job_whose_node_is_lost_fails_with_the_reason(
    ray_cluster: Cluster,
    objects: FilesystemObjectStore,
    logs: SqlLogStore,
    make_workload: Callable[..., TrainingWorkload],
    tmp_path: Path,
) -> None:
    backend = create_backend("ray", address=ray_cluster.address)
    engine = TrainingEngine(objects, logs, backend, tmp_path / "work", ENDPOINT, stop_grace_seconds=0.5)
    workload = make_workload(hyperparameters={"mode": "wait"})
    doomed = None
    try:
        # The two nodes are taken by a job placed but not launched: the instance can only go to a third node.
        backend.place("filler", ["algo-1", "algo-2"], instance_resources("ml.m5.large"))
        doomed = ray_cluster.add_node(**NODE)
        put(objects, "data", "train/a.csv", b"x")
        listener = RecordingListener()
        engine.submit(workload, listener)
        eventually(lambda: wrote(logs, workload.job_name, "waiting"))
        ray_cluster.remove_node(doomed)
        doomed = None
        outcome = listener.wait()
        assert (outcome.status, outcome.failure_reason) == (
            "Failed",
            "InternalServerError: the Ray node running algo-1 was lost.",
        )
        (stream,) = stream_names(logs, workload.job_name)
        assert messages(logs, stream)[-1] == "the Ray node running algo-1 was lost"
    finally:
        if doomed is not None:
            ray_cluster.remove_node(doomed)
        engine.shutdown(grace_seconds=0)
        backend.close()
        _remove_lost_directories(f"{workload.job_name}-")


def test_a_replica_whose_node_is_lost_is_replaced_on_another(
    ray_cluster: Cluster, ray_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sageforge.engine.backends.ray")
    filler = create_backend("ray", address=ray_cluster.address)
    doomed = None
    s3 = ray_server.client("s3")
    bucket = unique("ray-loss")
    s3.create_bucket(Bucket=bucket)
    hosting = Hosting(ray_server.client, ray_server, bucket)
    lost = None
    try:
        # With the two nodes taken, the replica can only start on a third node, which then goes away.
        filler.place("filler", ["algo-1", "algo-2"], instance_resources("ml.m5.large"))
        doomed = ray_cluster.add_node(**NODE)
        endpoint = hosting.served_endpoint(count=1)
        doomed_id = doomed.node_id
        [(instance, node)] = _placements(caplog, endpoint)
        assert node == doomed_id
        lost = f"{endpoint}_AllTraffic-{instance}-"
        ray_cluster.remove_node(doomed)
        doomed = None
        filler.close()  # room for the replacement
        rows = load_breast_cancer().data[:3]
        deadline = time.monotonic() + TIMEOUT
        while True:  # InvokeEndpoint answers 503 until the replacement passes its ping
            try:
                answer = hosting.invoke(endpoint, csv_body(rows))["Body"].decode()
                break
            except ClientError as error:
                assert error.response["Error"]["Code"] == "ServiceUnavailable", error
                assert time.monotonic() < deadline, "the lost replica was not replaced"
                time.sleep(0.1)
        _, replacement = _placements(caplog, endpoint)[1]
        assert replacement != doomed_id
        assert [float(value) for value in answer.replace("\n", ",").strip(",").split(",")] == pytest.approx(
            local_predictions(rows), rel=1e-5
        )
    finally:
        if doomed is not None:
            ray_cluster.remove_node(doomed)
        filler.close()
        hosting.cleanup()
        if lost is not None:  # only the lost replica's: the replacement's is its node's to remove
            _remove_lost_directories(lost)
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


def _placements(caplog: pytest.LogCaptureFixture, endpoint: str) -> list[tuple[str, str]]:
    """(instance, node) of each of the endpoint's replicas, in the order they were placed."""
    prefix = f"{endpoint}/AllTraffic"
    return [
        (message.split(" ", 1)[0], message.rsplit(" (", 1)[0].rsplit(" ", 1)[1])
        for message in (record.getMessage() for record in caplog.records)
        if f" of {prefix} runs on Ray node " in message
    ]


def _remove_lost_directories(prefix: str) -> None:
    """The instance directories left on the node that was removed (a real lost node takes them with it)."""
    for directory in (Path(tempfile.gettempdir()) / "sageforge-ray").glob(f"{prefix}*"):
        shutil.rmtree(directory)


def test_a_job_the_cluster_cannot_fit_fails_for_capacity(
    ray_cluster: Cluster,
    objects: FilesystemObjectStore,
    logs: SqlLogStore,
    make_workload: Callable[..., TrainingWorkload],
    tmp_path: Path,
) -> None:
    backend = create_backend("ray", address=ray_cluster.address, placement_timeout=0.5)
    engine = TrainingEngine(objects, logs, backend, tmp_path / "work", ENDPOINT, cpus=64)
    try:
        put(objects, "data", "train/a.csv", b"x")
        listener = RecordingListener()
        workload = make_workload(instance_type="ml.m5.12xlarge")  # 48 vCPUs; the nodes have 2
        engine.submit(workload, listener)
        outcome = listener.wait()
        assert (outcome.status, outcome.failure_reason) == (
            "Failed",
            "CapacityError: Unable to provision requested ML compute capacity (the Ray cluster could not fit "
            f"1 x {{48 CPU, 192 GiB}} for {workload.job_name} within 0.5 s).",
        )
    finally:
        engine.shutdown(grace_seconds=0)
        backend.close()
