"""Linear Learner: its hyperparameter rules, the pieces of its training, its quality against scikit-learn, the
container process, and its inference formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.artifact import read_artifact, write_artifact
from sageforge.algorithms.formats import recordio_protobuf
from sageforge.algorithms.linear_learner import LINEAR_LEARNER, inference
from sageforge.algorithms.linear_learner.hyperparameters import parse_hyperparameters
from sageforge.algorithms.linear_learner.losses import make_loss
from sageforge.algorithms.linear_learner.model import ALGORITHM, LinearModel
from sageforge.algorithms.linear_learner.normalization import fit_normalizer
from sageforge.algorithms.linear_learner.selection import calibrate
from sageforge.algorithms.linear_learner.training import Rows, fit, model_grid
from sageforge.serving.runtime.contract import InferenceError
from tests.algorithms.opt_ml import Channel, csv_rows, run_container

Array = npt.NDArray[np.float64]
PREFIX = "Unable to initialize the algorithm. Failed to validate input hyperparameters (caused by ValidationError)"
TRAIN_MODULE = LINEAR_LEARNER.train_module


# --- hyperparameters -------------------------------------------------------------------------------------------


def test_defaults_and_auto_resolution() -> None:
    config = parse_hyperparameters({"predictor_type": "regressor"})
    assert (config.epochs, config.mini_batch_size, config.loss, config.optimizer) == (15, 1000, "squared_loss", "adam")
    assert config.num_models is None and config.learning_rate is None and config.normalize_data
    assert parse_hyperparameters({"predictor_type": "binary_classifier"}).loss == "logistic"
    assert parse_hyperparameters({"predictor_type": "multiclass_classifier", "num_classes": "3"}).num_classes == 3


def test_sdk_spellings_are_read() -> None:
    config = parse_hyperparameters(
        {
            "predictor_type": "binary_classifier",
            "use_bias": "False",
            "normalize_data": "True",
            "binary_classifier_model_selection_criteria": "f1",
            "positive_example_weight_mult": "balanced",
            "feature_dim": "30",
            "learning_rate": "0.05",
        }
    )
    assert not config.use_bias and config.normalize_data and config.selection_criteria == "f_beta"
    assert config.positive_example_weight_mult == "balanced" and config.feature_dim == 30
    assert config.learning_rate == 0.05


def test_a_tuning_job_turns_the_parallel_models_off() -> None:
    config = parse_hyperparameters(
        {
            "predictor_type": "binary_classifier",
            "num_models": "8",
            "_tuning_objective_metric": "validation:objective_loss",
        }
    )
    assert config.num_models == 1


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        ({}, "'predictor_type' is a required property"),
        ({"predictor_type": "multiclass_classifier"}, "'num_classes' is a required property"),
        ({"predictor_type": "regressor", "loss": "hinge_loss"}, "'hinge_loss' is not one of ['auto', 'squared_loss', "),
        (
            {"predictor_type": "binary_classifier", "loss": "softmax_loss"},
            "'softmax_loss' is not one of ['auto', 'logistic', 'hinge_loss']",
        ),
        (
            {"predictor_type": "classifier"},
            "'classifier' is not one of ['binary_classifier', 'multiclass_classifier', 'regressor']",
        ),
        ({"predictor_type": "regressor", "epochs": "0"}, "0 is less than the minimum of 1"),
        ({"predictor_type": "regressor", "feature_dim": "1.5"}, "'1.5' is not valid under any of the given schemas"),
        ({"predictor_type": "multiclass_classifier", "num_classes": "2"}, "2 is less than the minimum of 3"),
        ({"predictor_type": "regressor", "quantile": "1"}, "1 is greater than or equal to the maximum of 1"),
        ({"predictor_type": "regressor", "foo": "1"}, "Additional properties are not allowed ('foo' was unexpected)"),
    ],
)
def test_invalid_hyperparameters_are_worded_as_the_container_words_them(raw: dict[str, str], cause: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_hyperparameters(raw)
    assert str(caught.value).startswith(f"{PREFIX}\n\nCaused by: {cause}")


def test_the_model_grid_sweeps_what_is_auto() -> None:
    grid = model_grid(parse_hyperparameters({"predictor_type": "binary_classifier"}), balanced_weight=3.0)
    assert grid.size == 16 and len(set(zip(grid.learning_rates, grid.weight_decays, strict=True))) == 16
    fixed = model_grid(
        parse_hyperparameters({"predictor_type": "regressor", "learning_rate": "0.2", "num_models": "3"}), 1
    )
    assert fixed.size == 3 and set(fixed.learning_rates) == {0.2} and len(set(fixed.weight_decays)) == 3
    swept = model_grid(
        parse_hyperparameters({"predictor_type": "binary_classifier", "positive_example_weight_mult": "auto"}), 3.0
    )
    assert set(swept.positive_weights) == {1.0, 3.0}


# --- training pieces ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "squared_loss",
        "absolute_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
        "huber_loss",
        "logistic",
        "hinge_loss",
        "softmax_loss",
    ],
)
def test_loss_gradients_match_finite_differences(name: str) -> None:
    rng = np.random.default_rng(0)
    outputs = 4 if name == "softmax_loss" else 1
    scores = rng.normal(size=(20, 3, outputs))
    labels = rng.integers(0, outputs if name == "softmax_loss" else 2, size=20).astype(float)
    if name not in ("logistic", "hinge_loss", "softmax_loss"):
        labels = rng.normal(size=20)
    loss = make_loss(name, insensitivity=0.1, huber_delta=0.5, quantile=0.3, margin=1.0)
    _, gradient = loss(scores, labels)
    step = 1e-6
    for index in [(0, 0, 0), (5, 1, outputs - 1), (19, 2, 0)]:
        moved = scores.copy()
        moved[index] += step
        numeric = (loss(moved, labels)[0][index[:2]] - loss(scores, labels)[0][index[:2]]) / step
        assert numeric == pytest.approx(gradient[index], abs=1e-4)


@pytest.mark.parametrize("sparse", [False, True])
def test_the_normalised_model_folds_into_raw_weights(sparse: bool) -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(loc=5, scale=[1, 10, 0.1, 3], size=(200, 4))
    labels = features @ [1.0, -2.0, 3.0, 0.5] + 7
    config = parse_hyperparameters({"predictor_type": "regressor"})
    matrix = scipy.sparse.csr_matrix(features) if sparse else features
    normalizer = fit_normalizer(matrix, labels, config, rng)
    assert normalizer.label_scale != 1 and normalizer.label_mean != 0
    assert (normalizer.feature_mean == 0).all() == sparse
    weights, bias = rng.normal(size=(4, 1)), rng.normal(size=1)
    normalised = np.asarray(normalizer.features(matrix) @ weights) + bias
    raw_weights, raw_bias = normalizer.to_original(weights, bias)
    np.testing.assert_allclose(
        normalised * normalizer.label_scale + normalizer.label_mean, features @ raw_weights + raw_bias, rtol=1e-4
    )


def test_calibration_finds_the_threshold_of_each_criterion() -> None:
    scores = np.array([[0.9], [0.8], [0.7], [0.6], [0.4], [0.3], [0.2], [0.1]])
    positive = np.array([True, True, False, True, False, False, True, False])

    def best(criterion: str, **extra: str) -> tuple[float, float]:
        config = parse_hyperparameters(
            {"predictor_type": "binary_classifier", "binary_classifier_model_selection_criteria": criterion, **extra}
        )
        values, thresholds = calibrate(scores, positive, config)
        return float(values[0]), float(thresholds[0])

    accuracy, threshold = best("accuracy")
    assert accuracy == 0.75 and 0.4 <= threshold < 0.6  # the cut nearest 0.5 among the best ones
    precision, threshold = best("precision_at_target_recall", target_recall="0.99")
    assert precision == pytest.approx(4 / 7) and 0.1 <= threshold < 0.2
    recall, threshold = best("recall_at_target_precision", target_precision="0.99")
    assert recall == 0.5 and 0.7 <= threshold < 0.8


@pytest.mark.parametrize(
    "hyperparameters",
    [
        {"predictor_type": "regressor", "loss": "absolute_loss", "optimizer": "sgd"},
        {"predictor_type": "regressor", "loss": "huber_loss", "optimizer": "rmsprop", "use_bias": "false"},
        {"predictor_type": "regressor", "loss": "quantile_loss", "quantile": "0.5", "normalize_label": "false"},
        {"predictor_type": "regressor", "loss": "eps_insensitive_squared_loss", "l1": "0.001", "init_method": "normal"},
        {
            "predictor_type": "binary_classifier",
            "loss": "hinge_loss",
            "binary_classifier_model_selection_criteria": "f_beta",
        },
        {
            "predictor_type": "binary_classifier",
            "positive_example_weight_mult": "auto",
            "binary_classifier_model_selection_criteria": "recall_at_target_precision",
        },
        {
            "predictor_type": "multiclass_classifier",
            "num_classes": "3",
            "balance_multiclass_weights": "true",
            "optimizer": "sgd",
        },
    ],
)
def test_every_loss_and_optimizer_learns(hyperparameters: dict[str, str]) -> None:
    rng = np.random.default_rng(2)
    features = rng.normal(size=(300, 5))
    signal = features @ np.array([1.0, -2.0, 0.5, 0.0, 1.5])
    if hyperparameters["predictor_type"] == "regressor":
        labels = 3 * signal + (0 if hyperparameters.get("use_bias") == "false" else 5)
    elif hyperparameters["predictor_type"] == "binary_classifier":
        labels = (signal > 0.5).astype(float)
    else:
        labels = np.digitize(signal, [-1.0, 1.0]).astype(float)
    config = parse_hyperparameters({"epochs": "10", "mini_batch_size": "30", "num_models": "4", **hyperparameters})
    result = fit(Rows(features[:200], labels[:200]), None, config, lambda report: None)
    predictions = result.model.predict(features[200:])
    if predictions.labels is None:
        assert np.sqrt(np.mean((predictions.scores - labels[200:]) ** 2)) < 0.5 * labels.std()
    else:
        assert np.mean(predictions.labels == labels[200:]) > 0.85


# --- quality against scikit-learn, on the same split ----------------------------------------------------------------


def _split(features: Array, labels: Array, stratify: bool) -> tuple[Rows, Rows, Array, Array]:
    """60% train, 20% validation, 20% test; the reference model trains on the same 60%."""
    x, test_x, y, test_y = train_test_split(
        features, labels, test_size=0.2, random_state=0, stratify=labels if stratify else None
    )
    train_x, validation_x, train_y, validation_y = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y if stratify else None
    )
    return (
        Rows(train_x.astype(np.float32), train_y.astype(float)),
        Rows(validation_x.astype(np.float32), validation_y.astype(float)),
        test_x,
        test_y,
    )


def _reference(model: Callable[[], object], train: Rows, test_x: Array) -> Array:
    scaler = StandardScaler().fit(train.features)
    fitted = model().fit(scaler.transform(train.features), train.labels)  # type: ignore[attr-defined]
    predictions: Array = fitted.predict(scaler.transform(test_x))
    return predictions


def test_binary_accuracy_is_within_2_percent_of_logistic_regression() -> None:
    data = load_breast_cancer()
    train, validation, test_x, test_y = _split(data.data, data.target, stratify=True)
    config = parse_hyperparameters({"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "30"})
    model = fit(train, validation, config, lambda report: None).model
    accuracy = float(np.mean(model.predict(test_x).labels == test_y))
    reference = float(np.mean(_reference(lambda: LogisticRegression(max_iter=5000), train, test_x) == test_y))
    assert accuracy >= reference - 0.02, (accuracy, reference)


def test_regression_rmse_is_within_2_percent_of_ridge() -> None:
    data = load_diabetes()
    train, validation, test_x, test_y = _split(data.data, data.target, stratify=False)
    config = parse_hyperparameters({"predictor_type": "regressor", "mini_batch_size": "32", "epochs": "30"})
    model = fit(train, validation, config, lambda report: None).model
    rmse = float(np.sqrt(np.mean((model.predict(test_x).scores - test_y) ** 2)))
    reference = float(np.sqrt(np.mean((_reference(Ridge, train, test_x) - test_y) ** 2)))
    assert rmse <= reference * 1.02, (rmse, reference)


def test_multiclass_accuracy_is_close_to_logistic_regression() -> None:
    data = load_wine()
    train, validation, test_x, test_y = _split(data.data, data.target, stratify=True)
    config = parse_hyperparameters(
        {"predictor_type": "multiclass_classifier", "num_classes": "3", "mini_batch_size": "16", "epochs": "30"}
    )
    model = fit(train, validation, config, lambda report: None).model
    accuracy = float(np.mean(model.predict(test_x).labels == test_y))
    reference = float(np.mean(_reference(lambda: LogisticRegression(max_iter=5000), train, test_x) == test_y))
    assert accuracy >= reference - 0.03, (accuracy, reference)


# --- the container -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def breast_cancer_rows() -> Array:
    data = load_breast_cancer()
    rows: Array = np.column_stack([data.target, data.data])[np.random.default_rng(3).permutation(len(data.target))]
    return rows


def _model(run_dir: Path) -> LinearModel:
    return inference.model_fn(str(run_dir / "model"))


def test_trains_from_recordio_protobuf_by_default(tmp_path: Path, breast_cancer_rows: Array) -> None:
    """The SDK's record_set(): float32 records, no ContentType on the channel."""
    features, labels = breast_cancer_rows[:, 1:].astype(np.float32), breast_cancer_rows[:, 0].astype(np.float32)
    channels = {
        "train": Channel(recordio_protobuf.write_dense(features[:400], labels[:400]), content_type=None),
        "validation": Channel(recordio_protobuf.write_dense(features[400:], labels[400:]), content_type=None),
    }
    hyperparameters = {
        "predictor_type": "binary_classifier",
        "feature_dim": "30",
        "mini_batch_size": "40",
        "epochs": "5",
    }
    run = run_container(TRAIN_MODULE, tmp_path, hyperparameters, channels)
    assert run.returncode == 0, run.output
    assert "#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=" in run.output
    predictions = _model(tmp_path).predict(features[400:])
    assert predictions.labels is not None and np.mean(predictions.labels == labels[400:]) > 0.93


