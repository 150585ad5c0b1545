"""Built-in XGBoost inference as a replica runs it: request formats, Accept handling, errors, and predictions
equal to loading the artifact with xgboost."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import xgboost
from sklearn.datasets import load_breast_cancer

from sageforge.algorithms.xgboost.inference import LoadedModel, model_fn, transform_fn
from sageforge.serving.runtime.contract import InferenceError

DATA = load_breast_cancer()
ROWS = DATA.data[:5]


@pytest.fixture(scope="module")
def booster() -> xgboost.Booster:
    return xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(DATA.data, DATA.target), 10)


@pytest.fixture
def model(booster: xgboost.Booster, tmp_path: Path) -> LoadedModel:
    booster.save_model(tmp_path / "xgboost-model.json")
    (tmp_path / ".hidden").write_text("not a model, and ignored")
    return model_fn(str(tmp_path))


def expected(booster: xgboost.Booster, rows: np.ndarray = ROWS) -> list[float]:
    return [float(value) for value in booster.predict(xgboost.DMatrix(rows))]


def csv(rows: np.ndarray, delimiter: str = ",") -> bytes:
    return "\n".join(delimiter.join(repr(float(v)) for v in row) for row in rows).encode()


def scores(answer: bytes) -> list[float]:
    return [float(value) for value in answer.decode().split(",")]


def test_csv_rows_predict_what_xgboost_predicts(model: LoadedModel, booster: xgboost.Booster) -> None:
    answer, content_type = transform_fn(model, csv(ROWS), "text/csv", "")
    assert content_type == "text/csv"
    assert scores(answer) == expected(booster)


@pytest.mark.parametrize("delimiter", ["\t", ";", "|", " "])
def test_the_csv_delimiter_is_sniffed(model: LoadedModel, booster: xgboost.Booster, delimiter: str) -> None:
    answer, _ = transform_fn(model, csv(ROWS, delimiter), "text/csv; charset=utf-8", "text/csv")
    assert scores(answer) == expected(booster)


def test_empty_csv_fields_are_missing_values(model: LoadedModel, booster: xgboost.Booster) -> None:
    row = ROWS[0].copy()
    row[[1, 4]] = np.nan
    text = ",".join("" if np.isnan(v) else repr(float(v)) for v in row)
    answer, _ = transform_fn(model, text.encode(), "text/csv", "text/csv")
    assert scores(answer) == expected(booster, row[None, :])


def test_libsvm_rows_with_or_without_labels(model: LoadedModel, booster: xgboost.Booster) -> None:
    lines = [" ".join(f"{i}:{v!r}" for i, v in enumerate(map(float, row)) if i % 3) for row in ROWS]
    body = "\n".join(f"1 {line}" if n % 2 else line for n, line in enumerate(lines)).encode()
    sparse = ROWS.copy()
    sparse[:, ::3] = np.nan
    answer, _ = transform_fn(model, body, "text/x-libsvm", "text/csv")
    assert scores(answer) == expected(booster, sparse)


def test_json_and_jsonlines_instances(model: LoadedModel, booster: xgboost.Booster) -> None:
    instances = [{"features": list(map(float, ROWS[0]))}, {"data": {"features": {"values": list(map(float, ROWS[1]))}}}]
    answer, content_type = transform_fn(
        model, json.dumps({"instances": instances}).encode(), "application/json", "application/json"
    )
    assert content_type == "application/json"
    assert json.loads(answer) == {"predictions": [{"score": s} for s in expected(booster, ROWS[:2])]}
    sparse = {"data": {"features": {"keys": [0, 2], "values": [float(ROWS[2][0]), float(ROWS[2][2])], "shape": [30]}}}
    lines = "\n".join(json.dumps(line) for line in [list(map(float, ROWS[0])), sparse]).encode()
    answer, content_type = transform_fn(model, lines, "application/jsonlines", "application/jsonlines")
    row = np.full(30, np.nan)
    row[[0, 2]] = ROWS[2][[0, 2]]
    assert content_type == "application/jsonlines"
    assert [json.loads(line)["score"] for line in answer.decode().splitlines()] == expected(
        booster, np.vstack([ROWS[0], row])
    )


def recordio_scores(answer: bytes) -> list[list[float]]:
    """The scores of a RecordIO-protobuf answer, as the SDK's predictors read them."""
    from sagemaker.deserializers import RecordDeserializer  # the SDK takes seconds to import: only where used

    records = RecordDeserializer().deserialize(io.BytesIO(answer), "application/x-recordio-protobuf")
    return [list(record.label["score"].float32_tensor.values) for record in records]


def test_recordio_protobuf_requests_and_answers(model: LoadedModel, booster: xgboost.Booster) -> None:
    from sagemaker.amazon.common import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor
    from sagemaker.serializers import RecordSerializer

    # What the SDK's predictors send: dense float64 records, without labels.
    body = RecordSerializer().serialize(ROWS).read()
    answer, content_type = transform_fn(model, body, "application/x-recordio-protobuf", "text/csv")
    assert content_type == "text/csv" and scores(answer) == expected(booster)
    answer, content_type = transform_fn(
        model, body, "application/x-recordio-protobuf", "application/x-recordio-protobuf"
    )
    assert content_type == "application/x-recordio-protobuf"
    assert recordio_scores(answer) == [[score] for score in expected(booster)]

    # float32 rows with labels (ignored), and sparse rows whose absent entries are missing values.
    rows32 = ROWS.astype(np.float32)
    labelled = io.BytesIO()
    write_numpy_to_dense_tensor(labelled, rows32, np.ones(len(rows32), dtype=np.float32))
    answer, _ = transform_fn(model, labelled.getvalue(), "application/x-recordio-protobuf", "text/csv")
    assert scores(answer) == expected(booster, rows32)
    sparse_rows = rows32.copy()
    sparse_rows[:, ::3] = 0
    sparse = io.BytesIO()
    write_spmatrix_to_sparse_tensor(sparse, scipy.sparse.csr_matrix(sparse_rows))
    answer, _ = transform_fn(model, sparse.getvalue(), "application/x-recordio-protobuf", "text/csv")
    missing = sparse_rows.copy()
    missing[missing == 0] = np.nan
    assert scores(answer) == expected(booster, missing)


