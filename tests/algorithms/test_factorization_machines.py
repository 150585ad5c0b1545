"""Factorization Machines: its hyperparameters, the O(nnz k) model and its gradients, its quality against
scikit-learn, the container process (RecordIO-protobuf float32 only), and its inference formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sageforge.algorithms.base import UserError
from sageforge.algorithms.factorization_machines import FACTORIZATION_MACHINES, inference
from sageforge.algorithms.factorization_machines.hyperparameters import parse_hyperparameters
from sageforge.algorithms.factorization_machines.model import FactorizationMachine
from sageforge.algorithms.factorization_machines.training import final_metrics, fit, initial_model
from sageforge.algorithms.first_party.artifact import write_artifact
from sageforge.algorithms.formats import recordio_protobuf
from sageforge.serving.runtime.contract import InferenceError
from tests.algorithms.opt_ml import Channel, csv_rows, run_container

Array = npt.NDArray[np.float64]
REQUIRED = {"feature_dim": "500", "num_factors": "8", "predictor_type": "regressor"}
# Rates that train in a few epochs; SageMaker's defaults (factors_lr 1e-4, one epoch) barely move the factors.
FAST = {
    "epochs": "12",
    "mini_batch_size": "200",
    "bias_lr": "0.05",
    "linear_lr": "0.05",
    "factors_lr": "0.05",
    "factors_init_sigma": "0.1",
    "linear_wd": "0.0001",
    "factors_wd": "0.0001",
}


def ratings(rows: int, seed: int = 0) -> tuple[Any, Array]:
    """One-hot (user, item) rows of 300 users and 200 items whose rating is biases plus a rank-4 interaction."""
    rng = np.random.default_rng(seed)
    users, items = rng.normal(size=(300, 4)), rng.normal(size=(200, 4))
    user_bias, item_bias = 0.5 * rng.normal(size=300), 0.5 * rng.normal(size=200)
    user, item = rng.integers(0, 300, rows), rng.integers(0, 200, rows)
    rating = 3 + user_bias[user] + item_bias[item] + np.sum(users[user] * items[item], axis=1)
    columns = np.column_stack([user, 300 + item]).ravel()
    features = scipy.sparse.csr_matrix(
        (np.ones(2 * rows, np.float32), (np.repeat(np.arange(rows), 2), columns)), shape=(rows, 500)
    )
    return features, rating + 0.3 * rng.normal(size=rows)


def train_in_process(features: Any, labels: Array, **hyperparameters: str) -> FactorizationMachine:
    return fit(features, labels, parse_hyperparameters({**REQUIRED, **FAST, **hyperparameters}), lambda report: None)


# --- hyperparameters -------------------------------------------------------------------------------------------


def test_defaults_follow_the_reference() -> None:
    config = parse_hyperparameters(REQUIRED)
    assert (config.epochs, config.mini_batch_size, config.eps, config.rescale_grad) == (1, 1000, 1e-8, 1.0)
    assert (config.bias.learning_rate, config.linear.learning_rate, config.factors.learning_rate) == (0.1, 0.001, 1e-4)
    assert (config.bias.weight_decay, config.linear.weight_decay, config.factors.weight_decay) == (0.01, 0.001, 1e-5)
    assert config.factors.init.method == "normal" and config.factors.init.spread == 0.001
    uniform = parse_hyperparameters({**REQUIRED, "linear_init_method": "uniform", "linear_init_scale": "0.2"})
    assert (uniform.linear.init.method, uniform.linear.init.spread) == ("uniform", 0.2)
    constant = parse_hyperparameters({**REQUIRED, "bias_init_method": "constant", "bias_init_value": "3"})
    assert (constant.bias.init.method, constant.bias.init.value) == ("constant", 3.0)


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        ({"num_factors": "8", "predictor_type": "regressor"}, "'feature_dim' is a required property"),
        (
            {**REQUIRED, "predictor_type": "multiclass_classifier"},
            "'multiclass_classifier' is not one of ['binary_classifier', 'regressor']",
        ),
        ({**REQUIRED, "num_factors": "0"}, "0 is less than the minimum of 1"),
        ({**REQUIRED, "epochs": "ten"}, "'ten' is not of type 'integer'"),
        ({**REQUIRED, "factors_lr": "-1"}, "-1 is less than the minimum of 0"),
        ({**REQUIRED, "optimizer": "sgd"}, "Additional properties are not allowed ('optimizer' was unexpected)"),
    ],
)
def test_invalid_hyperparameters_fail_with_the_first_party_wording(raw: dict[str, str], cause: str) -> None:
    with pytest.raises(UserError, match="Unable to initialize the algorithm") as error:
        parse_hyperparameters(raw)
    assert f"Caused by: {cause}" in str(error.value)


# --- the model ---------------------------------------------------------------------------------------------------


def test_the_pairwise_term_equals_the_sum_over_pairs() -> None:
    rng = np.random.default_rng(1)
    model = initial_model(parse_hyperparameters({**REQUIRED, "feature_dim": "7", "factors_init_sigma": "1"}), rng)
    x = rng.normal(size=(5, 7)) * (rng.random((5, 7)) < 0.6)
    pairs = np.array(
        [sum(model.v[j] @ model.v[k] * row[j] * row[k] for j in range(7) for k in range(j + 1, 7)) for row in x]
    )
    expected = model.w0[0] + x @ model.w + pairs
    np.testing.assert_allclose(model.raw_scores(x), expected, rtol=1e-9)
    np.testing.assert_allclose(model.raw_scores(scipy.sparse.csr_matrix(x)), expected, rtol=1e-9)


@pytest.mark.parametrize("predictor_type", ["regressor", "binary_classifier"])
def test_one_step_of_plain_gradient_descent_lowers_the_loss(predictor_type: str) -> None:
    """With one batch and Adam's first step (a signed step of the learning rate), the loss falls: the
    gradients point downhill for every parameter group."""
    features, rating = ratings(400)
    labels = rating if predictor_type == "regressor" else (rating > np.median(rating)).astype(float)
    config = {"predictor_type": predictor_type, "mini_batch_size": "400", "factors_init_sigma": "0.5"}
    before = train_in_process(features, labels, **config, epochs="1", bias_lr="0", linear_lr="0", factors_lr="0")
    after = train_in_process(
        features, labels, **config, epochs="1", bias_lr="1e-3", linear_lr="1e-3", factors_lr="1e-3"
    )
    loss_before, loss_after = (final_metrics(model, features, labels) for model in (before, after))
    if predictor_type == "regressor":
        assert loss_after[0][2] < loss_before[0][2]
    else:
        assert loss_after[1][2] < loss_before[1][2]


# --- quality against scikit-learn ------------------------------------------------------------------------------


def test_pairwise_interactions_beat_ridge_on_one_hot_ratings() -> None:
    """On ratings with a user x item interaction, Ridge on the same one-hot features cannot go below the
    interaction's spread (RMSE about 2.1); FM approaches the noise (0.3)."""
    features, rating = ratings(12000)
    train, test = slice(0, 9600), slice(9600, None)
    ridge = Ridge(alpha=1.0).fit(features[train], rating[train])
    ridge_rmse = float(np.sqrt(np.mean((ridge.predict(features[test]) - rating[test]) ** 2)))
    model = train_in_process(features[train], rating[train], epochs="20")
    [(_, _, fm_rmse)] = final_metrics(model, features[test], rating[test])
    assert ridge_rmse > 1.8 and fm_rmse < 0.6, (ridge_rmse, fm_rmse)