def test_trains_on_sparse_records_with_csv_validation(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    dense = rng.normal(size=(300, 20)) * (rng.random(size=(300, 20)) < 0.2)
    target = dense @ rng.normal(size=20) + 4
    channels = {
        "train": Channel(
            recordio_protobuf.write_sparse(
                scipy.sparse.csr_matrix(dense[:200], dtype=np.float32), target[:200].astype(np.float32)
            ),
            "application/x-recordio-protobuf",
        ),
        "validation": Channel(csv_rows(np.column_stack([target[200:], dense[200:]])), "text/csv;label_size=1"),
    }
    run = run_container(
        TRAIN_MODULE, tmp_path, {"predictor_type": "regressor", "mini_batch_size": "20", "epochs": "20"}, channels
    )
    assert run.returncode == 0, run.output
    predictions = _model(tmp_path).predict(scipy.sparse.csr_matrix(dense[200:]))
    assert np.sqrt(np.mean((predictions.scores - target[200:]) ** 2)) < 0.3 * target.std()


@pytest.mark.parametrize(
    ("hyperparameters", "transform", "message"),
    [
        (
            {"predictor_type": "binary_classifier"},
            lambda rows: np.column_stack([rows[:, 0] * 2, rows[:, 1:]]),
            "labels other than 0 and 1",
        ),
        (
            {"predictor_type": "multiclass_classifier", "num_classes": "3"},
            lambda rows: np.column_stack([rows[:, 0] + 2.5, rows[:, 1:]]),
            "labels outside 0 ... 2",
        ),
        (
            {"predictor_type": "binary_classifier", "feature_dim": "12"},
            lambda rows: rows,
            "feature_dim is 12 but the train channel's rows have 30 features",
        ),
    ],
)
def test_data_that_does_not_fit_fails_as_a_client_error(
    tmp_path: Path,
    breast_cancer_rows: Array,
    hyperparameters: dict[str, str],
    transform: Callable[[Array], Array],
    message: str,
) -> None:
    channels = {"train": Channel(csv_rows(transform(breast_cancer_rows[:100])))}
    run = run_container(TRAIN_MODULE, tmp_path, hyperparameters, channels)
    assert run.returncode == 1
    assert run.failure is not None and run.failure.startswith("ClientError: ") and message in run.failure


def test_a_channel_without_labels_fails_as_a_client_error(tmp_path: Path, breast_cancer_rows: Array) -> None:
    channels = {"train": Channel(csv_rows(breast_cancer_rows[:50]), "text/csv; label_size=0")}
    run = run_container(TRAIN_MODULE, tmp_path, {"predictor_type": "regressor"}, channels)
    assert run.returncode == 1 and run.failure is not None and "has no labels" in run.failure


# --- inference -----------------------------------------------------------------------------------------------------


def _serve(tmp_path: Path, model: LinearModel) -> LinearModel:
    write_artifact(tmp_path, "algo-1", model.to_artifact())
    assert read_artifact(tmp_path / "model_algo-1", ALGORITHM).metadata["feature_dim"] == model.feature_dim
    return inference.model_fn(str(tmp_path))


BINARY = LinearModel("binary_classifier", "logistic", np.array([[1.0], [-1.0], [0.5]]), np.array([0.0]), threshold=0.5)
MULTICLASS = LinearModel("multiclass_classifier", "softmax_loss", np.eye(3), np.zeros(3), threshold=None)
REGRESSOR = LinearModel("regressor", "squared_loss", np.array([[2.0], [0.0], [1.0]]), np.array([1.0]), threshold=None)


def _invoke(model: LinearModel, body: bytes, content_type: str, accept: str = "application/json") -> tuple[bytes, str]:
    return inference.transform_fn(model, body, content_type, accept)


def test_binary_answers_score_and_label_in_every_format(tmp_path: Path) -> None:
    model = _serve(tmp_path, BINARY)
    rows = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]], dtype=np.float32)
    expected = [
        {"score": pytest.approx(1 / (1 + np.exp(-2))), "predicted_label": 1},
        {"score": pytest.approx(1 / (1 + np.exp(2))), "predicted_label": 0},
    ]
    csv_answer, _ = _invoke(model, b"2,0,0\n0,2,0\n", "text/csv")
    assert json.loads(csv_answer) == {"predictions": expected}
    dense = {"instances": [{"features": [2, 0, 0]}, {"data": {"features": {"values": [0, 2, 0]}}}]}
    assert json.loads(_invoke(model, json.dumps(dense).encode(), "application/json")[0]) == {"predictions": expected}
    sparse = {
        "instances": [
            {"data": {"features": {"keys": [0], "shape": [3], "values": [2]}}},
            {"data": {"features": {"keys": [1], "values": [2]}}},
        ]
    }
    lines, answer_type = _invoke(model, json.dumps(sparse).encode(), "application/json", "application/jsonlines")
    assert answer_type == "application/jsonlines" and [json.loads(line) for line in lines.splitlines()] == expected
    jsonlines = b'{"features": [2, 0, 0]}\n{"features": [0, 2, 0]}\n'
    assert json.loads(_invoke(model, jsonlines, "application/jsonlines", "*/*")[0]) == {"predictions": expected}
    body, answer_type = _invoke(
        model, recordio_protobuf.write_dense(rows), "application/x-recordio-protobuf", "application/x-recordio-protobuf"
    )
    assert answer_type == "application/x-recordio-protobuf"
    records = recordio_protobuf.read_records(body)
    assert [record.label["predicted_label"].values.tolist() for record in records] == [[1.0], [0.0]]
    assert records[0].label["score"].values.dtype == np.float32
    assert records[0].label["score"].values[0] == pytest.approx(1 / (1 + np.exp(-2)), rel=1e-6)


