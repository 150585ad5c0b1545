"""The contract every built-in algorithm in the registry keeps, checked by running it.

Each algorithm has a case in `CASES`: a few small training jobs (data generator, hyperparameters, channels),
the hyperparameter that is required, and the wording of its rejections. For each algorithm:

- its declaration is consistent: unique metric names, every regex compiles with a capture group, every
  registered definition is a known one, every tuning objective has a known definition, the registered set
  fits the API's 40, and its modules exist;
- every registered regex reads a line the algorithm really prints, as the engine scrapes its output
  (`sageforge.engine.metrics`), when trained on the case's tiny data sets in a temporary `/opt/ml`;
- the trained model loads with its inference module and answers a CSV and a JSON request;
- an unknown hyperparameter, and a missing required one, fail the job with `output/failure` saying so.

A new built-in adds its case here (`test_every_registered_algorithm_has_a_case` fails until it does).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse

from sageforge.algorithms.base import BuiltinAlgorithm
from sageforge.algorithms.formats import recordio_protobuf
from sageforge.algorithms.registry import builtin_algorithms
from sageforge.engine.metrics import MetricScraper
from sageforge.engine.workload import MetricDefinition
from tests.algorithms.opt_ml import Channel, Run, csv_rows, run_container
from tests.algorithms.test_ipinsights import logins

Rows = npt.NDArray[np.float64]
# XGBoost guesses the format of a model file without extension (UBJSON, correctly) and says so.
pytestmark = pytest.mark.filterwarnings("ignore:.*Unknown file format")


def _classes(rows: int, features: int, classes: int, seed: int) -> Rows:
    """Label-first rows whose label is the most active of `classes` linear scores of the features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    if classes == 2:
        labels = (x @ rng.normal(size=features) + 0.3 * rng.normal(size=rows) > 0).astype(float)
    else:
        labels = np.argmax(x @ rng.normal(size=(features, classes)), axis=1).astype(float)
    return np.column_stack([labels, x])


def _regression(rows: int, features: int, seed: int, *, positive: bool = False) -> Rows:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    target = x @ rng.normal(size=features) + 0.1 * rng.normal(size=rows)
    return np.column_stack([np.exp(target / 4) if positive else 3 * target + 10, x])


def _split(rows: Rows, *names: str) -> dict[str, Channel]:
    """`rows` cut into equal consecutive CSV channels, one per name."""
    return {name: Channel(csv_rows(part)) for name, part in zip(names, np.array_split(rows, len(names)), strict=True)}


def _anomalies(rows: int, features: int, seed: int) -> Rows:
    """Label-first rows, 1 for the one in twenty drawn far from the others' Gaussian cloud."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(rows) % 20 == 7).astype(float)
    x = rng.normal(size=(rows, features)) + labels[:, None] * rng.choice([-6.0, 6.0], size=(rows, features))
    return np.column_stack([labels, x])


def _split_rows(rows: Rows, *names: str) -> list[tuple[str, Rows]]:
    """`rows` cut into equal consecutive parts, one per name."""
    return list(zip(names, np.array_split(rows, len(names)), strict=True))


def _recordio(rows: Rows, *names: str, sparse: bool = False) -> dict[str, Channel]:
    """Label-first `rows` cut like `_split`, as float32 RecordIO-protobuf channels (sparse: zeros left out)."""
    channels = {}
    for name, part in zip(names, np.array_split(rows, len(names)), strict=True):
        features, labels = part[:, 1:].astype(np.float32), part[:, 0].astype(np.float32)
        data = (
            recordio_protobuf.write_sparse(scipy.sparse.csr_matrix(features), labels)
            if sparse
            else (recordio_protobuf.write_dense(features, labels))
        )
        channels[name] = Channel(data, "application/x-recordio-protobuf")
    return channels


def _recordio_and_json_requests(run: Run) -> list[tuple[bytes, str]]:
    """The first three rows of the run's RecordIO train file as a RecordIO request and a sparse JSON one."""
    features, _ = recordio_protobuf.read_matrix((run.base / "input" / "data" / "train" / "data").read_bytes())
    rows = scipy.sparse.csr_matrix(features[:3])
    instances = [
        {"data": {"features": {"keys": row.indices.tolist(), "shape": [row.shape[1]], "values": row.data.tolist()}}}
        for row in rows
    ]
    return [
        (recordio_protobuf.write_sparse(rows), "application/x-recordio-protobuf"),
        (json.dumps({"instances": instances}).encode(), "application/json"),
    ]


def _login_requests(run: Run) -> list[tuple[bytes, str]]:
    """The first three `entity,ip` rows of the run's train file as a CSV and a JSON request."""
    rows = (run.base / "input" / "data" / "train" / "data").read_text().splitlines()[:3]
    instances = [{"features": row.split(",")} for row in rows]
    return [("\n".join(rows).encode(), "text/csv"), (json.dumps({"instances": instances}).encode(), "application/json")]


