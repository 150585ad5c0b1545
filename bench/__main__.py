"""``python -m bench [xgboost|api|s3|tuning|invoke|batch|algorithms|ray ...]``: run the benchmarks (all by default)
and print their tables.

They run in sageforge's environment with its ``test`` extra, plus wrk for ``invoke``. The mlflow server that
``invoke`` compares against is installed by that benchmark into ``bench/.data/mlflow-venv``, never here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench import algorithms, api_latency, batch_transform, invoke, ray, s3_transfer, tuning, xgboost_job

SUITES = {
    "xgboost": xgboost_job.run,
    "api": api_latency.run,
    "s3": s3_transfer.run,
    "tuning": tuning.run,
    "invoke": invoke.run,
    "batch": batch_transform.run,
    "algorithms": algorithms.run,
    "ray": ray.run,
}


def main() -> None:
    chosen = sys.argv[1:] or list(SUITES)
    work = Path(__file__).parent / ".data"
    work.mkdir(exist_ok=True)
    for name in chosen:
        SUITES[name](work)


main()
