"""Random Cut Forest: its hyperparameters, the forest's structure and scores (AUC on injected anomalies, next to
scikit-learn's IsolationForest), the container (run in-process on a temporary `/opt/ml`), and inference."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.container import Container
from sageforge.algorithms.formats import recordio_protobuf
from sageforge.algorithms.randomcutforest import inference
from sageforge.algorithms.randomcutforest.forest import LEAF, Forest, build_forest
from sageforge.algorithms.randomcutforest.hyperparameters import parse_hyperparameters
from sageforge.algorithms.randomcutforest.train import train
from sageforge.serving.runtime.contract import InferenceError
from tests.algorithms.opt_ml import Channel, csv_rows, write_layout

Array = npt.NDArray[np.float64]


def injected(rows: int, features: int, seed: int, share: float = 0.03) -> tuple[Array, Array]:
    """A Gaussian cloud with a `share` of points scattered around it, 4 to 8 deviations away; labels 1 for them."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < share).astype(float)
    x = rng.normal(size=(rows, features))
    directions = rng.normal(size=(rows, features))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    far = directions * rng.uniform(4, 8, size=(rows, 1))
    return np.where(labels[:, None] == 1, far, x), labels


def _forest(x: Array, trees: int = 100, per_tree: int = 256, seed: int = 0) -> Forest:
    rng = np.random.default_rng(seed)
    return build_forest([x[rng.choice(len(x), min(per_tree, len(x)), replace=False)] for _ in range(trees)], seed)


# --- hyperparameters -------------------------------------------------------------------------------------------


def test_defaults() -> None:
    config = parse_hyperparameters({"feature_dim": "3"})
    assert (config.num_trees, config.num_samples_per_tree) == (100, 256)
    assert config.eval_metrics == ("accuracy", "precision_recall_fscore")


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        ({"num_trees": "50"}, "'feature_dim' is a required property"),
        ({"feature_dim": "3", "num_trees": "10"}, "10 is less than the minimum of 50"),
        ({"feature_dim": "3", "num_samples_per_tree": "4096"}, "4096 is greater than the maximum of 2048"),
        (
            {"feature_dim": "3", "eval_metrics": '["auc"]'},
            "'auc' is not one of ['accuracy', 'precision_recall_fscore']",
        ),
        ({"feature_dim": "3", "num_tree": "60"}, "Additional properties are not allowed ('num_tree' was unexpected)"),
    ],
)
def test_invalid_hyperparameters_are_rejected(raw: dict[str, str], cause: str) -> None:
    with pytest.raises(UserError, match="Unable to initialize the algorithm") as error:
        parse_hyperparameters(raw)
    assert f"Caused by: {cause}" in str(error.value)


# --- the forest ------------------------------------------------------------------------------------------------


def test_trees_partition_their_samples_into_nested_boxes() -> None:
    x, _ = injected(400, 3, seed=1)
    forest = _forest(x, trees=5, per_tree=64)
    assert forest.mass[forest.roots].tolist() == [64] * 5
    inner = np.flatnonzero(forest.cut_dim != LEAF)
    for children in (forest.left[inner], forest.right[inner]):
        assert np.all(forest.depth[children] == forest.depth[inner] + 1)
        assert np.all(forest.lower[children] >= forest.lower[inner]) and np.all(
            forest.upper[children] <= forest.upper[inner]
        )
    assert np.all(forest.mass[inner] == forest.mass[forest.left[inner]] + forest.mass[forest.right[inner]])
    leaves = forest.cut_dim == LEAF
    assert np.all(forest.lower[leaves] == forest.upper[leaves]) and forest.mass[leaves].sum() == 5 * 64


def test_duplicates_make_one_leaf_and_score_as_seen() -> None:
    forest = build_forest([np.ones((10, 2))] * 50)
    assert forest.mass.tolist() == [10] * 50
    seen, unseen = forest.score(np.array([[1.0, 1.0], [5.0, 5.0]]))
    # Seen: damp(10)/log2(11) scaled by log2(11) = 1 - 10/20; unseen: 1/(0 + 1) scaled by log2(11).
    assert seen == pytest.approx(0.5) and unseen == pytest.approx(np.log2(11))


def test_injected_anomalies_score_high_quickly() -> None:
    x_train, _ = injected(5000, 5, seed=2)
    x_test, labels = injected(3000, 5, seed=3)
    forest = _forest(x_train)
    started = time.perf_counter()
    scores = forest.score(x_test)
    elapsed = time.perf_counter() - started
    auc = roc_auc_score(labels, scores)
    reference = roc_auc_score(labels, -IsolationForest(random_state=0).fit(x_train).score_samples(x_test))
    assert auc >= 0.9 and auc >= reference - 0.02, (auc, reference)
    assert np.median(scores[labels == 0]) < 1.5 < np.median(scores[labels == 1])
    assert len(x_test) / elapsed > 500, f"{len(x_test) / elapsed:.0f} points/s"  # loose: CI cores are shared


