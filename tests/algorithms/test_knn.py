"""k-NN: its hyperparameter rules, its quality against scikit-learn's k-nearest-neighbour estimators, the
container (run in-process on a temporary `/opt/ml`), dimension reduction, and its inference formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.container import Container
from sageforge.algorithms.formats import recordio_protobuf
from sageforge.algorithms.knn import inference
from sageforge.algorithms.knn.hyperparameters import parse_hyperparameters
from sageforge.algorithms.knn.model import KnnModel
from sageforge.algorithms.knn.projection import projection_matrix
from sageforge.algorithms.knn.train import train
from sageforge.serving.runtime.contract import InferenceError
from tests.algorithms.opt_ml import Channel, csv_rows, write_layout

Array = npt.NDArray[np.float64]
REQUIRED = {"feature_dim": "13", "k": "5", "predictor_type": "classifier", "sample_size": "1000"}


# --- hyperparameters -------------------------------------------------------------------------------------------


def test_defaults() -> None:
    config = parse_hyperparameters(REQUIRED)
    assert (config.index_type, config.index_metric, config.mini_batch_size) == ("faiss.Flat", "L2", 5000)
    assert config.reduction_type is None and config.reduction_target is None


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        ({**REQUIRED, "k": "0"}, "0 is less than the minimum of 1"),
        ({**REQUIRED, "k": "five"}, "'five' is not of type 'integer'"),
        ({**REQUIRED, "predictor_type": "ranker"}, "'ranker' is not one of ['classifier', 'regressor']"),
        ({**REQUIRED, "dimension_reduction_type": "sign"}, "'dimension_reduction_target' is a required property"),
        (
            {**REQUIRED, "dimension_reduction_type": "sign", "dimension_reduction_target": "13"},
            "dimension_reduction_target (13) must be less than feature_dim (13)",
        ),
        (
            {**REQUIRED, "index_type": "faiss.IVFPQ", "index_metric": "COSINE"},
            "index_type faiss.IVFPQ supports only the L2 index_metric, not COSINE",
        ),
        ({**REQUIRED, "faiss_index_pq_m": "5"}, "'5' is not one of"),
    ],
)
def test_invalid_hyperparameters_are_rejected(raw: dict[str, str], cause: str) -> None:
    with pytest.raises(UserError, match="Unable to initialize the algorithm") as error:
        parse_hyperparameters(raw)
    assert f"Caused by: {cause}" in str(error.value)


# --- training and quality --------------------------------------------------------------------------------------


def _train(base: Path, hyperparameters: dict[str, str], channels: dict[str, Channel]) -> KnnModel:
    write_layout(base, hyperparameters, channels)
    train(Container(base))
    return inference.model_fn(str(base / "model"))


def _rows(features: Array, labels: Array) -> bytes:
    return csv_rows(np.column_stack([labels, features]))


def test_accuracy_equals_scikit_learns_classifier(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    x, y = load_wine(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    channels = {"train": Channel(_rows(x_train, y_train)), "test": Channel(_rows(x_test, y_test))}
    caplog.set_level("INFO")
    model = _train(tmp_path, {**REQUIRED, "k": "7"}, channels)
    # The CSV channel holds 8 significant digits; the reference sees the same numbers.
    x_train, x_test = (
        np.loadtxt(tmp_path / "input/data" / c / "data", delimiter=",")[:, 1:] for c in ("train", "test")
    )
    reference = KNeighborsClassifier(n_neighbors=7).fit(x_train, y_train).predict(x_test)
    predicted = model.search(x_test).predicted
    np.testing.assert_array_equal(predicted, reference)
    accuracy = float(np.mean(reference == y_test))
    assert f"#quality_metric: host=algo-1, test accuracy <score>={accuracy!r}" in caplog.text
    assert f"#test_score (algo-1) : ('accuracy', {accuracy!r})" in caplog.text


def test_regressor_matches_scikit_learns_and_samples_the_index(tmp_path: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    x = np.round(x, 6)
    model = _train(
        tmp_path,
        {"feature_dim": "10", "k": "10", "predictor_type": "regressor", "sample_size": "300"},
        {"train": Channel(_rows(x, y))},
    )
    assert model.points.shape == (300, 10)
    reference = KNeighborsRegressor(n_neighbors=10).fit(model.points, model.labels).predict(x[:20])
    np.testing.assert_allclose(model.search(x[:20]).predicted, reference, rtol=1e-5)
    # Every index point is a training row (a sample without replacement, so 300 distinct ones).
    gaps = np.abs(model.points[:, None, :] - x[None, :, :]).max(axis=2)
    assert gaps.min(axis=1).max() < 1e-6 and len(set(gaps.argmin(axis=1).tolist())) == 300


def test_k_larger_than_the_index_fails(tmp_path: Path) -> None:
    x, y = load_wine(return_X_y=True)
    with pytest.raises(UserError, match=r"k \(50\) is larger than the number of points in the index \(40\)"):
        _train(tmp_path, {**REQUIRED, "k": "50", "sample_size": "40"}, {"train": Channel(_rows(x, y))})


def test_feature_dim_must_match_the_data(tmp_path: Path) -> None:
    x, y = load_wine(return_X_y=True)
    with pytest.raises(UserError, match="feature_dim is 12 but the train channel's rows have 13 features"):
        _train(tmp_path, {**REQUIRED, "feature_dim": "12"}, {"train": Channel(_rows(x, y))})


def test_trains_from_recordio_protobuf(tmp_path: Path) -> None:
    x, y = load_wine(return_X_y=True)
    body = recordio_protobuf.write_dense(x.astype(np.float32), y.astype(np.float32))
    model = _train(tmp_path, REQUIRED, {"train": Channel(body, content_type=None)})
    assert model.points.shape == (178, 13) and set(model.labels.tolist()) == {0.0, 1.0, 2.0}


@pytest.mark.parametrize("kind", ["sign", "fjlt"])
def test_dimension_reduction_roughly_keeps_distances(kind: str) -> None:
    rng = np.random.default_rng(1)
    points = rng.normal(size=(50, 300))
    projection = projection_matrix(kind, 300, 120)
    assert projection.shape == (300, 120)
    original = np.linalg.norm(points[:25] - points[25:], axis=1)
    projected = np.linalg.norm((points[:25] - points[25:]) @ projection, axis=1)
    assert np.all(np.abs(projected / original - 1) < 0.35)


@pytest.mark.parametrize("metric", ["INNER_PRODUCT", "COSINE"])
def test_other_metrics_find_the_right_neighbours(metric: str) -> None:
    points = np.array([[1, 0], [0, 1], [3, 3], [-1, 0]], dtype=np.float32)
    model = KnnModel(points, np.array([0, 1, 2, 3], np.float32), None, 2, "classifier", metric, "faiss.Flat", 2)
    neighbours = model.search(np.array([[2, 0.1]], np.float32))
    if metric == "INNER_PRODUCT":
        assert neighbours.labels.tolist() == [[2.0, 0.0]]  # products 6.3 and 2, largest first
        np.testing.assert_allclose(neighbours.distances, [[6.3, 2.0]], rtol=1e-6)
    else:
        assert neighbours.labels.tolist() == [[0.0, 2.0]]
        assert neighbours.distances[0, 0] < neighbours.distances[0, 1]


# --- inference -------------------------------------------------------------------------------------------------


@pytest.fixture
def wine_model() -> KnnModel:
    x, y = load_wine(return_X_y=True)
    return KnnModel(x.astype(np.float32), y.astype(np.float32), None, 3, "classifier", "L2", "faiss.Flat", 13)


def test_answers_in_every_format(wine_model: KnnModel) -> None:
    x, y = load_wine(return_X_y=True)
    body = "\n".join(",".join(map(str, row)) for row in x[:3]).encode()
    answer, media_type = inference.transform_fn(wine_model, body, "text/csv", "application/json")
    assert media_type == "application/json"
    assert json.loads(answer) == {"predictions": [{"predicted_label": float(label)} for label in y[:3]]}
    verbose, _ = inference.transform_fn(wine_model, body, "text/csv", "application/json; verbose=true")
    first = json.loads(verbose)["predictions"][0]
    assert first["distances"][0] == 0.0 and first["distances"] == sorted(first["distances"])
    assert len(first["labels"]) == 3 and first["predicted_label"] == y[0]
    lines, media_type = inference.transform_fn(wine_model, body, "text/csv", "application/jsonlines")
    assert media_type == "application/jsonlines"
    assert [json.loads(line) for line in lines.splitlines()] == json.loads(answer)["predictions"]
    records, _ = inference.transform_fn(wine_model, body, "text/csv", "application/x-recordio-protobuf; verbose=true")
    first_record = recordio_protobuf.read_records(records)[0]
    assert first_record.label["predicted_label"].values.tolist() == [y[0]]
    assert first_record.label["distances"].values.tolist() == first["distances"]
    assert first_record.label["labels"].values.dtype == np.float32 and len(first_record.label["labels"].values) == 3


def test_a_wrong_width_is_a_400(wine_model: KnnModel) -> None:
    with pytest.raises(InferenceError) as error:
        inference.transform_fn(wine_model, b"1,2,3", "text/csv", "application/json")
    assert error.value.status == 400


@pytest.mark.parametrize(("metric", "sklearn_metric"), [("L2", "euclidean"), ("COSINE", "cosine")])
def test_neighbours_and_distances_are_scikit_learns(metric: str, sklearn_metric: str) -> None:
    rng = np.random.default_rng(3)
    points, queries = rng.normal(size=(300, 8)).astype(np.float32), rng.normal(size=(40, 8)).astype(np.float32)
    model = KnnModel(points, np.arange(300, dtype=np.float32), None, 6, "regressor", metric, "faiss.Flat", 8, 7)
    neighbours = model.search(queries)  # in blocks of 7 queries
    distances, indices = NearestNeighbors(n_neighbors=6, metric=sklearn_metric).fit(points).kneighbors(queries)
    assert neighbours.labels.tolist() == indices.astype(np.float32).tolist()
    np.testing.assert_allclose(neighbours.distances, distances, rtol=1e-5, atol=1e-6)
