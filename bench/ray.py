"""The Ray backend on a two-node local cluster (two raylets on this machine, 2 CPUs each) against the local backend.

* A 2-instance built-in XGBoost job (ml.m5.large, FullyReplicated) on ``bench/xgboost_job.py``'s 285,000 x 30
  CSV: wall time from CreateTrainingJob to Completed on each backend, and where it goes -- "to Training"
  (Starting + Downloading: the server staging the channels, then placing and launching the hosts, which on Ray
  means the placement group, the agents' worker processes and shipping each directory to its node), "start"
  (Training until the first log line: the processes' own start-up), training (first to last log line), exit and
  copying the outputs back (last log line to the end of Training), and the upload (Uploading).
* InvokeEndpoint throughput (wrk, one CSV row per request, as ``bench/invoke.py``) of an endpoint with one
  replica on one node against two replicas, one on each node.

Both nodes share this machine's cores, so the ratios measure the backend's overhead, not a second machine's
capacity.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import xgboost
from sklearn.datasets import load_breast_cancer

from bench.invoke import CONNECTIONS, SECONDS, Replay, measure, signed_invoke
from bench.server import BenchServer, bench_server, report
from bench.xgboost_job import FEATURES, IMAGE, ROUNDS, ROWS, make_csv, training_request

ROLE = "arn:aws:iam::000000000000:role/SageForgeRole"
NODE = {"num_cpus": 2, "memory": 12 * 1024**3, "object_store_memory": 512 * 1024**2}
PHASES = ("to Training", "start", "training", "exit + copy back", "upload")


def run(work: Path) -> None:
    try:
        from ray.cluster_utils import Cluster
    except ImportError:
        print("\n## Ray backend: skipped (ray is not installed; pip install 'sageforge[ray]')")
        return
    path = work / "fraud.csv"
    make_csv(path)
    local_total, local_phases = _training(path, work / "server-ray-local", {})
    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    try:
        cluster.add_node(**NODE)
        cluster.wait_for_nodes()
        ray_settings = {"SAGEFORGE_BACKEND": "ray", "SAGEFORGE_RAY_ADDRESS": cluster.address}
        ray_total, ray_phases = _training(path, work / "server-ray", ray_settings)
        throughput = _endpoints(work, ray_settings)
    finally:
        cluster.shutdown()
    rows = [
        ("wall seconds", f"{ray_total:.2f}", f"{local_total:.2f} (local backend)", f"{ray_total / local_total:.2f}x")
    ]
    rows += [(f"  {phase}", f"{ray_phases[phase]:.2f}", f"{local_phases[phase]:.2f}", "") for phase in PHASES]
    report(f"XGBoost job, 2 x ml.m5.large, {ROWS:,} x {FEATURES} CSV, {ROUNDS} rounds: Ray (2 nodes) vs local", rows)
    one, two = throughput
    report(
        f"InvokeEndpoint on Ray, one CSV row, {CONNECTIONS} connections, {SECONDS} s",
        [
            (
                "requests/s",
                f"{two.requests_per_second:.0f} (2 replicas, 2 nodes)",
                f"{one.requests_per_second:.0f} (1 replica)",
                f"{two.requests_per_second / one.requests_per_second:.2f}x",
            ),
            ("p50 ms", f"{two.p50_ms:.2f}", f"{one.p50_ms:.2f}", f"{two.p50_ms / one.p50_ms:.2f}x"),
            ("p99 ms", f"{two.p99_ms:.2f}", f"{one.p99_ms:.2f}", f"{two.p99_ms / one.p99_ms:.2f}x"),
        ],
    )


@contextmanager
def _server(data_dir: Path, settings: dict[str, str]) -> Iterator[BenchServer]:
    """``bench_server`` with ``settings`` in its environment (SAGEFORGE_* variables)."""
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        with bench_server(data_dir) as server:
            yield server
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _training(path: Path, data_dir: Path, settings: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Seconds from CreateTrainingJob to Completed, and the seconds of each phase."""
    with _server(data_dir, settings) as server:
        s3, sagemaker, logs = server.client("s3"), server.client("sagemaker"), server.client("logs")
        s3.create_bucket(Bucket="bench")
        s3.upload_file(str(path), "bench", "fraud/train/train.csv")
        name = f"bench-ray-{int(time.time())}"
        started = time.perf_counter()
        sagemaker.create_training_job(**training_request(name, "ml.m5.large", 2))
        while (job := sagemaker.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == "InProgress":
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        if job["TrainingJobStatus"] != "Completed":
            raise SystemExit(f"benchmark job ended {job['TrainingJobStatus']}: {job.get('FailureReason')}")
        return elapsed, _phases(job, logs, name)


def _phases(job: dict[str, Any], logs: Any, name: str) -> dict[str, float]:
    transitions = {t["Status"]: t for t in job["SecondaryStatusTransitions"]}

    def seconds(status: str) -> float:
        transition = transitions.get(status)
        if transition is None or "EndTime" not in transition:
            return 0.0
        return (transition["EndTime"] - transition["StartTime"]).total_seconds()

    group = "/aws/sagemaker/TrainingJobs"
    stamps: list[float] = []
    for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=name)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)
        stamps += [event["timestamp"] / 1000 for event in events["events"]]
    training = transitions["Training"]
    begin, end = _epoch(training["StartTime"]), _epoch(training["EndTime"])
    return {
        "to Training": seconds("Starting") + seconds("Downloading"),
        "start": min(stamps) - begin,
        "training": max(stamps) - min(stamps),
        "exit + copy back": end - max(stamps),
        "upload": seconds("Uploading"),
    }


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _endpoints(work: Path, settings: dict[str, str]) -> tuple[Any, Any]:
    """wrk's measure of a one-replica endpoint and of a two-replica one, on the Ray cluster."""
    data = load_breast_cancer()
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 4}, xgboost.DMatrix(data.data, data.target), 50
    )
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        raw = bytes(booster.save_raw(raw_format="ubj"))
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    row = ",".join(repr(float(v)) for v in data.data[0]).encode()
    measures = []
    with _server(work / "server-ray-invoke", settings) as server:
        server.client("s3").create_bucket(Bucket="bench-ray")
        server.client("s3").put_object(Bucket="bench-ray", Key="model.tar.gz", Body=archive.getvalue())
        server.client("sagemaker").create_model(
            ModelName="bench",
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bench-ray/model.tar.gz"},
            ExecutionRoleArn=ROLE,
        )
        for count in (1, 2):
            replay = _deploy(server, f"bench-{count}", count, row)
            measures.append(measure(replay, work))
            server.client("sagemaker").delete_endpoint(EndpointName=f"bench-{count}")
    shutil.rmtree(work / "server-ray-invoke", ignore_errors=True)
    return measures[0], measures[1]


def _deploy(server: BenchServer, name: str, count: int, row: bytes) -> Replay:
    """An InService endpoint of ``count`` replicas, and a signed InvokeEndpoint request for it."""
    sagemaker, runtime = server.client("sagemaker"), server.client("sagemaker-runtime")
    variant = {"VariantName": "AllTraffic", "ModelName": "bench", "InstanceType": "ml.m5.large"}
    sagemaker.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[{**variant, "InitialInstanceCount": count}]
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    while (status := sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]) == "Creating":
        time.sleep(0.1)
    if status != "InService":
        raise SystemExit(f"endpoint {name} is {status}")
    return signed_invoke(runtime, name, row)
