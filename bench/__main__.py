"""``python -m bench [xgboost|api|s3|tuning|invoke ...]``: run the benchmarks (all by default) and print their tables."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import api_latency, invoke, s3_transfer, tuning, xgboost_job

SUITES = {
    "xgboost": xgboost_job.run,
    "api": api_latency.run,
    "s3": s3_transfer.run,
    "tuning": tuning.run,
    "invoke": invoke.run,
}


def main() -> None:
    chosen = sys.argv[1:] or list(SUITES)
    work = Path(__file__).parent / ".data"
    work.mkdir(exist_ok=True)
    for name in chosen:
        SUITES[name](work)


main()
