"""Hyperparameter tuning on scikit-learn's breast-cancer set: a 20-job search over eta, max_depth,
min_child_weight, subsample and alpha for validation:auc.

Quality: the best objective Bayesian search reaches against Random search at the same budget, seed by seed
(wins, ties and losses: AUC on 149 validation rows moves in steps of about 2e-4, so equal bests are real
ties), and as the reference the same searches run directly on Optuna (the very sampler sageforge's strategy
builds, ``xgboost.train`` in this process, MaxParallelTrainingJobs trials in flight as the tuning job keeps).
Ten seeds say little about a win rate near two thirds, so the in-process comparison also runs on many held-out
seeds (1000 on; the sampler's settings were chosen on seeds 100-699) and prints the shares Bayesian wins and ties.
Overhead: the wall time of one tuning job against the sum of its training jobs' run times (CPU admission to
end) divided by MaxParallelTrainingJobs, and divided by the trials the machine can really run at once.

``BENCH_TUNING_SEEDS`` (default 10) sets the number of seeds, ``BENCH_TUNING_HELDOUT_SEEDS`` (default 200) the
held-out ones, ``BENCH_TUNING_PARALLEL`` (default 2) MaxParallelTrainingJobs.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import xgboost
from sklearn.datasets import load_breast_cancer

from bench.server import BenchServer, bench_server, report
from sageforge.engine.instance_types import instance_resources
from sageforge.engine.scheduler import machine_cpus
from sageforge.hpo.optuna_search import random_sampler, tpe_sampler
from sageforge.hpo.ranges import SearchSpace, continuous_range, integer_range
from sageforge.hpo.strategy import StrategyConfig
from sageforge.hpo.trials import Direction

JOBS, ROUNDS = 20, 50
HELDOUT_FIRST_SEED = 1000
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
INSTANCE_TYPE = "ml.m5.large"
STATIC = {"objective": "binary:logistic", "eval_metric": "auc", "num_round": str(ROUNDS)}
# The ranges of SageMaker's XGBoost tuning examples, with subsample added.
CONTINUOUS = {"eta": (0.0, 1.0), "min_child_weight": (1.0, 10.0), "subsample": (0.5, 1.0), "alpha": (0.0, 2.0)}
INTEGER = {"max_depth": (1, 10)}
ENDED = ("Completed", "Failed", "Stopped")


def split() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The train/validation split the API tests use: 420 rows to train on, 149 to validate."""
    data = load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(data.target))
    return {
        "train": (data.data[order[:420]], data.target[order[:420]]),
        "validation": (data.data[order[420:]], data.target[order[420:]]),
    }


def csv(features: np.ndarray, labels: np.ndarray) -> bytes:
    return "".join(
        f"{int(y)},{','.join(f'{v:.6g}' for v in x)}\n" for x, y in zip(features, labels, strict=True)
    ).encode()


def tuning_request(name: str, strategy: str, seed: int, parallel: int) -> dict[str, Any]:
    channels = [
        {
            "ChannelName": channel,
            "ContentType": "text/csv",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://bench/bc/{channel}/"}},
        }
        for channel in ("train", "validation")
    ]
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"MetricName": "validation:auc", "Type": "Maximize"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": JOBS, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": key, "MinValue": str(low), "MaxValue": str(high)}
                    for key, (low, high) in CONTINUOUS.items()
                ],
                "IntegerParameterRanges": [
                    {"Name": key, "MinValue": str(low), "MaxValue": str(high)} for key, (low, high) in INTEGER.items()
                ],
            },
            "RandomSeed": seed,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": STATIC,
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::000000000000:role/SageForgeRole",
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": "s3://bench/tuning-output/"},
            "ResourceConfig": {"InstanceType": INSTANCE_TYPE, "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }


def tune(server: BenchServer, strategy: str, seed: int, parallel: int) -> tuple[float, float, float]:
    """(best objective, tuning wall seconds, sum of the trials' run seconds) of one tuning job."""
    sagemaker = server.client("sagemaker")
    name = f"{strategy[:5].lower()}-{seed}-{int(time.time() * 1000) % 10**9}"
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request(name, strategy, seed, parallel))
    while True:
        job = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if job["HyperParameterTuningJobStatus"] in ENDED:
            break
        time.sleep(0.2)
    if job["HyperParameterTuningJobStatus"] != "Completed":
        raise SystemExit(f"tuning job {name} ended {job['HyperParameterTuningJobStatus']}: {job.get('FailureReason')}")
    summaries = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )["TrainingJobSummaries"]
    trials = sum((s["TrainingEndTime"] - s["TrainingStartTime"]).total_seconds() for s in summaries)
    wall = (job["HyperParameterTuningEndTime"] - job["CreationTime"]).total_seconds()
    return job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], wall, trials


def optuna_reference(
    seed: int, parallel: int, data: dict[str, tuple[np.ndarray, np.ndarray]], *, bayesian: bool
) -> float:
    """The best validation AUC of the same search on Optuna's sampler with xgboost.train in this process."""
    train = xgboost.DMatrix(*data["train"])
    validation = xgboost.DMatrix(*data["validation"])
    # The space as the tuning job's plan builds it (continuous ranges, then integer ones), and the sampler its
    # strategy builds from it: the reference differs from the server only in running trials in this process.
    space = SearchSpace(
        (
            *(continuous_range(key, str(low), str(high)) for key, (low, high) in CONTINUOUS.items()),
            *(integer_range(key, str(low), str(high)) for key, (low, high) in INTEGER.items()),
        )
    )
    config = StrategyConfig(space, Direction.MAXIMIZE, seed=seed, budget=JOBS)
    sampler = tpe_sampler(config) if bayesian else random_sampler(config)
    distributions = space.distributions()
    study = optuna.create_study(direction="maximize", sampler=sampler)
    # As the tuning job does: `parallel` trials in flight, the next asked for as soon as one ends.
    pending = [study.ask(distributions) for _ in range(parallel)]
    asked, best = parallel, 0.0
    while pending:
        trial = pending.pop(0)
        history: dict[str, Any] = {}
        params = {"objective": "binary:logistic", "eval_metric": "auc", **trial.params}
        xgboost.train(
            params, train, ROUNDS, evals=[(validation, "validation")], evals_result=history, verbose_eval=False
        )
        # The tuning job's objective is the last value the log shows, printed with 5 decimals.
        value = round(float(history["validation"]["auc"][-1]), 5)
        study.tell(trial, value)
        best = max(best, value)
        if asked < JOBS:
            pending.append(study.ask(distributions))
            asked += 1
    return best