def test_binary_accuracy_matches_logistic_regression_where_there_are_no_interactions() -> None:
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    reference = LogisticRegression(max_iter=1000).fit(x_train, y_train).score(x_test, y_test)
    model = train_in_process(
        x_train, y_train.astype(float), predictor_type="binary_classifier", feature_dim="30", mini_batch_size="20"
    )
    accuracy = final_metrics(model, x_test, y_test.astype(float))[0][2]
    assert accuracy >= reference - 0.02, (accuracy, reference)


# --- the container -----------------------------------------------------------------------------------------------


def _channels(features: Any, labels: Array, content_type: str | None = None) -> dict[str, Channel]:
    data = recordio_protobuf.write_sparse(scipy.sparse.csr_matrix(features, dtype=np.float32), labels.astype("f4"))
    return {"train": Channel(data, content_type), "test": Channel(data, "application/x-recordio-protobuf")}


def test_trains_from_sparse_records_and_prints_the_test_metrics(tmp_path: Path) -> None:
    features, rating = ratings(2000)
    labels = (rating > np.median(rating)).astype(float)
    hyperparameters = {**REQUIRED, **FAST, "predictor_type": "binary_classifier", "epochs": "3"}
    run = run_container(FACTORIZATION_MACHINES.train_module, tmp_path, hyperparameters, _channels(features, labels))
    assert run.returncode == 0, run.output[-2000:]
    assert "#quality_metric: host=algo-1, epoch=2, train binary_classification_accuracy <score>=" in run.output
    assert "#quality_metric: host=algo-1, test binary_f_1.000 <score>=" in run.output
    assert (run.model_dir / "model_algo-1").is_file()


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        (
            {"train": Channel(csv_rows(np.ones((4, 3))))},
            "content type text/csv is not supported; Factorization Machines reads application/x-recordio-protobuf only",
        ),
        (
            {"train": Channel(recordio_protobuf.write_dense(np.ones((4, 2)), np.ones(4)), None)},
            "holds float64 tensors; Factorization Machines takes Float32 tensors only",
        ),
        (
            {"train": Channel(recordio_protobuf.write_dense(np.ones((4, 2), "f4"), np.full(4, 2, "f4")), None)},
            "labels other than 0 and 1",
        ),
        (
            {"train": Channel(recordio_protobuf.write_dense(np.ones((4, 3), "f4"), np.ones(4, "f4")), None)},
            "feature_dim is 2 but the train channel's records have 3 features",
        ),
        (
            {"train": Channel(b"", None), "validation": Channel(b"", None)},
            "Channel validation is not supported by Factorization Machines",
        ),
    ],
)
def test_data_it_cannot_read_fails_as_a_client_error(
    tmp_path: Path, channels: dict[str, Channel], message: str
) -> None:
    hyperparameters = {"feature_dim": "2", "num_factors": "2", "predictor_type": "binary_classifier"}
    run = run_container(FACTORIZATION_MACHINES.train_module, tmp_path, hyperparameters, channels)
    assert run.returncode == 1 and run.failure is not None
    assert run.failure.startswith("ClientError: ") and message in run.failure, run.failure