def test_multiclass_and_regressor_answers(tmp_path: Path) -> None:
    multiclass = _serve(tmp_path / "multiclass", MULTICLASS)
    (prediction,) = json.loads(_invoke(multiclass, b"0,3,0", "text/csv")[0])["predictions"]
    assert (
        prediction["predicted_label"] == 1
        and len(prediction["score"]) == 3
        and sum(prediction["score"]) == pytest.approx(1)
    )
    regressor = _serve(tmp_path / "regressor", REGRESSOR)
    assert json.loads(_invoke(regressor, b"1,5,2", "text/csv")[0]) == {"predictions": [{"score": 5.0}]}
    assert json.loads(_invoke(regressor, b"9,1,5,2", "text/csv; label_size=1")[0]) == {"predictions": [{"score": 5.0}]}


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status"),
    [
        (b"1,2,3", "text/csv", "text/csv", 406),
        (b"1,2,3", "text/plain", "application/json", 415),
        (b"1,2", "text/csv", "application/json", 400),
        (b"1,x,3", "text/csv", "application/json", 400),
        (
            b'{"instances": [{"data": {"features": {"keys": [7], "values": [1]}}}]}',
            "application/json",
            "application/json",
            400,
        ),
        (b"not json", "application/json", "application/json", 400),
    ],
)
def test_bad_requests_are_answered_with_their_status(
    tmp_path: Path, body: bytes, content_type: str, accept: str, status: int
) -> None:
    model = _serve(tmp_path, BINARY)
    with pytest.raises(InferenceError) as caught:
        _invoke(model, body, content_type, accept)
    assert caught.value.status == status


def test_an_artifact_of_another_algorithm_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "model_algo-1").write_bytes(b"PK not really a zip")
    with pytest.raises(ValueError, match="not a sageforge linear-learner model"):
        inference.model_fn(str(tmp_path))
