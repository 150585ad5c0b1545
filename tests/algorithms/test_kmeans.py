"""K-Means: its hyperparameters, the streaming and reduction steps, its quality against scikit-learn, the
container process, the MXNet NDArray artifact, and its inference formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, make_blobs

from sageforge.algorithms.base import UserError
from sageforge.algorithms.formats import mxnet_ndarray, recordio_protobuf
from sageforge.algorithms.kmeans import KMEANS, inference
from sageforge.algorithms.kmeans.clustering import StreamingCenters, reduce_centers, stream, update
from sageforge.algorithms.kmeans.distances import closest_centers
from sageforge.algorithms.kmeans.hyperparameters import parse_hyperparameters
from sageforge.algorithms.kmeans.model import KMeansModel
from sageforge.serving.runtime.contract import InferenceError
from tests.algorithms.opt_ml import REPO_ROOT, Channel, csv_rows, run_container

Array = npt.NDArray[np.float64]
TRAIN_MODULE = KMEANS.train_module
UNLABELLED_CSV = "text/csv;label_size=0"


# --- hyperparameters -------------------------------------------------------------------------------------------


def test_defaults_and_auto_resolution() -> None:
    config = parse_hyperparameters({"feature_dim": "4", "k": "3"})
    assert (config.epochs, config.mini_batch_size, config.eval_metrics) == (1, 5000, ("msd",))
    assert (config.init_method, config.local_lloyd_init_method) == ("random", "kmeans++")
    assert (config.extra_center_factor, config.local_lloyd_num_trials, config.half_life_time_size) == (10, 10, 0)
    assert (config.local_lloyd_max_iter, config.local_lloyd_tol) == (300, 0.0001)


def test_what_the_sdk_sends_is_read() -> None:
    config = parse_hyperparameters(
        {
            "feature_dim": "4",
            "k": "3",
            "force_dense": "True",
            "eval_metrics": '["msd", "ssd"]',
            "extra_center_factor": "6",
            "local_lloyd_num_trials": "2",
            "_tuning_objective_metric": "test:ssd",
        }
    )
    assert config.eval_metrics == ("msd", "ssd") and config.extra_center_factor == 6
    assert config.local_lloyd_num_trials == 2


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        ({"k": "3"}, "'feature_dim' is a required property"),
        ({"feature_dim": "4"}, "'k' is a required property"),
        ({"feature_dim": "4", "k": "three"}, "'three' is not of type 'integer'"),
        ({"feature_dim": "4", "k": "0"}, "0 is less than the minimum of 1"),
        ({"feature_dim": "4", "k": "3", "eval_metrics": '["mse"]'}, "'mse' is not one of ['msd', 'ssd']"),
        (
            {"feature_dim": "4", "k": "3", "init_method": "k-means++"},
            "'k-means++' is not one of ['random', 'kmeans++']",
        ),
        ({"feature_dim": "4", "k": "3", "local_lloyd_tol": "2"}, "2 is greater than the maximum of 1"),
        ({"feature_dim": "4", "k": "3", "centers": "3"}, "Additional properties are not allowed ('centers'"),
    ],
)
def test_bad_hyperparameters_are_worded_as_the_container_words_them(raw: dict[str, str], cause: str) -> None:
    with pytest.raises(UserError, match="Unable to initialize the algorithm") as caught:
        parse_hyperparameters(raw)
    assert f"Caused by: {cause}" in str(caught.value)


# --- training ------------------------------------------------------------------------------------------------------


def _inertia(features: Array, centers: Array) -> float:
    return float(closest_centers(features, centers)[1].sum())


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("blobs", {}),
        ("digits", {}),
        ("digits", {"init_method": "kmeans++", "epochs": "3", "mini_batch_size": "500"}),
    ],
)
def test_inertia_is_within_5_percent_of_scikit_learn(name: str, extra: dict[str, str]) -> None:
    if name == "blobs":
        features, k = make_blobs(3000, n_features=8, centers=6, random_state=0)[0], 6
    else:
        features, k = load_digits().data, 10
    config = parse_hyperparameters({"feature_dim": str(features.shape[1]), "k": str(k), **extra})
    ours = _inertia(features, reduce_centers(stream(features, config, lambda _: None), config))
    reference = KMeans(n_clusters=k, n_init="auto", random_state=0).fit(features).inertia_
    assert ours <= 1.05 * reference


def test_a_mini_batch_moves_each_centre_to_the_weighted_mean() -> None:
    state = StreamingCenters(np.array([[0.0, 0.0], [10.0, 10.0]]), np.array([1.0, 0.0]))
    summed = update(state, np.array([[2.0, 0.0], [4.0, 0.0], [9.0, 11.0]]), half_life_time_size=0)
    np.testing.assert_allclose(state.centers, [[2.0, 0.0], [9.0, 11.0]])
    np.testing.assert_allclose(state.weights, [3.0, 1.0])
    assert summed == pytest.approx(4 + 16 + 2)


def test_the_half_life_halves_old_weights() -> None:
    state = StreamingCenters(np.array([[0.0], [100.0]]), np.array([4.0, 4.0]))
    update(state, np.array([[1.0], [1.0]]), half_life_time_size=2)
    np.testing.assert_allclose(state.weights, [4.0, 2.0])  # 4 halved to 2, plus the two rows taken
    np.testing.assert_allclose(state.centers, [[0.5], [100.0]])


def test_sparse_rows_cluster_like_dense_ones() -> None:
    features = make_blobs(600, n_features=5, centers=3, random_state=1)[0]
    features[np.abs(features) < 2] = 0
    config = parse_hyperparameters({"feature_dim": "5", "k": "3", "mini_batch_size": "100"})
    dense = reduce_centers(stream(features, config, lambda _: None), config)
    sparse = reduce_centers(stream(scipy.sparse.csr_matrix(features), config, lambda _: None), config)
    np.testing.assert_allclose(dense, sparse, atol=1e-9)


# --- the container -------------------------------------------------------------------------------------------------


def _blobs(rows: int, seed: int = 0) -> Array:
    return make_blobs(rows, n_features=4, centers=3, random_state=seed, cluster_std=0.5)[0]


def test_the_container_trains_writes_an_ndarray_file_and_scores_the_test_channel(tmp_path: Path) -> None:
    features = _blobs(400)
    channels = {
        "train": Channel(recordio_protobuf.write_dense(features[:300].astype(np.float32)), None),
        "test": Channel(csv_rows(features[300:]), UNLABELLED_CSV),
    }
    hyperparameters = {"feature_dim": "4", "k": "3", "epochs": "2", "eval_metrics": "['msd', 'ssd']"}
    run = run_container(TRAIN_MODULE, tmp_path, hyperparameters, channels)
    assert run.returncode == 0, run.output
    assert "#quality_metric: host=algo-1, epoch=1, train msd <loss>=" in run.output
    assert "#progress_metric: host=algo-1, completed 100 % of epochs" in run.output
    (centroids,) = mxnet_ndarray.read((tmp_path / "model" / "model_algo-1").read_bytes())
    assert centroids.shape == (3, 4) and centroids.dtype == np.float32
    squared = closest_centers(features[300:], centroids.astype(np.float64))[1]
    msd = float(next(line for line in run.output.splitlines() if "test msd <loss>=" in line).split("=")[-1])
    ssd = float(next(line for line in run.output.splitlines() if "test ssd <loss>=" in line).split("=")[-1])
    assert msd == pytest.approx(squared.mean(), rel=1e-4) and ssd == pytest.approx(squared.sum(), rel=1e-4)


@pytest.mark.parametrize(
    ("hyperparameters", "content_type", "message"),
    [
        ({"feature_dim": "4", "k": "51"}, UNLABELLED_CSV, "k=51 is greater than the number of rows"),
        (
            {"feature_dim": "4", "k": "3"},
            "text/csv;label_size=1",
            "feature_dim is 4 but the train channel's rows have 3",
        ),
        ({"feature_dim": "4", "k": "3"}, "text/libsvm", "content type text/libsvm is not supported"),
    ],
)
def test_data_that_does_not_fit_fails_as_a_client_error(
    tmp_path: Path, hyperparameters: dict[str, str], content_type: str, message: str
) -> None:
    run = run_container(TRAIN_MODULE, tmp_path, hyperparameters, {"train": Channel(csv_rows(_blobs(50)), content_type)})
    assert run.returncode == 1
    assert run.failure is not None and run.failure.startswith("ClientError: ") and message in run.failure
    assert not list(run.model_dir.iterdir())


# --- inference -----------------------------------------------------------------------------------------------------

CENTROIDS = np.array([[0.0, 0.0], [3.0, 4.0]])


def _serve(tmp_path: Path) -> KMeansModel:
    KMeansModel(CENTROIDS).save(tmp_path, "algo-1")
    return inference.model_fn(str(tmp_path))


def test_a_hand_made_ndarray_file_is_served(tmp_path: Path) -> None:
    (tmp_path / "model_algo-1").write_bytes(mxnet_ndarray.write([CENTROIDS.astype(np.float32)]))
    model = inference.model_fn(str(tmp_path))
    np.testing.assert_array_equal(model.centroids, CENTROIDS)


def test_answers_closest_cluster_and_distance_in_every_format(tmp_path: Path) -> None:
    model = _serve(tmp_path)
    expected = [
        {"closest_cluster": 1.0, "distance_to_cluster": pytest.approx(1.0)},
        {"closest_cluster": 0.0, "distance_to_cluster": pytest.approx(1.0)},
    ]
    answer, answer_type = inference.transform_fn(model, b"3,5\n0,1\n", "text/csv", "application/json")
    assert answer_type == "application/json" and json.loads(answer) == {"predictions": expected}
    lines, _ = inference.transform_fn(
        model, b'{"features": [3, 5]}\n{"features": [0, 1]}\n', "application/jsonlines", "application/jsonlines"
    )
    assert [json.loads(line) for line in lines.splitlines()] == expected
    csv_answer, csv_type = inference.transform_fn(model, b"3,5\n0,1\n", "text/csv", "text/csv")
    assert csv_type == "text/csv" and csv_answer == b"1.0,1.0\n0.0,1.0\n"
    rows = np.array([[3.0, 5.0], [0.0, 1.0]], dtype=np.float32)
    body, _ = inference.transform_fn(
        model, recordio_protobuf.write_dense(rows), "application/x-recordio-protobuf", "application/x-recordio-protobuf"
    )
    records = recordio_protobuf.read_records(body)
    assert [record.label["closest_cluster"].values.tolist() for record in records] == [[1.0], [0.0]]
    assert records[0].label["distance_to_cluster"].values.tolist() == pytest.approx([1.0])


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status"),
    [
        (b"1,2", "text/csv", "application/x-npy", 406),
        (b"1,2", "text/plain", "application/json", 415),
        (b"1,2,3", "text/csv", "application/json", 400),
    ],
)
def test_bad_requests_are_answered_with_their_status(
    tmp_path: Path, body: bytes, content_type: str, accept: str, status: int
) -> None:
    with pytest.raises(InferenceError) as caught:
        inference.transform_fn(_serve(tmp_path), body, content_type, accept)
    assert caught.value.status == status


def test_a_file_that_holds_no_centroids_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "model_algo-1").write_bytes(mxnet_ndarray.write({"s": np.ones(2), "v": np.ones((2, 2))}))
    with pytest.raises(ValueError, match="K-Means centroids"):
        inference.model_fn(str(tmp_path))


def test_the_inference_module_loads_without_scikit_learn() -> None:
    # A replica's runtime keeps scikit-learn out of sys.modules to start faster.
    code = "import sys; sys.modules['sklearn'] = None; import sageforge.algorithms.kmeans.inference"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
