"""The built-in XGBoost container process, run as the engine runs it, plus its hyperparameter and metric rules."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse
import xgboost
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, precision_score, r2_score, recall_score

from sageforge.algorithms.base import UserError
from sageforge.algorithms.formats import LabeledData
from sageforge.algorithms.formats.libsvm import read_libsvm
from sageforge.algorithms.formats.recordio_protobuf import write_dense, write_sparse
from sageforge.algorithms.xgboost import XGBOOST
from sageforge.algorithms.xgboost.hyperparameters import parse_hyperparameters
from sageforge.algorithms.xgboost.metrics import custom_metric
from sageforge.algorithms.xgboost.train import _read_recordio_protobuf

REPO_ROOT = Path(__file__).resolve().parents[2]
METRIC_LINE = re.compile(r"^\[(\d+)\]((?:\t[a-z]+-[a-z0-9_@.-]+:-?\d+\.\d{5})+)$")
Rows = npt.NDArray[np.float64]
# XGBoost guesses the format of a model file without extension (UBJSON, correctly) and says so.
pytestmark = pytest.mark.filterwarnings("ignore:.*Unknown file format")


@pytest.fixture(scope="module")
def dataset() -> tuple[Rows, Rows]:
    """Breast cancer rows as CSV-ready matrices (label first): (train, validation)."""
    features, labels = load_breast_cancer(return_X_y=True)
    rows = np.column_stack([labels, features])[np.random.default_rng(7).permutation(len(labels))]
    return rows[:400], rows[400:]


def write_job(
    base: Path,
    hyperparameters: Mapping[str, str],
    channels: Mapping[str, Rows | str | bytes],
    *,
    content_type: str = "text/csv",
    current_host: str = "algo-1",
    hosts: Sequence[str] = ("algo-1",),
) -> Path:
    """An /opt/ml layout as the engine stages it; a channel is CSV rows, raw file text or RecordIO-protobuf bytes."""
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    (config / "inputdataconfig.json").write_text(
        json.dumps({name: {"ContentType": content_type, "TrainingInputMode": "File"} for name in channels})
    )
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": current_host, "hosts": list(hosts)}))
    for name, content in channels.items():
        directory = base / "input" / "data" / name
        directory.mkdir(parents=True)
        if isinstance(content, bytes):
            (directory / "data.pbr").write_bytes(content)
        elif isinstance(content, str):
            (directory / "data.csv").write_text(content)
        else:
            np.savetxt(directory / "data.csv", content, delimiter=",", fmt="%.8g")
    (base / "model").mkdir()
    (base / "output").mkdir()
    return base


def start(base: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sageforge.algorithms.xgboost.train"],
        cwd=base,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "SAGEMAKER_BASE_DIR": str(base), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(base: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    process = start(base, env)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def metric_lines(stdout: str) -> list[str]:
    # XGBoost's tracker also logs to stdout ("[22:04:09] Task algo-1 got rank 0"); rounds are "[<n>]<tab>".
    return [line for line in stdout.splitlines() if re.match(r"\[\d+\]\t", line)]


def load_model(base: Path) -> xgboost.Booster:
    return xgboost.Booster(model_file=str(base / "model" / "xgboost-model"))


def auc(booster: xgboost.Booster, rows: Rows) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(rows[:, 0], booster.predict(xgboost.DMatrix(rows[:, 1:]))))


BINARY = {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "10", "max_depth": "3"}


def test_trains_prints_metric_lines_and_writes_a_loadable_model(tmp_path: Path, dataset: tuple[Rows, Rows]) -> None:
    train, validation = dataset
    base = write_job(tmp_path, BINARY, {"train": train, "validation": validation})
    result = run(base)
    assert result.returncode == 0, result.stderr
    lines = metric_lines(result.stdout)
    assert len(lines) == 10
    for round_number, line in enumerate(lines):
        assert METRIC_LINE.match(line), line
        assert line.startswith(f"[{round_number}]\ttrain-auc:") and "\tvalidation-auc:" in line
    # The lines are what SageMaker's registered regexes read (tabs rendered as CloudWatch's #011).
    definition = XGBOOST.metric_definition("validation:auc")
    assert definition is not None
    assert re.match(definition.regex, lines[-1].replace("\t", "#011"))
    assert auc(load_model(base), validation) > 0.95
    assert not (base / "output" / "failure").exists()


def test_libsvm_with_container_metrics_and_tuning_objective(tmp_path: Path, dataset: tuple[Rows, Rows]) -> None:
    train, validation = dataset

    def libsvm(rows: Rows) -> str:
        return "".join(
            f"{int(row[0])} " + " ".join(f"{i}:{v:.6g}" for i, v in enumerate(row[1:])) + "\n" for row in rows
        )

    hyperparameters = {**BINARY, "eval_metric": "accuracy,f1", "_tuning_objective_metric": "validation:auc"}
    base = write_job(
        tmp_path,
        hyperparameters,
        {"train": libsvm(train), "validation": libsvm(validation)},
        content_type="text/libsvm",
    )
    result = run(base)
    assert result.returncode == 0, result.stderr
    last = metric_lines(result.stdout)[-1]
    scores = dict(re.findall(r"\t([a-z]+-[a-z0-9_]+):([0-9.]+)", last))
    assert set(scores) == {
        f"{data}-{metric}" for data in ("train", "validation") for metric in ("accuracy", "auc", "f1")
    }
    assert float(scores["validation-accuracy"]) > 0.9
    assert auc(load_model(base), validation) > 0.95


def test_a_recordio_protobuf_channel_trains_the_model_csv_trains(tmp_path: Path, dataset: tuple[Rows, Rows]) -> None:
    train, validation = (rows.astype(np.float32) for rows in dataset)

    def as_csv(rows: npt.NDArray[np.float32]) -> str:
        return "".join(",".join(f"{value:.9g}" for value in row) + "\n" for row in rows)  # exact for float32

    def as_records(rows: npt.NDArray[np.float32]) -> bytes:
        return write_dense(rows[:, 1:], rows[:, 0])

    from_csv = write_job(tmp_path / "csv", BINARY, {"train": as_csv(train), "validation": as_csv(validation)})
    from_records = write_job(
        tmp_path / "records",
        BINARY,
        {"train": as_records(train), "validation": as_records(validation)},
        content_type="application/x-recordio-protobuf",
    )
    csv_result, records_result = run(from_csv), run(from_records)
    assert csv_result.returncode == 0, csv_result.stderr
    assert records_result.returncode == 0, records_result.stderr
    assert metric_lines(records_result.stdout) == metric_lines(csv_result.stdout)
    assert load_model(from_records).get_dump(dump_format="json") == load_model(from_csv).get_dump(dump_format="json")


def test_sparse_recordio_protobuf_rows_load_as_libsvm_rows(tmp_path: Path, dataset: tuple[Rows, Rows]) -> None:
    """Absent entries of sparse records are missing values, as absent libsvm features are."""
    rows = dataset[0][:50].astype(np.float32)
    present = np.random.default_rng(5).random(rows[:, 1:].shape) < 0.6
    lines = [
        f"{row[0]:.9g} " + " ".join(f"{j}:{row[1 + j]:.9g}" for j in np.flatnonzero(mask)) + "\n"
        for row, mask in zip(rows, present, strict=True)
    ]
    (tmp_path / "data.libsvm").write_text("".join(lines))
    indptr = np.concatenate(([0], np.cumsum(present.sum(axis=1))))
    features = scipy.sparse.csr_matrix(
        (rows[:, 1:][present], np.nonzero(present)[1], indptr), shape=present.shape, dtype=np.float32
    )
    (tmp_path / "data.pbr").write_bytes(write_sparse(features, rows[:, 0]))

    def matrix(data: LabeledData) -> xgboost.DMatrix:
        return xgboost.DMatrix(data.features, label=data.labels)

    from_records = _read_recordio_protobuf([tmp_path / "data.pbr"])
    from_libsvm = read_libsvm([tmp_path / "data.libsvm"])
    assert scipy.sparse.issparse(from_records.features)
    np.testing.assert_array_equal(from_records.labels, from_libsvm.labels)
    booster = {
        name: xgboost.train({"max_depth": 2}, matrix(data), 3).get_dump()
        for name, data in (("records", from_records), ("libsvm", from_libsvm))
    }
    assert booster["records"] == booster["libsvm"]
    (tmp_path / "data.pbr").write_bytes(b"\x0a\x23\xd7\xce\x00\x00\x00\x00")  # a record with no field
    with pytest.raises(UserError, match=r"data\.pbr: record 0: the record has no features\['values'\] tensor"):
        _read_recordio_protobuf([tmp_path / "data.pbr"])


def test_early_stopping_keeps_the_best_model(tmp_path: Path, dataset: tuple[Rows, Rows]) -> None:
    train, validation = dataset
    hyperparameters = {
        **BINARY,
        "eval_metric": "logloss",
        "num_round": "300",
        "eta": "0.5",
        "early_stopping_rounds": "3",
    }
    base = write_job(tmp_path, hyperparameters, {"train": train, "validation": validation})
    result = run(base)
    assert result.returncode == 0, result.stderr
    printed = len(metric_lines(result.stdout))
    rounds = load_model(base).num_boosted_rounds()
    assert printed < 300
    assert rounds == printed - 3  # the best round, then 3 rounds without improvement; those are dropped


@pytest.mark.parametrize(
    ("hyperparameters", "failure"),
    [
        ({**BINARY, "bogus": "1"}, "ClientError: Extraneous hyperparameter found: bogus"),
        ({"objective": "binary:logistic"}, "ClientError: Missing required hyperparameter: num_round"),
        ({**BINARY, "eta": "2"}, "ClientError: Hyperparameter eta: 2.0 is not in [0, 1]"),
    ],
)
def test_bad_hyperparameters_fail_with_a_client_error(
    tmp_path: Path, dataset: tuple[Rows, Rows], hyperparameters: Mapping[str, str], failure: str
) -> None:
    base = write_job(tmp_path, hyperparameters, {"train": dataset[0][:50]})
    result = run(base)
    assert result.returncode != 0
    assert (base / "output" / "failure").read_text().startswith(failure)
    assert failure in result.stderr
    assert not (base / "model" / "xgboost-model").exists()


@pytest.mark.parametrize(
    ("channels", "failure"),
    [
        ({"train": "1,2,3\n0,4,5\n1,x,6\n"}, r"ClientError: .*data\.csv: line 3, column 2: 'x' is not a number"),
        ({"train": ""}, r"ClientError: No data in training channel path .*train"),
        ({"validation": "1,2,3\n"}, r"ClientError: No data in training channel path .*train"),
        (
            {"train": write_dense(np.ones((3, 2), dtype=np.float32))},
            r"ClientError: Got input data without labels \(no label\['values'\] in .*data\.pbr\)",
        ),
    ],
)
def test_bad_data_fails_with_a_client_error(tmp_path: Path, channels: Mapping[str, str | bytes], failure: str) -> None:
    content_type = "application/x-recordio-protobuf" if isinstance(channels.get("train"), bytes) else "text/csv"
    base = write_job(tmp_path, BINARY, channels, content_type=content_type)
    result = run(base)
    assert result.returncode != 0
    assert re.match(failure, (base / "output" / "failure").read_text())


def run_cluster(
    tmp_path: Path, shards: Sequence[Rows | str], validation: Rows
) -> list[tuple[Path, subprocess.CompletedProcess[str]]]:
    """Start one process per shard concurrently, as the engine starts a multi-instance job, and wait for all."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hosts = tuple(f"algo-{number}" for number in range(1, len(shards) + 1))
    env = {"SAGEFORGE_HOSTS": json.dumps({host: "127.0.0.1" for host in hosts}), "SAGEFORGE_COLLECTIVE_PORT": str(port)}
    bases = [
        # One thread per host: both hosts share this machine's cores, and idle OpenMP threads spin.
        write_job(
            tmp_path / host,
            {**BINARY, "nthread": "1"},
            {"train": shard, "validation": validation},
            current_host=host,
            hosts=hosts,
        )
        for host, shard in zip(hosts, shards, strict=True)
    ]
    processes = [start(base, env) for base in bases]
    results = []
    for base, process in zip(bases, processes, strict=True):
        stdout, stderr = process.communicate(timeout=60)
        results.append((base, subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)))
    return results