def _wins(best: dict[str, list[float]]) -> str:
    """Bayesian's wins, ties and losses against Random, seed by seed (the goal counts wins only)."""
    pairs = list(zip(best["Bayesian"], best["Random"], strict=True))
    wins, ties = sum(b > r for b, r in pairs), sum(b == r for b, r in pairs)
    return f"{wins}/{len(pairs)} seeds ({ties} ties, {len(pairs) - wins - ties} losses)"


def _win_share(seeds: range, parallel: int, data: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """The shares of ``seeds`` on which Bayesian beats or ties Random in process (wins with their standard error)."""
    pairs = [
        (optuna_reference(seed, parallel, data, bayesian=True), optuna_reference(seed, parallel, data, bayesian=False))
        for seed in seeds
    ]
    wins = sum(b > r for b, r in pairs) / len(pairs)
    ties = sum(b == r for b, r in pairs) / len(pairs)
    error = math.sqrt(wins * (1 - wins) / len(pairs))
    return f"wins {wins:.1%} ± {error:.1%}, ties {ties:.1%} of {len(pairs)} seeds"


def run(work: Path) -> None:
    seeds = int(os.environ.get("BENCH_TUNING_SEEDS", "10"))
    heldout = range(HELDOUT_FIRST_SEED, HELDOUT_FIRST_SEED + int(os.environ.get("BENCH_TUNING_HELDOUT_SEEDS", "200")))
    parallel = int(os.environ.get("BENCH_TUNING_PARALLEL", "2"))
    data = split()
    results: dict[str, list[float]] = {"Bayesian": [], "Random": []}
    overhead: tuple[float, float] | None = None
    with bench_server(work / "server-tuning") as server:
        s3 = server.client("s3")
        if "bench" not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
            s3.create_bucket(Bucket="bench")
        for channel, (features, labels) in data.items():
            s3.put_object(Bucket="bench", Key=f"bc/{channel}/part-0.csv", Body=csv(features, labels))
        for seed in range(seeds):
            for strategy in results:
                best, wall, trials = tune(server, strategy, seed, parallel)
                results[strategy].append(best)
                if overhead is None:
                    overhead = (wall, trials)
            print(f"seed {seed}: Bayesian {results['Bayesian'][-1]:.5f}  Random {results['Random'][-1]:.5f}")
    started = time.perf_counter()
    reference = {
        "Bayesian": [optuna_reference(seed, parallel, data, bayesian=True) for seed in range(seeds)],
        "Random": [optuna_reference(seed, parallel, data, bayesian=False) for seed in range(seeds)],
    }
    reference_seconds = (time.perf_counter() - started) / (2 * seeds)
    served, direct = _wins(results), _wins(reference)
    report(
        f"Tuning quality: {JOBS}-job searches on breast-cancer, validation:auc, {seeds} seeds (goal: Bayesian wins >= 70%)",
        [
            ("Bayesian beats Random", served, f"{direct} (Optuna in process)", ""),
            *(
                [
                    (
                        f"Bayesian beats Random, held-out seeds {heldout.start}-{heldout.stop - 1}",
                        "",
                        f"{_win_share(heldout, parallel, data)} (Optuna in process)",
                        "",
                    )
                ]
                if heldout
                else []
            ),
            *(
                (
                    f"mean best AUC, {strategy}",
                    f"{statistics.mean(results[strategy]):.5f}",
                    f"{statistics.mean(reference[strategy]):.5f} (Optuna in process)",
                    f"{statistics.mean(results[strategy]) / statistics.mean(reference[strategy]):.4f}x",
                )
                for strategy in ("Bayesian", "Random")
            ),
        ],
    )
    assert overhead is not None
    wall, trials = overhead
    # A trial holds min(its instance's vCPUs, the machine's CPUs); the engine runs as many as fit at once.
    per_trial = min(instance_resources(INSTANCE_TYPE).vcpus, machine_cpus())
    slots = min(parallel, max(1, machine_cpus() // per_trial))
    report(
        f"Tuning overhead: one {JOBS}-job Bayesian tuning job, MaxParallelTrainingJobs {parallel}, {machine_cpus()} CPUs "
        f"({slots} trial(s) at once)",
        [
            (
                "wall s vs sum(trial s)/MaxParallel",
                f"{wall:.1f}",
                f"{trials / parallel:.1f}",
                f"{wall / (trials / parallel):.2f}x",
            ),
            (
                "wall s vs sum(trial s)/concurrent",
                f"{wall:.1f}",
                f"{trials / slots:.1f}",
                f"{wall / (trials / slots):.2f}x",
            ),
            (
                "seconds per 20-job search",
                f"{wall:.1f}",
                f"{reference_seconds:.1f} (Optuna + xgboost in process)",
                f"{wall / reference_seconds:.1f}x",
            ),
        ],
    )