def test_accept_decides_the_answer_and_unsupported_accepts_are_406(
    model: LoadedModel, booster: xgboost.Booster, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert transform_fn(model, csv(ROWS[:1]), "text/csv", "*/*")[1] == "text/csv"
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
    assert transform_fn(model, csv(ROWS[:1]), "text/csv", "")[1] == "application/json"
    with pytest.raises(InferenceError) as caught:
        transform_fn(model, csv(ROWS[:1]), "text/csv", "image/png")
    assert caught.value.status == 406
    monkeypatch.setenv("SAGEFORGE_ALGORITHM_VERSION", "1.0-1")  # older images answer CSV whatever is asked
    assert transform_fn(model, csv(ROWS[:1]), "text/csv", "image/png")[1] == "text/csv"
    monkeypatch.setenv("SAGEFORGE_ALGORITHM_VERSION", "1.7-1")
    monkeypatch.setenv("SAGEMAKER_BATCH", "true")
    answer, _ = transform_fn(model, csv(ROWS[:2]), "text/csv", "text/csv")
    assert answer.decode() == "".join(f"{s}\n" for s in expected(booster, ROWS[:2]))


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"1,2,3\n4,abc,6", "text/csv", 415, "line 2, column 2: 'abc' is not a number"),
        (b"1,2,3\n4,5", "text/csv", 415, "line 2 has 2 fields but line 1 has 3"),
        (b"0:1 x:2", "text/libsvm", 415, "Loading libsvm data failed"),
        (b"{", "application/json", 415, "Loading json data failed"),
        (b"\x0a\x0b", "application/x-recordio-protobuf", 415, "Loading recordio-protobuf data failed"),
        (b"\x0a\x23\xd7\xce\x00\x00\x00\x00", "application/x-recordio-protobuf", 415, "no features['values']"),
        (b"1,2", "image/png", 415, "Content type image/png is not supported"),
        (",".join(["1"] * 40).encode(), "text/csv", 400, "Unable to evaluate payload provided"),
    ],
)
def test_bad_requests_are_answered_with_the_container_status(
    model: LoadedModel, body: bytes, content_type: str, status: int, words: str
) -> None:
    with pytest.raises(InferenceError) as caught:
        transform_fn(model, body, content_type, "text/csv")
    assert caught.value.status == status
    assert words in caught.value.message


def test_pickled_boosters_load_and_several_models_are_averaged(booster: xgboost.Booster, tmp_path: Path) -> None:
    other = xgboost.train({"objective": "binary:logistic", "max_depth": 2}, xgboost.DMatrix(DATA.data, DATA.target), 5)
    (tmp_path / "xgboost-model").write_bytes(pickle.dumps(booster, protocol=4))
    other.save_model(tmp_path / "xgboost-model-1.ubj")
    answer, _ = transform_fn(model_fn(str(tmp_path)), csv(ROWS), "text/csv", "text/csv")
    mean = (booster.predict(xgboost.DMatrix(ROWS)) + other.predict(xgboost.DMatrix(ROWS))) / 2
    assert scores(answer) == [float(v) for v in mean.astype(np.float32)]


def test_a_directory_without_a_model_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(b"definitely not a booster")
    with pytest.raises(ValueError, match="xgboost-model is not an XGBoost model"):
        model_fn(str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no model file"):
        model_fn(str(empty))


@pytest.mark.parametrize("params", [{"booster": "gblinear"}, {"booster": "dart", "rate_drop": 0.1}])
def test_other_boosters_predict_what_xgboost_predicts(params: dict[str, object], tmp_path: Path) -> None:
    trained = xgboost.train({"objective": "binary:logistic", **params}, xgboost.DMatrix(DATA.data, DATA.target), 5)
    trained.save_model(tmp_path / "xgboost-model.ubj")
    answer, _ = transform_fn(model_fn(str(tmp_path)), csv(ROWS), "text/csv", "text/csv")
    assert scores(answer) == expected(trained)


def test_class_probabilities_are_lists(tmp_path: Path) -> None:
    labels = np.digitize(DATA.data[:, 0], [12, 16])
    trained = xgboost.train({"objective": "multi:softprob", "num_class": 3}, xgboost.DMatrix(DATA.data, labels), 5)
    trained.save_model(tmp_path / "xgboost-model.ubj")
    model = model_fn(str(tmp_path))
    probabilities = trained.predict(xgboost.DMatrix(ROWS[:2])).tolist()
    answer, _ = transform_fn(model, csv(ROWS[:2]), "text/csv", "application/json")
    assert json.loads(answer) == {"predictions": [{"score": row} for row in probabilities]}
    answer, _ = transform_fn(model, csv(ROWS[:2]), "text/csv", "text/csv")
    assert answer.decode() == "\n".join(",".join(map(str, row)) for row in probabilities)
    answer, _ = transform_fn(model, csv(ROWS[:2]), "text/csv", "application/x-recordio-protobuf")
    assert recordio_scores(answer) == probabilities