# --- the container ---------------------------------------------------------------------------------------------


def _train(base: Path, hyperparameters: dict[str, str], channels: dict[str, Channel]) -> Forest:
    write_layout(base, hyperparameters, channels)
    train(Container(base))
    return inference.model_fn(str(base / "model"))


def test_trains_and_reports_f1_on_the_test_channel(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    x_train, _ = injected(2000, 4, seed=4)
    x_test, labels = injected(1000, 4, seed=5, share=0.02)
    channels = {
        "train": Channel(csv_rows(x_train), "text/csv;label_size=0"),
        "test": Channel(csv_rows(np.column_stack([labels, x_test])), "text/csv;label_size=1"),
    }
    caplog.set_level("INFO")
    forest = _train(tmp_path, {"feature_dim": "4", "num_trees": "50", "num_samples_per_tree": "128"}, channels)
    assert forest.num_trees == 50 and forest.mass[forest.roots].tolist() == [128] * 50
    found = {
        name: float(caplog.text.split(f"test {name} <score>=")[1].split()[0])
        for name in ("accuracy", "precision", "recall", "f1")
    }
    assert found["f1"] > 0.8 and found["accuracy"] > 0.98, found


def test_trains_from_recordio_protobuf_with_accuracy_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    x, labels = injected(500, 3, seed=6)
    channels = {
        "train": Channel(recordio_protobuf.write_dense(x.astype(np.float32)), content_type=None),
        "test": Channel(csv_rows(np.column_stack([labels, x]))),
    }
    caplog.set_level("INFO")
    _train(tmp_path, {"feature_dim": "3", "num_trees": "50", "eval_metrics": '["accuracy"]'}, channels)
    assert "test accuracy <score>=" in caplog.text and "test f1" not in caplog.text


@pytest.mark.parametrize(
    ("hyperparameters", "test_rows", "message"),
    [
        ({"feature_dim": "5"}, None, "feature_dim is 5 but the train channel's rows have 3 features"),
        ({"feature_dim": "3", "num_trees": "50"}, "2,0,0,0\n", "labels other than 0 and 1"),
    ],
)
def test_data_that_does_not_fit_fails(
    tmp_path: Path, hyperparameters: dict[str, str], test_rows: str | None, message: str
) -> None:
    channels = {"train": Channel(csv_rows(np.zeros((20, 3))), "text/csv;label_size=0")}
    if test_rows is not None:
        channels["test"] = Channel(test_rows.encode())
    with pytest.raises(UserError, match=message):
        _train(tmp_path, hyperparameters, channels)


# --- inference -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Forest:
    x, _ = injected(1000, 3, seed=7)
    base = tmp_path_factory.mktemp("rcf")
    return _train(
        base, {"feature_dim": "3", "num_trees": "50"}, {"train": Channel(csv_rows(x), "text/csv;label_size=0")}
    )


def test_answers_scores_in_every_format(served: Forest) -> None:
    rows = np.array([[0.0, 0.1, -0.2], [9.0, 9.0, 9.0]])
    body = "\n".join(",".join(map(str, row)) for row in rows).encode()
    answer, media_type = inference.transform_fn(served, body, "text/csv", "application/json")
    assert media_type == "application/json"
    scores = [record["score"] for record in json.loads(answer)["scores"]]
    assert scores == pytest.approx(served.score(rows).tolist()) and scores[0] < 1.5 < scores[1]
    lines, _ = inference.transform_fn(served, body, "text/csv", "application/jsonlines")
    assert [json.loads(line) for line in lines.splitlines()] == json.loads(answer)["scores"]
    sparse = {"instances": [{"data": {"features": {"keys": [2], "shape": [3], "values": [-0.2]}}}]}
    sparse_answer, _ = inference.transform_fn(served, json.dumps(sparse).encode(), "application/json", "*/*")
    assert json.loads(sparse_answer)["scores"][0]["score"] == pytest.approx(served.score(np.array([[0, 0, -0.2]]))[0])
    records, media_type = inference.transform_fn(
        served,
        recordio_protobuf.write_dense(rows.astype(np.float32)),
        "application/x-recordio-protobuf",
        "application/x-recordio-protobuf",
    )
    assert media_type == "application/x-recordio-protobuf"
    decoded = [record.label["score"].values for record in recordio_protobuf.read_records(records)]
    assert [values.dtype for values in decoded] == [np.float32] * 2
    np.testing.assert_allclose([values[0] for values in decoded], scores, rtol=1e-6)


def test_csv_answers_and_wrong_widths_are_refused(served: Forest) -> None:
    with pytest.raises(InferenceError) as error:
        inference.transform_fn(served, b"1,2,3", "text/csv", "text/csv")
    assert error.value.status == 406
    with pytest.raises(InferenceError) as error:
        inference.transform_fn(served, b"1,2", "text/csv", "application/json")
    assert error.value.status == 400
