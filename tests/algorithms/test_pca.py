"""PCA: its hyperparameters, both modes against scikit-learn, the container process, the MXNet NDArray dict
artifact, and its inference formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse
from sklearn.datasets import load_digits, make_low_rank_matrix
from sklearn.decomposition import PCA, TruncatedSVD

from sageforge.algorithms.base import UserError
from sageforge.algorithms.formats import mxnet_ndarray, recordio_protobuf
from sageforge.algorithms.pca import PCA as PCA_ALGORITHM
from sageforge.algorithms.pca import inference
from sageforge.algorithms.pca.decomposition import fit
from sageforge.algorithms.pca.hyperparameters import parse_hyperparameters
from sageforge.algorithms.pca.model import PCAModel
from sageforge.serving.runtime.contract import InferenceError
from tests.algorithms.opt_ml import REPO_ROOT, Channel, csv_rows, run_container

Array = npt.NDArray[np.float64]
TRAIN_MODULE = PCA_ALGORITHM.train_module
REQUIRED = {"feature_dim": "64", "mini_batch_size": "200", "num_components": "8"}


# --- hyperparameters -------------------------------------------------------------------------------------------


def test_defaults_and_extra_components() -> None:
    config = parse_hyperparameters(REQUIRED)
    assert (config.algorithm_mode, config.subtract_mean, config.extra_components) == ("regular", True, 10)
    assert parse_hyperparameters({**REQUIRED, "num_components": "12"}).extra_components == 12
    config = parse_hyperparameters({**REQUIRED, "extra_components": "3", "subtract_mean": "False"})
    assert config.extra_components == 3 and not config.subtract_mean


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        ({"feature_dim": "64", "num_components": "8"}, "'mini_batch_size' is a required property"),
        ({**REQUIRED, "algorithm_mode": "fast"}, "'fast' is not one of ['regular', 'randomized']"),
        ({**REQUIRED, "extra_components": "-2"}, "-2 is less than the minimum of -1"),
        ({**REQUIRED, "num_components": "65"}, "num_components (65) must not exceed feature_dim (64)"),
        ({**REQUIRED, "num_component": "8"}, "Additional properties are not allowed ('num_component' was unexpected)"),
    ],
)
def test_bad_hyperparameters_are_worded_as_the_container_words_them(raw: dict[str, str], cause: str) -> None:
    with pytest.raises(UserError, match="Unable to initialize the algorithm") as caught:
        parse_hyperparameters(raw)
    assert f"Caused by: {cause}" in str(caught.value)


# --- the decomposition -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_explained_variance_is_within_1_percent_of_scikit_learn(mode: str) -> None:
    features = load_digits().data
    config = parse_hyperparameters({**REQUIRED, "algorithm_mode": mode})
    components = fit(features, config, lambda _: None)
    reference = PCA(n_components=8, svd_solver="full").fit(features)
    explained = (components.s**2 / (len(features) - 1))[::-1]  # ours ascend; scikit-learn's descend
    np.testing.assert_allclose(explained, reference.explained_variance_, rtol=0.01)
    assert np.all(np.diff(components.s) >= 0), "ascending order of singular value"
    np.testing.assert_allclose(components.mean, reference.mean_)
    # The same directions, up to sign.
    overlap = np.abs(np.sum(components.v[:, ::-1] * reference.components_.T, axis=0))
    np.testing.assert_allclose(overlap, 1.0, atol=1e-3)


def test_without_the_mean_it_is_the_svd_of_the_rows() -> None:
    features = make_low_rank_matrix(500, 40, effective_rank=5, random_state=0) + 1.0
    config = parse_hyperparameters(
        {"feature_dim": "40", "mini_batch_size": "64", "num_components": "4", "subtract_mean": "false"}
    )
    components = fit(features, config, lambda _: None)
    reference = TruncatedSVD(n_components=4, algorithm="arpack").fit(features)
    assert components.mean is None
    np.testing.assert_allclose(components.s[::-1], reference.singular_values_, rtol=1e-6)


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_sparse_rows_decompose_like_dense_ones(mode: str) -> None:
    features = load_digits().data[:600]
    config = parse_hyperparameters({**REQUIRED, "algorithm_mode": mode, "num_components": "5"})
    dense = fit(features, config, lambda _: None)
    sparse = fit(scipy.sparse.csr_matrix(features), config, lambda _: None)
    np.testing.assert_allclose(dense.s, sparse.s, rtol=1e-8)
    np.testing.assert_allclose(dense.v, sparse.v, atol=1e-6)


# --- the container -------------------------------------------------------------------------------------------------


def test_the_container_writes_sagemakers_ndarray_dict(tmp_path: Path) -> None:
    features = load_digits().data
    channels = {
        "train": Channel(recordio_protobuf.write_dense(features[:1500].astype(np.float32)), None),
        "test": Channel(csv_rows(features[1500:]), "text/csv;label_size=0"),
    }
    run = run_container(TRAIN_MODULE, tmp_path, REQUIRED, channels)
    assert run.returncode == 0, run.output
    assert "#progress_metric: host=algo-1, completed 100 % of epochs" in run.output
    assert "test channel: mean squared reconstruction error" in run.output
    arrays = mxnet_ndarray.read((tmp_path / "model" / "model_algo-1").read_bytes())
    assert isinstance(arrays, dict) and set(arrays) == {"mean", "v", "s"}
    assert arrays["mean"].shape == (1, 64) and arrays["v"].shape == (64, 8) and arrays["s"].shape == (8,)
    assert arrays["s"].dtype == np.float32 and np.all(np.diff(arrays["s"]) >= 0)
    reference = PCA(n_components=8).fit(features[:1500].astype(np.float32))
    np.testing.assert_allclose(arrays["s"][::-1], reference.singular_values_, rtol=1e-3)


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        (
            {**REQUIRED, "feature_dim": "10", "num_components": "3"},
            "feature_dim is 10 but the train channel's rows have 64",
        ),
        ({**REQUIRED, "num_components": "20"}, "num_components=20 needs more rows than the train channel's 20"),
    ],
)
def test_data_that_does_not_fit_fails_as_a_client_error(
    tmp_path: Path, hyperparameters: dict[str, str], message: str
) -> None:
    channels = {"train": Channel(csv_rows(load_digits().data[:20]), "text/csv;label_size=0")}
    run = run_container(TRAIN_MODULE, tmp_path, hyperparameters, channels)
    assert run.returncode == 1
    assert run.failure is not None and run.failure.startswith("ClientError: ") and message in run.failure
    assert not list(run.model_dir.iterdir())


# --- inference -----------------------------------------------------------------------------------------------------

MODEL = PCAModel(np.array([1.0, 1.0, 1.0]), np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]), np.array([1.0, 2.0]))


def _serve(tmp_path: Path, model: PCAModel = MODEL) -> PCAModel:
    model.save(tmp_path, "algo-1")
    return inference.model_fn(str(tmp_path))


def test_answers_projections_in_every_format(tmp_path: Path) -> None:
    model = _serve(tmp_path)
    expected = [{"projection": [2.0, 0.0]}, {"projection": [-1.0, 4.0]}]
    answer, answer_type = inference.transform_fn(model, b"1,3,7\n5,0,1\n", "text/csv", "application/json")
    assert answer_type == "application/json" and json.loads(answer) == {"projections": expected}
    sparse = {"instances": [{"data": {"features": {"keys": [0, 1, 2], "values": [1, 3, 7]}}}, {"features": [5, 0, 1]}]}
    lines, _ = inference.transform_fn(model, json.dumps(sparse).encode(), "application/json", "application/jsonlines")
    assert [json.loads(line) for line in lines.splitlines()] == expected
    rows = np.array([[1.0, 3.0, 7.0], [5.0, 0.0, 1.0]], dtype=np.float32)
    body, _ = inference.transform_fn(
        model, recordio_protobuf.write_sparse(scipy.sparse.csr_matrix(rows)), "application/x-recordio-protobuf", ""
    )
    assert json.loads(body) == {"projections": expected}
    body, _ = inference.transform_fn(
        model, recordio_protobuf.write_dense(rows), "application/x-recordio-protobuf", "application/x-recordio-protobuf"
    )
    records = recordio_protobuf.read_records(body)
    assert [record.label["projection"].values.tolist() for record in records] == [[2.0, 0.0], [-1.0, 4.0]]


def test_a_model_without_a_mean_projects_the_raw_rows(tmp_path: Path) -> None:
    (tmp_path / "model_algo-1").write_bytes(
        mxnet_ndarray.write({"s": np.array([1.0], dtype=np.float32), "v": np.array([[1.0], [2.0]], dtype=np.float32)})
    )
    model = inference.model_fn(str(tmp_path))
    answer, _ = inference.transform_fn(model, b"1,1", "text/csv", "application/json")
    assert json.loads(answer) == {"projections": [{"projection": [3.0]}]}


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status"),
    [
        (b"1,2,3", "text/csv", "text/csv", 406),
        (b"1,2,3", "text/plain", "application/json", 415),
        (b"1,2", "text/csv", "application/json", 400),
    ],
)
def test_bad_requests_are_answered_with_their_status(
    tmp_path: Path, body: bytes, content_type: str, accept: str, status: int
) -> None:
    with pytest.raises(InferenceError) as caught:
        inference.transform_fn(_serve(tmp_path), body, content_type, accept)
    assert caught.value.status == status


def test_a_file_that_is_no_pca_model_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "model_algo-1").write_bytes(mxnet_ndarray.write([np.ones((2, 2), dtype=np.float32)]))
    with pytest.raises(ValueError, match="not a PCA model"):
        inference.model_fn(str(tmp_path))


def test_the_inference_module_loads_without_scikit_learn() -> None:
    # A replica's runtime keeps scikit-learn out of sys.modules to start faster.
    code = "import sys; sys.modules['sklearn'] = None; import sageforge.algorithms.pca.inference"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