def test_two_hosts_train_one_model_on_algo_1(tmp_path: Path, dataset: tuple[Rows, Rows]) -> None:
    train, validation = dataset
    (algo_1, first), (algo_2, second) = run_cluster(tmp_path, [train[::2], train[1::2]], validation)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert len(metric_lines(first.stdout)) == 10  # algo-1 reports the metrics of the whole cluster
    assert metric_lines(second.stdout) == []
    assert not (algo_2 / "model" / "xgboost-model").exists()
    assert auc(load_model(algo_1), validation) > 0.95


def test_a_host_without_training_data_fails_the_cluster(tmp_path: Path, dataset: tuple[Rows, Rows]) -> None:
    train, validation = dataset
    (algo_1, first), (algo_2, second) = run_cluster(tmp_path, [train, ""], validation)
    assert first.returncode != 0 and second.returncode != 0
    assert re.match(
        r"ClientError: host algo-2: No data in training channel", (algo_2 / "output" / "failure").read_text()
    )
    assert (algo_1 / "output" / "failure").read_text() == (
        "ClientError: 1 other host(s) could not read their data; see their logs"
    )


def test_tuning_metric_joins_eval_metric_and_drives_early_stopping() -> None:
    config = parse_hyperparameters(
        {
            "num_round": "5",
            "learning_rate": "0.1",
            "reg_lambda": "2",
            "objective": "reg:linear",
            "eval_metric": "rmse,mae",
            "_tuning_objective_metric": "validation:r2",
            "early_stopping_rounds": "2",
        }
    )
    assert config.params == {"eta": 0.1, "lambda": 2.0, "objective": "reg:squarederror"}
    assert config.metrics == ("mae", "r2", "rmse")
    assert config.early_stopping_metric == "r2" and config.maximize_early_stopping_metric


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"max_depth": "10.0"}, "Hyperparameter max_depth: could not parse value '10.0' as an integer"),
        ({"objective": "multi:softmax"}, "Require input for parameter 'num_class' for multi-classification"),
        ({"eval_metric": "auc"}, "Metric 'auc' can only be applied"),
        ({"eval_metric": "rmse,bogus"}, "Hyperparameter eval_metric: value 'bogus' not in range"),
        ({"subsample": "0"}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        ({"monotone_constraints": "(0,1)"}, "monotone_constraints can be used only when"),
        ({"booster": "gblinear", "updater": "grow_colmaker"}, "Linear updater should be one of"),
        ({"_tuning_objective_metric": "validation:bogus"}, "Hyperparameter _tuning_objective_metric"),
    ],
)
def test_rules_over_several_hyperparameters(hyperparameters: Mapping[str, str], message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        parse_hyperparameters({"num_round": "1", **hyperparameters})


def test_container_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 200).astype(np.float32)
    probabilities = rng.dirichlet(np.ones(3), 200).astype(np.float32)
    predicted = probabilities.argmax(axis=1)
    names = ["accuracy", "f1", "precision_macro", "recall_macro"]
    scores = dict(
        custom_metric(names, "multi:softprob")(probabilities, xgboost.DMatrix(np.zeros((200, 1)), label=labels))
    )
    assert scores["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert scores["f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert scores["precision_macro"] == pytest.approx(precision_score(labels, predicted, average="macro"))
    assert scores["recall_macro"] == pytest.approx(recall_score(labels, predicted, average="macro"))

    binary = (labels > 0).astype(np.float32)
    margins = rng.normal(size=200).astype(np.float32)
    names = ["precision", "recall", "f1_binary"]
    scores = dict(custom_metric(names, "binary:logitraw")(margins, xgboost.DMatrix(np.zeros((200, 1)), label=binary)))
    assert scores["precision"] == pytest.approx(precision_score(binary, margins > 0))
    assert scores["recall"] == pytest.approx(recall_score(binary, margins > 0))
    assert scores["f1_binary"] == pytest.approx(f1_score(binary, margins > 0))

    targets = rng.normal(10, 2, 200).astype(np.float32)
    guesses = (targets + rng.normal(size=200)).astype(np.float32)
    names = ["mse", "rmse", "mae", "r2"]
    scores = dict(custom_metric(names, "reg:squarederror")(guesses, xgboost.DMatrix(np.zeros((200, 1)), label=targets)))
    mse = float(np.mean((guesses.astype(np.float64) - targets) ** 2))
    assert scores["mse"] == pytest.approx(mse)
    assert scores["rmse"] == pytest.approx(mse**0.5)
    assert scores["mae"] == pytest.approx(mean_absolute_error(targets, guesses))
    assert scores["r2"] == pytest.approx(r2_score(targets, guesses))