# --- inference ---------------------------------------------------------------------------------------------------


@pytest.fixture
def binary_model(tmp_path: Path) -> FactorizationMachine:
    features, rating = ratings(3000)
    labels = (rating > np.median(rating)).astype(float)
    model = train_in_process(features, labels, predictor_type="binary_classifier", epochs="3")
    write_artifact(tmp_path, "algo-1", model.to_artifact())
    return inference.model_fn(str(tmp_path))


def test_answers_score_and_label_as_json_jsonlines_and_recordio(binary_model: FactorizationMachine) -> None:
    features, _ = ratings(3, seed=5)
    expected = binary_model.predict(features)
    sparse = [
        {"data": {"features": {"keys": row.indices.tolist(), "shape": [500], "values": row.data.tolist()}}}
        for row in features
    ]
    body, kind = inference.transform_fn(
        binary_model, json.dumps({"instances": sparse}).encode(), "application/json", ""
    )
    predictions = json.loads(body)["predictions"]
    assert kind == "application/json" and [set(p) for p in predictions] == [{"score", "predicted_label"}] * 3
    np.testing.assert_allclose([p["score"] for p in predictions], expected.scores)
    assert [p["predicted_label"] for p in predictions] == [int(p["score"] >= 0.5) for p in predictions]
    lines, kind = inference.transform_fn(
        binary_model,
        "\n".join(json.dumps(i) for i in sparse).encode(),
        "application/jsonlines",
        "application/jsonlines",
    )
    assert kind == "application/jsonlines" and [json.loads(line) for line in lines.splitlines()] == predictions
    records, kind = inference.transform_fn(
        binary_model,
        recordio_protobuf.write_sparse(features),
        "application/x-recordio-protobuf",
        "application/x-recordio-protobuf",
    )
    answered = recordio_protobuf.read_records(records)
    assert kind == "application/x-recordio-protobuf" and len(answered) == 3
    assert all(set(record.label) == {"score", "predicted_label"} for record in answered)
    np.testing.assert_allclose([r.label["score"].values[0] for r in answered], expected.scores, rtol=1e-6)


def test_csv_is_refused_and_an_unknown_accept_too(binary_model: FactorizationMachine) -> None:
    with pytest.raises(InferenceError) as refused:
        inference.transform_fn(binary_model, b"1,0,0\n", "text/csv", "application/json")
    assert refused.value.status == 415
    with pytest.raises(InferenceError) as unacceptable:
        inference.transform_fn(binary_model, b'{"instances": []}', "application/json", "text/csv")
    assert unacceptable.value.status == 406
