"""Built-in XGBoost inference, the module a replica's runtime loads (`sageforge.serving.runtime.contract`).

It answers `/invocations` as the SageMaker XGBoost container (1.3-1 and later) does:

- Requests: `text/csv` (no label column; delimiter sniffed from the first line; empty fields are missing),
  `text/libsvm` / `text/x-libsvm` (a label first is optional and ignored; a CSR matrix). Beyond the container,
  which answers them 415, `application/json` (`{"instances": [...]}`) and `application/jsonlines` (one instance
  per line) take the common built-in instance forms: `{"features": [...]}`, `{"data": {"features": {"values":
  [...]}}}` with optional sparse `keys` and `shape`, or a bare list. `application/x-recordio-protobuf` reads
  `features["values"]` of each record, dense (a numpy array) or sparse (then a CSR matrix, absent entries
  missing), and ignores labels, as the container does. A missing Content-Type is read as CSV; any other type
  is 415, and so is a body that does not parse, with the reason.
- Responses by Accept (empty or `*/*`: `$SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`, default `text/csv`): `text/csv`
  writes the predictions comma-joined (the container's historical form; one line per prediction with a
  trailing newline when `$SAGEMAKER_BATCH` is set, i.e. in batch transform); `application/json` writes
  `{"predictions": [{"score": ...}]}`; `application/jsonlines` one `{"score": ...}` per line;
  `application/x-recordio-protobuf` one record per prediction with the score as a float32 tensor in
  `label["score"]` (inferred: the container writes this form, `label[<key>]` float32 for each key, only for
  `$SAGEMAKER_INFERENCE_OUTPUT` selections and fails on it otherwise; the key is the JSON forms'). Any other
  Accept is 406. For `multi:softprob` a score is the list of class probabilities. Images before 1.2-2
  (`$SAGEFORGE_ALGORITHM_VERSION`) ignore Accept and always answer CSV, as those containers did.
- Predictions are bit for bit what `Booster.predict(DMatrix(rows))` gives after loading the artifact with
  xgboost: tree boosters predict in place (`inplace_predict`, the same traversal without building a DMatrix,
  a third cheaper for one row), other boosters through a DMatrix; features are not validated, as in the
  container. Every model file in the model directory (dotfiles aside) is loaded -- a pickled
  `Booster` (artifacts of 1.2 and earlier; unpickling runs the artifact's code, as the container does) or a
  `save_model` file -- and with several (`$SAGEMAKER_INFERENCE_ENSEMBLE`, default true) their predictions are
  averaged, or voted for `multi:softmax` and `binary:hinge`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse
import xgboost

from sageforge.algorithms.formats.recordio_protobuf import read_matrix, write_dense_records
from sageforge.serving.runtime.contract import InferenceError

_CSV, _LIBSVM, _JSON, _JSONLINES = "text/csv", "text/libsvm", "application/json", "application/jsonlines"
_RECORDIO = "application/x-recordio-protobuf"
_REQUEST_TYPES = {
    "text/csv": _CSV,
    "csv": _CSV,
    "text/libsvm": _LIBSVM,
    "text/x-libsvm": _LIBSVM,
    "libsvm": _LIBSVM,
    "application/json": _JSON,
    "application/jsonlines": _JSONLINES,
    "application/x-jsonlines": _JSONLINES,
    "application/x-recordio-protobuf": _RECORDIO,
}
_FORMAT_NAMES = {_CSV: "csv", _LIBSVM: "libsvm", _JSON: "json", _JSONLINES: "jsonlines", _RECORDIO: "recordio-protobuf"}
_ACCEPTS = (_CSV, _JSON, _JSONLINES, _RECORDIO)
# Image versions (tags) whose containers answer CSV whatever the Accept header says.
_ACCEPT_IGNORED_BY = frozenset({"1", "0.90-1", "0.90-2", "1.0-1", "1.2-1"})
_DELIMITERS = ",\t;| "
_PANDAS_MIN_ROWS = 128
_VOTED_OBJECTIVES = ("multi:softmax", "binary:hinge")
_PICKLE_MAGIC = b"\x80"


@dataclass(frozen=True)
class LoadedModel:
    boosters: tuple[xgboost.Booster, ...]
    objective: str
    # Whether the boosters are tree ensembles (gbtree), which predict in place.
    trees: bool


def model_fn(model_dir: str) -> LoadedModel:
    files = sorted(path for path in Path(model_dir).iterdir() if path.is_file() and not path.name.startswith("."))
    if not files:
        raise ValueError(f"the model directory {model_dir} holds no model file")
    if os.environ.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true").lower() != "true":
        files = files[:1]
    boosters = tuple(_load_booster(path) for path in files)
    for booster in boosters:
        # One thread per prediction, as the container sets it: requests run concurrently on the server's
        # threads, and OpenMP threads spinning between small predictions would starve everything else.
        booster.set_param("nthread", "1")
    configs = [json.loads(booster.save_config())["learner"] for booster in boosters]
    trees = all(config["gradient_booster"]["name"] == "gbtree" for config in configs)
    return LoadedModel(boosters, str(configs[0]["objective"]["name"]), trees)


def transform_fn(model: LoadedModel, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    answer_type = _accept(accept)
    rows = _parse(body, content_type)
    try:
        scores = _predict(model, rows)
    except (xgboost.core.XGBoostError, ValueError) as error:
        raise InferenceError(400, f"Unable to evaluate payload provided: {_first_line(error)}") from None
    return _encode(scores, answer_type), answer_type


def _load_booster(path: Path) -> xgboost.Booster:
    data = path.read_bytes()
    if data.startswith(_PICKLE_MAGIC):
        try:
            loaded = pickle.loads(data)
        except Exception as error:  # a damaged pickle can raise almost anything
            raise ValueError(f"{path.name} is not a readable pickle: {error}") from None
        if not isinstance(loaded, xgboost.Booster):
            raise ValueError(f"{path.name} holds a pickled {type(loaded).__name__}, not an xgboost.Booster")
        return loaded
    booster = xgboost.Booster()
    try:
        # From bytes, xgboost recognises the format (UBJSON, JSON, legacy binary) without guessing by file name.
        booster.load_model(bytearray(data))
        return booster
    except xgboost.core.XGBoostError as error:
        raise ValueError(f"{path.name} is not an XGBoost model: {_first_line(error)}") from None


def _accept(accept: str) -> str:
    if os.environ.get("SAGEFORGE_ALGORITHM_VERSION") in _ACCEPT_IGNORED_BY:
        return _CSV
    media_type = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    if not media_type or media_type == "*/*":
        media_type = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", _CSV).lower()
    if media_type not in _ACCEPTS:
        raise InferenceError(
            406, f"Accept type {accept} is not supported. Please use supported accept types: {list(_ACCEPTS)}."
        )
    return media_type


def _parse(body: bytes, content_type: str) -> Any:
    media_type = content_type.split(";", 1)[0].strip().lower() or _CSV
    kind = _REQUEST_TYPES.get(media_type)
    if kind is None:
        raise InferenceError(
            415, f"Content type {content_type} is not supported; use one of: {', '.join(sorted(_REQUEST_TYPES))}."
        )
    try:
        if kind == _RECORDIO:
            return _recordio_rows(body)
        text = body.decode("utf-8-sig")
        if kind == _CSV:
            return _csv_rows(text)
        if kind == _LIBSVM:
            return _libsvm_rows(text)
        if kind == _JSON:
            document = json.loads(text)
            instances = document.get("instances") if isinstance(document, dict) else document
            if not isinstance(instances, list):
                raise ValueError('the body must be {"instances": [...]} or a list of instances')
            return _instance_rows(instances)
        return _instance_rows([json.loads(line) for line in text.splitlines() if line.strip()])
    except (ValueError, TypeError, KeyError) as error:
        name = _FORMAT_NAMES[kind]
        raise InferenceError(
            415, f"Loading {name} data failed with Exception, please ensure data is in {name} format: {error}"
        ) from None


def _csv_rows(text: str) -> npt.NDArray[np.float64]:
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise ValueError("the payload holds no rows")
    delimiter = _delimiter(lines[0])
    # pandas' reader costs about a millisecond to start, more than splitting a few rows by hand (InvokeEndpoint's
    # usual one row); past about a hundred rows it wins, by 4x at a thousand.
    fast = _csv_matrix(text, delimiter, len(lines)) if len(lines) >= _PANDAS_MIN_ROWS else None
    if fast is not None:
        return fast
    rows = [[field.strip() or "nan" for field in line.rstrip("\r").split(delimiter)] for line in lines]
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"line {number} has {len(row)} fields but line 1 has {width} (delimiter {delimiter!r})")
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        for number, row in enumerate(rows, start=1):
            for column, field in enumerate(row, start=1):
                try:
                    float(field)
                except ValueError:
                    raise ValueError(f"line {number}, column {column}: {field[:50]!r} is not a number") from None
        raise


def _csv_matrix(text: str, delimiter: str, row_count: int) -> npt.NDArray[np.float64] | None:
    """The rows parsed by pandas' C reader (batch transform sends megabytes per request), or None when they are
    not a plain numeric matrix; the field-by-field parse then reads them or says what is wrong."""
    try:
        # From bytes: pandas' reader is several times faster on them than on text.
        frame = pd.read_csv(
            io.BytesIO(text.encode()),
            sep=delimiter,
            header=None,
            dtype=np.float64,
            keep_default_na=False,
            na_values=[""],
        )
    except (ValueError, pd.errors.ParserError):
        return None
    matrix: npt.NDArray[np.float64] = frame.to_numpy(dtype=np.float64)
    # pandas pads a short row with missing values: the delimiter count shows whether any row was short.
    if matrix.shape[0] != row_count or text.count(delimiter) != row_count * (matrix.shape[1] - 1):
        return None
    return matrix


def _delimiter(line: str) -> str:
    """The delimiter of the first line: the one candidate it contains, else what csv.Sniffer finds (the container
    sniffs every request; the shortcut gives the same answer for the common case without its cost)."""
    present = [candidate for candidate in _DELIMITERS if candidate in line.strip()]
    if not present:
        return ","  # one column: any delimiter reads it alike
    if len(present) == 1:
        return present[0]
    try:
        return csv.Sniffer().sniff(line[:512], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        raise ValueError(f"could not determine the delimiter of line 1: {line[:50]!r}") from None


def _libsvm_rows(text: str) -> Any:
    rows: list[int] = []
    columns: list[int] = []
    values: list[float] = []
    lines = [line for line in text.split("\n") if line.split("#", 1)[0].strip()]
    for number, line in enumerate(lines):
        for token in line.split("#", 1)[0].split():
            index, separator, value = token.partition(":")
            if not separator or index == "qid":
                continue  # the label (optional at inference) or a ranking group
            rows.append(number)
            columns.append(int(index))
            values.append(float(value))
    if not lines:
        raise ValueError("the payload holds no rows")
    width = max(columns) + 1 if columns else 0
    return scipy.sparse.csr_matrix((values, (rows, columns)), shape=(len(lines), width), dtype=np.float64)


def _recordio_rows(body: bytes) -> Any:
    rows, _ = read_matrix(body)
    if not rows.shape[0]:
        raise ValueError("the payload holds no records")
    return rows


def _instance_rows(instances: Sequence[Any]) -> npt.NDArray[np.float64]:
    if not instances:
        raise ValueError("the payload holds no instances")
    dense = [_instance_values(instance) for instance in instances]
    width = max(len(values) for values in dense)
    rows = np.full((len(dense), width), np.nan)
    for number, values in enumerate(dense):
        rows[number, : len(values)] = values
    return rows


def _instance_values(instance: Any) -> npt.NDArray[np.float64]:
    if isinstance(instance, dict) and "data" in instance:
        instance = instance["data"]
    if isinstance(instance, dict):
        instance = instance["features"]
    if isinstance(instance, dict):
        values = np.asarray(instance["values"], dtype=np.float64)
        if "keys" not in instance:
            return values
        keys = np.asarray(instance["keys"], dtype=np.int64)
        width = int(instance["shape"][0]) if "shape" in instance else int(keys.max(initial=-1)) + 1
        row = np.full(width, np.nan)
        row[keys] = values
        return row
    return np.asarray(instance, dtype=np.float64).reshape(-1)


def _predict(model: LoadedModel, rows: Any) -> npt.NDArray[np.float32]:
    if model.trees:
        predictions = [booster.inplace_predict(rows, validate_features=False) for booster in model.boosters]
    else:
        matrix = xgboost.DMatrix(rows, nthread=1)
        predictions = [booster.predict(matrix, validate_features=False) for booster in model.boosters]
    if len(predictions) == 1:
        return predictions[0]
    stacked = np.stack(predictions)
    if model.objective in _VOTED_OBJECTIVES:
        # The most frequent prediction per row; ties go to the smallest class, as scipy.stats.mode does.
        voted = [np.unique(column, return_counts=True) for column in stacked.T]
        return np.array([values[np.argmax(counts)] for values, counts in voted], dtype=np.float32)
    return np.asarray(stacked.mean(axis=0), dtype=np.float32)


def _encode(scores: npt.NDArray[np.float32], accept: str) -> bytes:
    values: list[Any] = scores.tolist()
    if accept == _JSON:
        return json.dumps({"predictions": [{"score": value} for value in values]}).encode()
    if accept == _JSONLINES:
        return "".join(json.dumps({"score": value}) + "\n" for value in values).encode()
    if accept == _RECORDIO:
        return write_dense_records({}, {"score": scores.reshape(len(scores), -1).astype(np.float32, copy=False)})
    if os.environ.get("SAGEMAKER_BATCH"):
        return "".join(f"{value}\n" for value in values).encode()
    if scores.ndim == 2:
        return "\n".join(",".join(map(str, row)) for row in values).encode()
    return ",".join(map(str, values)).encode()


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
