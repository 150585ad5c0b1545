"""CreateTrainingJob and DescribeTrainingJob latency (p50, p99) over 200 calls each, beside the latency of the
cheapest signed call through the same pipeline (STS GetCallerIdentity) as the reference.

The created jobs name an image sageforge does not run, so they end at once and the figure measures the API
(validation, record, transition) rather than 200 concurrent training processes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.server import bench_server, report

CALLS = 200


def _latencies(call: Callable[[int], Any]) -> list[float]:
    samples = []
    for index in range(CALLS):
        started = time.perf_counter()
        call(index)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def run(work: Path) -> None:
    with bench_server(work / "server-api") as server:
        sagemaker, sts, s3 = server.client("sagemaker"), server.client("sts"), server.client("s3")
        s3.create_bucket(Bucket="bench-api")
        stamp = int(time.time())

        def create(index: int) -> None:
            sagemaker.create_training_job(
                TrainingJobName=f"lat-{stamp}-{index}",
                AlgorithmSpecification={
                    "TrainingImage": "111122223333.dkr.ecr.us-east-1.amazonaws.com/none:1",
                    "TrainingInputMode": "File",
                },
                RoleArn="arn:aws:iam::000000000000:role/SageForgeRole",
                InputDataConfig=[
                    {
                        "ChannelName": "train",
                        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench-api/x/"}},
                    }
                ],
                OutputDataConfig={"S3OutputPath": "s3://bench-api/out/"},
                ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
                StoppingCondition={"MaxRuntimeInSeconds": 60},
            )

        sts.get_caller_identity()  # warm the connection pool
        reference = _latencies(lambda _: sts.get_caller_identity())
        creates = _latencies(create)
        describes = _latencies(lambda index: sagemaker.describe_training_job(TrainingJobName=f"lat-{stamp}-{index}"))
    rows = []
    for label, samples in (("CreateTrainingJob", creates), ("DescribeTrainingJob", describes)):
        for q in (50, 99):
            ours, ref = _p(samples, q), _p(reference, q)
            rows.append((f"{label} p{q} ms", f"{ours:.2f}", f"{ref:.2f} (GetCallerIdentity)", f"{ours / ref:.2f}x"))
    report(f"API latency over {CALLS} calls each", rows)