@dataclass(frozen=True)
class TrainingCase:
    """One small job: its hyperparameters and channels (built when the case runs)."""

    label: str
    hyperparameters: Mapping[str, str]
    channels: Callable[[], dict[str, Channel]]


@dataclass(frozen=True)
class AlgorithmCase:
    trainings: tuple[TrainingCase, ...]
    required_hyperparameter: str
    # How the container words the two rejections; `{name}` is the hyperparameter.
    unknown_message: str
    missing_message: str
    # Registered metrics no training case prints, each with the reason.
    unexercised_metrics: Mapping[str, str] = field(default_factory=dict)
    # The JSON answer's wrapper and the key each of its records carries.
    answer_wrapper: str = "predictions"
    answer_key: str = "score"
    # Three rows' inference requests (body, content type) built from a training run; None: the first three
    # rows of the run's CSV train file, as a CSV and as a JSON request.
    requests: Callable[[Run], list[tuple[bytes, str]]] | None = None

    @property
    def valid_hyperparameters(self) -> Mapping[str, str]:
        return self.trainings[0].hyperparameters


CASES: Mapping[str, AlgorithmCase] = {
    "xgboost": AlgorithmCase(
        trainings=(
            TrainingCase(
                "binary",
                {
                    "objective": "binary:logistic",
                    "num_round": "3",
                    "eval_metric": "accuracy,auc,aucpr,error,f1,logloss,mae,mse,rmse,map,ndcg",
                },
                lambda: _split(_classes(160, 5, 2, seed=1), "train", "validation"),
            ),
            TrainingCase(
                "multiclass",
                {"objective": "multi:softprob", "num_class": "3", "num_round": "3", "eval_metric": "merror,mlogloss"},
                lambda: _split(_classes(150, 5, 3, seed=2), "train", "validation"),
            ),
            TrainingCase(
                "positive regression",
                {
                    "objective": "reg:tweedie",
                    "num_round": "3",
                    "eval_metric": "poisson-nloglik,gamma-nloglik,gamma-deviance",
                },
                lambda: _split(_regression(150, 5, seed=3, positive=True), "train", "validation"),
            ),
        ),
        required_hyperparameter="num_round",
        unknown_message="Extraneous hyperparameter found: {name}",
        missing_message="Missing required hyperparameter: {name}",
        unexercised_metrics={
            f"{channel}:tweedie-nloglik": "XGBoost 2+ evaluates it only as tweedie-nloglik@<rho> (its own default "
            "for reg:tweedie prints that name), which the container's metric list and the registered regex lack"
            for channel in ("train", "validation")
        },
    ),
    "factorization-machines": AlgorithmCase(
        trainings=(
            TrainingCase(
                "binary",
                {"feature_dim": "6", "num_factors": "4", "predictor_type": "binary_classifier", "epochs": "3"},
                lambda: _recordio(_classes(200, 6, 2, seed=7), "train", "test", sparse=True),
            ),
            TrainingCase(
                "regressor",
                {"feature_dim": "6", "num_factors": "4", "predictor_type": "regressor", "mini_batch_size": "50"},
                lambda: _recordio(_regression(200, 6, seed=8), "train", "test"),
            ),
        ),
        required_hyperparameter="num_factors",
        unknown_message="Additional properties are not allowed ('{name}' was unexpected)",
        missing_message="'{name}' is a required property",
        requests=_recordio_and_json_requests,
    ),
    "ipinsights": AlgorithmCase(
        trainings=(
            TrainingCase(
                "logins",
                {
                    "num_entity_vectors": "100",
                    "vector_dim": "8",
                    "epochs": "2",
                    "mini_batch_size": "50",
                    "batch_metrics_publish_interval": "2",
                },
                lambda: {
                    name: Channel(("\n".join(lines) + "\n").encode())
                    for name, lines in (("train", logins(30, 300)), ("validation", logins(30, 100, seed=1)))
                },
            ),
        ),
        required_hyperparameter="vector_dim",
        unknown_message="Additional properties are not allowed ('{name}' was unexpected)",
        missing_message="'{name}' is a required property",
        answer_key="dot_product",
        requests=_login_requests,
    ),
    "linear-learner": AlgorithmCase(
        trainings=(
            TrainingCase(
                "binary",
                {"predictor_type": "binary_classifier", "epochs": "3", "mini_batch_size": "50", "num_models": "4"},
                lambda: _split(_classes(240, 6, 2, seed=4), "train", "validation", "test"),
            ),
            TrainingCase(
                "multiclass",
                {
                    "predictor_type": "multiclass_classifier",
                    "num_classes": "3",
                    "epochs": "3",
                    "mini_batch_size": "50",
                    "num_models": "4",
                },
                lambda: _split(_classes(240, 6, 3, seed=5), "train", "validation", "test"),
            ),
            TrainingCase(
                "regressor",
                {"predictor_type": "regressor", "epochs": "3", "mini_batch_size": "50", "num_models": "4"},
                lambda: _split(_regression(240, 6, seed=6), "train", "validation", "test"),
            ),
        ),
        required_hyperparameter="predictor_type",
        unknown_message="Additional properties are not allowed ('{name}' was unexpected)",
        missing_message="'{name}' is a required property",
    ),
    "knn": AlgorithmCase(
        trainings=(
            TrainingCase(
                "classifier",
                {"feature_dim": "6", "k": "5", "predictor_type": "classifier", "sample_size": "200"},
                lambda: _split(_classes(240, 6, 3, seed=7), "train", "test"),
            ),
            TrainingCase(
                "regressor",
                {
                    "feature_dim": "6",
                    "k": "5",
                    "predictor_type": "regressor",
                    "sample_size": "100",
                    "dimension_reduction_type": "fjlt",
                    "dimension_reduction_target": "4",
                },
                lambda: _split(_regression(240, 6, seed=8), "train", "test"),
            ),
        ),
        required_hyperparameter="k",
        unknown_message="Additional properties are not allowed ('{name}' was unexpected)",
        missing_message="'{name}' is a required property",
        answer_key="predicted_label",
    ),
    "randomcutforest": AlgorithmCase(
        trainings=(
            TrainingCase(
                "csv",
                {"feature_dim": "4", "num_trees": "50", "num_samples_per_tree": "64"},
                lambda: {
                    name: Channel(channel.data, "text/csv;label_size=1")
                    for name, channel in _split(_anomalies(300, 4, seed=11), "train", "test").items()
                },
            ),
            TrainingCase(
                "recordio",
                {"feature_dim": "4", "num_trees": "50", "eval_metrics": '["precision_recall_fscore"]'},
                lambda: {
                    "train": _recordio(_anomalies(200, 4, seed=12), "train")["train"],
                    "test": _split(_anomalies(100, 4, seed=13), "test")["test"],
                },
            ),
        ),
        required_hyperparameter="feature_dim",
        unknown_message="Additional properties are not allowed ('{name}' was unexpected)",
        missing_message="'{name}' is a required property",
        answer_wrapper="scores",
    ),
    "kmeans": AlgorithmCase(
        trainings=(
            TrainingCase(
                "recordio",
                {"feature_dim": "6", "k": "3", "eval_metrics": '["msd", "ssd"]', "init_method": "kmeans++"},
                lambda: _recordio(_classes(200, 6, 3, seed=9), "train", "test"),
            ),
            TrainingCase(
                "csv",
                {"feature_dim": "6", "k": "4", "epochs": "2", "mini_batch_size": "40", "half_life_time_size": "100"},
                lambda: {
                    name: Channel(csv_rows(part[:, 1:]), "text/csv;label_size=0")
                    for name, part in _split_rows(_classes(200, 6, 4, seed=10), "train", "test")
                },
            ),
        ),
        required_hyperparameter="k",
        unknown_message="Additional properties are not allowed ('{name}' was unexpected)",
        missing_message="'{name}' is a required property",
        answer_key="closest_cluster",
        requests=_recordio_and_json_requests,
    ),
    "pca": AlgorithmCase(
        trainings=(
            TrainingCase(
                "regular",
                {"feature_dim": "6", "mini_batch_size": "50", "num_components": "3"},
                lambda: _recordio(_classes(200, 6, 3, seed=11), "train", "test"),
            ),
            TrainingCase(
                "randomized",
                {
                    "feature_dim": "6",
                    "mini_batch_size": "50",
                    "num_components": "2",
                    "algorithm_mode": "randomized",
                    "subtract_mean": "False",
                },
                lambda: _recordio(_classes(200, 6, 3, seed=12), "train", sparse=True),
            ),
        ),
        required_hyperparameter="num_components",
        unknown_message="Additional properties are not allowed ('{name}' was unexpected)",
        missing_message="'{name}' is a required property",
        answer_wrapper="projections",
        answer_key="projection",
        requests=_recordio_and_json_requests,
    ),
}
ALGORITHMS = {algorithm.name: algorithm for algorithm in builtin_algorithms()}


@dataclass(frozen=True)
class Trained:
    runs: Mapping[str, Run]
    scraped: frozenset[str]  # names of the known metrics some run's output matched


_trained: dict[str, Trained] = {}


@pytest.fixture(params=sorted(ALGORITHMS))
def algorithm(request: pytest.FixtureRequest) -> BuiltinAlgorithm:
    return ALGORITHMS[request.param]


@pytest.fixture
def trained(algorithm: BuiltinAlgorithm, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Every training case of the algorithm, run once per session."""
    if algorithm.name not in _trained:
        runs, scraped = {}, set[str]()
        for training in CASES[algorithm.name].trainings:
            base = tmp_path_factory.mktemp(f"{algorithm.name}-{training.label.replace(' ', '-')}")
            run = run_container(algorithm.train_module, base, training.hyperparameters, training.channels())
            assert run.returncode == 0, f"{training.label}: {run.failure}\n{run.output[-3000:]}"
            scraper = MetricScraper([MetricDefinition(d.name, d.regex) for d in algorithm.known_metrics])
            for line in run.output.splitlines():
                scraper.scrape(line, 0.0, "algo-1")
            scraped |= {observation.name for observation in scraper.observations()}
            runs[training.label] = run
        _trained[algorithm.name] = Trained(runs, frozenset(scraped))
    return _trained[algorithm.name]


def test_every_registered_algorithm_has_a_case() -> None:
    assert set(ALGORITHMS) == set(CASES)


def test_the_declaration_is_consistent(algorithm: BuiltinAlgorithm) -> None:
    known = {definition.name: definition.regex for definition in algorithm.known_metrics}
    assert len(known) == len(algorithm.known_metrics), "metric names must be unique"
    for definition in algorithm.known_metrics:
        assert re.compile(definition.regex).groups >= 1, definition
    registered = {definition.name: definition.regex for definition in algorithm.metric_definitions}
    assert len(registered) == len(algorithm.metric_definitions) <= 40
    assert registered.items() <= known.items(), "every registered definition is a known one, with the same regex"
    assert set(algorithm.objective_metrics) <= set(known), "every tuning objective has a definition"
    assert set(algorithm.objective_metrics.values()) <= {"Maximize", "Minimize"}
    assert "train" in algorithm.required_channels
    for module in (algorithm.train_module, algorithm.inference_module):
        assert module is not None and importlib.util.find_spec(module) is not None, module
    unexercised = set(CASES[algorithm.name].unexercised_metrics)
    assert unexercised <= set(registered), "only registered metrics can be excused"


def test_every_registered_regex_reads_a_line_the_algorithm_prints(
    algorithm: BuiltinAlgorithm, trained: Trained
) -> None:
    registered = {definition.name for definition in algorithm.metric_definitions}
    missing = registered - trained.scraped - set(CASES[algorithm.name].unexercised_metrics)
    assert not missing, f"no line printed by the training cases matches: {sorted(missing)}"


def test_the_trained_model_answers_csv_and_json(algorithm: BuiltinAlgorithm, trained: Trained) -> None:
    assert algorithm.inference_module is not None
    module = importlib.import_module(algorithm.inference_module)
    run = next(iter(trained.runs.values()))
    model = module.model_fn(str(run.model_dir))
    case = CASES[algorithm.name]
    for body, content_type in _csv_and_json_requests(run) if case.requests is None else case.requests(run):
        answer, answer_type = module.transform_fn(model, body, content_type, "application/json")
        assert answer_type == "application/json"
        predictions = json.loads(answer)[case.answer_wrapper]
        assert len(predictions) == 3 and all(case.answer_key in prediction for prediction in predictions), answer


def _csv_and_json_requests(run: Run) -> list[tuple[bytes, str]]:
    features = np.loadtxt(run.base / "input" / "data" / "train" / "data", delimiter=",", ndmin=2)[:3, 1:]
    csv_body = "\n".join(",".join(repr(float(value)) for value in row) for row in features).encode()
    json_body = json.dumps({"instances": [{"features": row.tolist()} for row in features]}).encode()
    return [(csv_body, "text/csv"), (json_body, "application/json")]


@pytest.mark.parametrize("problem", ["unknown", "missing"])
def test_a_bad_hyperparameter_fails_the_job_with_a_failure_file(
    algorithm: BuiltinAlgorithm, problem: str, tmp_path: Path
) -> None:
    case = CASES[algorithm.name]
    hyperparameters = dict(case.valid_hyperparameters)
    if problem == "unknown":
        name, message = "not_a_hyperparameter", case.unknown_message
        hyperparameters[name] = "1"
    else:
        name, message = case.required_hyperparameter, case.missing_message
        del hyperparameters[name]
    run = run_container(algorithm.train_module, tmp_path, hyperparameters, case.trainings[0].channels())
    assert run.returncode == 1
    assert run.failure is not None and run.failure.startswith("ClientError: "), run.failure
    assert message.format(name=name) in run.failure
    assert not list(run.model_dir.iterdir()), "a failed job leaves no model"
