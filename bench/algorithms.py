"""The tabular built-ins against their scikit-learn references, on the same data and split, in one run.

Each algorithm runs one real training job through boto3 against one ``sageforge serve``; its "train seconds" is
the wall time from CreateTrainingJob to Completed, which includes starting the container process, staging the
channels from the object store, and packing and uploading ``model.tar.gz``. The reference's is a bare
in-process ``fit`` (with its ``StandardScaler`` where it has one) on arrays already in memory, so the ratio
overstates the cost of the training itself, most on the small fixed data sets (breast cancer, diabetes,
digits).

Quality is scored the way the issue's acceptance does, always from the job's artifact: ``model.tar.gz`` is
unpacked and loaded through the algorithm's own inference module (``model_fn``), and held-out rows (or, for
K-Means and PCA, the training rows) go through its ``transform_fn`` as a request body would:

- Linear Learner binary: test accuracy on breast cancer (60/20/20 split, validation channel) vs a standardised
  ``LogisticRegression``; Linear Learner regressor: test RMSE on diabetes vs a standardised ``Ridge``;
- K-Means: train inertia (sum of squared ``distance_to_cluster``) vs ``KMeans.inertia_``;
- PCA: total variance of the ``projection``s of the training rows vs ``PCA.explained_variance_.sum()``;
- k-NN: test accuracy of ``predicted_label`` vs ``KNeighborsClassifier`` with the same k;
- Factorization Machines: test accuracy on one-hot (user, item) ratings whose label hangs on a user x item
  interaction (RecordIO-protobuf, as the SDK writes it) vs ``LogisticRegression`` on the same one-hot rows;
- Random Cut Forest: AUC of the anomaly ``score`` on injected anomalies vs ``IsolationForest``;
- IP Insights: AUC of ``dot_product`` for held-out true (entity, IP) pairs against random IPs; no reference.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse
from sklearn.cluster import KMeans
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_blobs
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from bench.server import BenchServer, bench_server, report
from sageforge.algorithms.formats import recordio_protobuf

Array = npt.NDArray[np.float64]
ROLE = "arn:aws:iam::000000000000:role/SageForgeRole"
CSV, UNLABELLED, LABELLED = "text/csv", "text/csv;label_size=0", "text/csv;label_size=1"
RECORDIO = "application/x-recordio-protobuf"
K_MEANS_ROWS, RCF_TRAIN, RCF_TEST, FM_ROWS, LOGINS, ENTITIES = 200_000, 50_000, 5_000, 100_000, 100_000, 1_000


@dataclass
class Case:
    """One algorithm's job and its reference: ``reference()`` returns (fit seconds, quality) or None, and
    ``score(model)`` the quality of the job's model loaded through ``inference.model_fn``."""

    label: str
    image: str
    module: str
    hyperparameters: dict[str, str]
    channels: dict[str, tuple[str, bytes]]
    measure: str
    reference_name: str
    reference: Callable[[], tuple[float, float] | None]
    score: Callable[[Any], float]


def csv_body(features: Array, labels: Array | None = None) -> bytes:
    rows = features if labels is None else np.column_stack([labels, features])
    buffer = io.StringIO()
    np.savetxt(buffer, rows, delimiter=",", fmt="%.8g")
    return buffer.getvalue().encode()


def answer(module: Any, model: Any, body: bytes, content_type: str, wrapper: str) -> list[dict[str, Any]]:
    response, media_type = module.transform_fn(model, body, content_type, "application/json")
    assert media_type == "application/json", media_type
    records: list[dict[str, Any]] = json.loads(response)[wrapper]
    return records


def label_accuracy(module: str, model: Any, features: Array, labels: Array) -> float:
    """The share of ``features``' CSV rows whose ``predicted_label`` the inference module answers equals ``labels``."""
    records = answer(import_module(module), model, csv_body(features), CSV, "predictions")
    return float(np.mean([r["predicted_label"] for r in records] == labels))


def timed(fit: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    fitted = fit()
    return time.perf_counter() - started, fitted


def split(features: Array, labels: Array, stratify: bool) -> tuple[Array, Array, Array, Array, Array, Array]:
    """60% train, 20% validation, 20% test, as the Linear Learner quality tests split them."""
    x, test_x, y, test_y = train_test_split(
        features, labels, test_size=0.2, random_state=0, stratify=labels if stratify else None
    )
    train_x, validation_x, train_y, validation_y = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y if stratify else None
    )
    return train_x, train_y, validation_x, validation_y, test_x, test_y


def standardised(model: Any, train_x: Array, train_y: Array) -> Callable[[], Any]:
    def fit() -> Any:
        scaler = StandardScaler().fit(train_x)
        return scaler, model.fit(scaler.transform(train_x), train_y)

    return fit


# --- the cases -------------------------------------------------------------------------------------------------


def linear_learner_binary() -> Case:
    data = load_breast_cancer()
    train_x, train_y, validation_x, validation_y, test_x, test_y = split(data.data, data.target, stratify=True)
    module = "sageforge.algorithms.linear_learner.inference"

    def reference() -> tuple[float, float]:
        seconds, (scaler, model) = timed(standardised(LogisticRegression(max_iter=5000), train_x, train_y))
        return seconds, float(np.mean(model.predict(scaler.transform(test_x)) == test_y))

    def score(model: Any) -> float:
        return label_accuracy(module, model, test_x, test_y)

    return Case(
        "Linear Learner binary (breast cancer)",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
        module,
        {"predictor_type": "binary_classifier", "feature_dim": "30", "mini_batch_size": "32", "epochs": "30"},
        {"train": (CSV, csv_body(train_x, train_y)), "validation": (CSV, csv_body(validation_x, validation_y))},
        "test accuracy",
        "LogisticRegression",
        reference,
        score,
    )


def linear_learner_regressor() -> Case:
    data = load_diabetes()
    train_x, train_y, validation_x, validation_y, test_x, test_y = split(data.data, data.target, stratify=False)
    module = "sageforge.algorithms.linear_learner.inference"

    def reference() -> tuple[float, float]:
        seconds, (scaler, model) = timed(standardised(Ridge(), train_x, train_y))
        return seconds, float(np.sqrt(np.mean((model.predict(scaler.transform(test_x)) - test_y) ** 2)))

    def score(model: Any) -> float:
        records = answer(import_module(module), model, csv_body(test_x), CSV, "predictions")
        return float(np.sqrt(np.mean((np.array([r["score"] for r in records]) - test_y) ** 2)))

    return Case(
        "Linear Learner regressor (diabetes)",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
        module,
        {"predictor_type": "regressor", "feature_dim": "10", "mini_batch_size": "32", "epochs": "30"},
        {"train": (CSV, csv_body(train_x, train_y)), "validation": (CSV, csv_body(validation_x, validation_y))},
        "test RMSE",
        "Ridge",
        reference,
        score,
    )


def kmeans() -> Case:
    features = make_blobs(K_MEANS_ROWS + 2000, n_features=6, centers=5, random_state=3)[0]
    train, test = features[:K_MEANS_ROWS], features[K_MEANS_ROWS:]
    module = "sageforge.algorithms.kmeans.inference"

    def reference() -> tuple[float, float]:
        seconds, model = timed(lambda: KMeans(n_clusters=5, n_init="auto", random_state=0).fit(train))
        return seconds, float(model.inertia_)

    def score(model: Any) -> float:
        records = answer(import_module(module), model, csv_body(train), CSV, "predictions")
        return float(np.sum(np.array([r["distance_to_cluster"] for r in records]) ** 2))

    return Case(
        f"K-Means ({K_MEANS_ROWS:,} x 6 blobs, k=5)",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1",
        module,
        {"feature_dim": "6", "k": "5", "mini_batch_size": "500", "epochs": "2", "eval_metrics": '["msd", "ssd"]'},
        {"train": (UNLABELLED, csv_body(train)), "test": (UNLABELLED, csv_body(test))},
        "train inertia",
        "KMeans",
        reference,
        score,
    )


def pca() -> Case:
    features = load_digits().data
    module = "sageforge.algorithms.pca.inference"

    def reference() -> tuple[float, float]:
        seconds, model = timed(lambda: PCA(n_components=10, svd_solver="full").fit(features))
        return seconds, float(model.explained_variance_.sum())

    def score(model: Any) -> float:
        records = answer(import_module(module), model, csv_body(features), CSV, "projections")
        return float(np.var(np.array([r["projection"] for r in records]), axis=0, ddof=1).sum())

    return Case(
        "PCA (digits, 10 components, regular)",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1",
        module,
        {"feature_dim": "64", "mini_batch_size": "500", "num_components": "10", "algorithm_mode": "regular"},
        {"train": (UNLABELLED, csv_body(features))},
        "explained variance",
        "PCA",
        reference,
        score,
    )


def knn() -> Case:
    data = load_breast_cancer()
    train_x, test_x, train_y, test_y = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0, stratify=data.target
    )
    module = "sageforge.algorithms.knn.inference"

    def reference() -> tuple[float, float]:
        seconds, model = timed(lambda: KNeighborsClassifier(n_neighbors=5).fit(train_x, train_y))
        return seconds, float(np.mean(model.predict(test_x) == test_y))

    def score(model: Any) -> float:
        return label_accuracy(module, model, test_x, test_y)

    return Case(
        "k-NN (breast cancer, k=5)",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1",
        module,
        {"predictor_type": "classifier", "feature_dim": "30", "k": "5", "sample_size": "1000"},
        {"train": (CSV, csv_body(train_x, train_y)), "test": (CSV, csv_body(test_x, test_y))},
        "test accuracy",
        "KNeighborsClassifier(5)",
        reference,
        score,
    )


def ratings(rows: int, seed: int = 0) -> tuple[Any, Array]:
    """One-hot (user, item) rows of 300 users and 200 items whose rating is biases plus a rank-4 interaction
    (the shape of ``tests/algorithms/test_factorization_machines.py``)."""
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


def factorization_machines() -> Case:
    features, rating = ratings(FM_ROWS)
    labels = (rating > np.median(rating)).astype(np.float32)
    cut = int(0.8 * FM_ROWS)
    train_x, train_y, test_x, test_y = features[:cut], labels[:cut], features[cut:], labels[cut:]
    module = "sageforge.algorithms.factorization_machines.inference"

    def reference() -> tuple[float, float]:
        seconds, model = timed(lambda: LogisticRegression(max_iter=1000).fit(train_x, train_y))
        return seconds, float(np.mean(model.predict(test_x) == test_y))

    def score(model: Any) -> float:
        body = recordio_protobuf.write_sparse(test_x)
        records = answer(import_module(module), model, body, RECORDIO, "predictions")
        return float(np.mean([r["predicted_label"] for r in records] == test_y))

    return Case(
        f"Factorization Machines ({FM_ROWS:,} one-hot ratings, binary)",
        "174872318107.dkr.ecr.us-west-2.amazonaws.com/factorization-machines:1",
        module,
        {
            "feature_dim": "500",
            "num_factors": "8",
            "predictor_type": "binary_classifier",
            "epochs": "10",
            "mini_batch_size": "200",
            "bias_lr": "0.05",
            "linear_lr": "0.05",
            "factors_lr": "0.05",
            "factors_init_sigma": "0.1",
            "linear_wd": "0.0001",
            "factors_wd": "0.0001",
        },
        {
            "train": (RECORDIO, recordio_protobuf.write_sparse(train_x, train_y)),
            "test": (RECORDIO, recordio_protobuf.write_sparse(test_x, test_y)),
        },
        "test accuracy",
        "LogisticRegression (one-hot)",
        reference,
        score,
    )


def anomaly_data(rows: int, seed: int) -> tuple[Array, Array]:
    """A Gaussian cloud and, one row in fifty, a point 5 to 8 deviations away from it (label 1)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(rows) % 50 == 13).astype(float)
    directions = rng.normal(size=(rows, 4))
    far = directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(5, 8, size=(rows, 1))
    return np.where(labels[:, None] == 1, far, rng.normal(size=(rows, 4))), labels


def random_cut_forest() -> Case:
    train, _ = anomaly_data(RCF_TRAIN, seed=1)
    test, labels = anomaly_data(RCF_TEST, seed=2)
    module = "sageforge.algorithms.randomcutforest.inference"

    def reference() -> tuple[float, float]:
        seconds, model = timed(lambda: IsolationForest(n_estimators=50, max_samples=128, random_state=0).fit(train))
        return seconds, float(roc_auc_score(labels, -model.score_samples(test)))

    def score(model: Any) -> float:
        records = answer(import_module(module), model, csv_body(test), CSV, "scores")
        return float(roc_auc_score(labels, [r["score"] for r in records]))

    return Case(
        f"Random Cut Forest ({RCF_TRAIN:,} x 4, 2% injected anomalies)",
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/randomcutforest:1",
        module,
        {"feature_dim": "4", "num_trees": "50", "num_samples_per_tree": "128"},
        {"train": (UNLABELLED, csv_body(train)), "test": (LABELLED, csv_body(test, labels))},
        "test AUC",
        "IsolationForest(50, 128)",
        reference,
        score,
    )


def logins(entities: int, rows: int, seed: int = 0) -> list[str]:
    """`entity,ip` rows: each entity logs in from one to three home /24 subnets, any host in them."""
    rng = np.random.default_rng(seed)
    homes = [rng.integers(0, 2**24, size=rng.integers(1, 4)) for _ in range(entities)]
    lines = []
    for entity in rng.integers(0, entities, rows):
        address = (int(rng.choice(homes[entity])) << 8) | int(rng.integers(1, 255))
        lines.append(f"user{entity},{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}")
    return lines


def ip_insights() -> Case:
    lines = logins(ENTITIES, LOGINS)
    cut = int(0.9 * LOGINS)
    module = "sageforge.algorithms.ipinsights.inference"
    held_out = lines[cut : cut + 1000]
    rng = np.random.default_rng(1)
    strangers = [f"{line.split(',')[0]},{'.'.join(map(str, rng.integers(0, 256, 4)))}" for line in held_out]

    def score(model: Any) -> float:
        body = ("\n".join(held_out + strangers) + "\n").encode()
        records = answer(import_module(module), model, body, CSV, "predictions")
        return float(roc_auc_score(np.arange(len(records)) < len(held_out), [r["dot_product"] for r in records]))

    return Case(
        f"IP Insights ({LOGINS:,} logins of {ENTITIES} entities)",
        "174872318107.dkr.ecr.us-west-2.amazonaws.com/ipinsights:1",
        module,
        {
            "num_entity_vectors": str(2 * ENTITIES),
            "vector_dim": "16",
            "epochs": "4",
            "mini_batch_size": "200",
            "learning_rate": "0.01",
        },
        {
            "train": (CSV, ("\n".join(lines[:cut]) + "\n").encode()),
            "validation": (CSV, ("\n".join(lines[cut:]) + "\n").encode()),
        },
        "AUC true vs random IPs",
        "—",
        lambda: None,
        score,
    )


# --- running ---------------------------------------------------------------------------------------------------


def train(server: BenchServer, case: Case, index: int) -> tuple[float, float]:
    """Run the case's job; return its wall seconds and the quality of its model, loaded through the
    algorithm's inference module."""
    s3, sagemaker = server.client("s3"), server.client("sagemaker")
    prefix = f"case-{index}"
    channels = []
    for channel, (content_type, body) in case.channels.items():
        s3.put_object(Bucket="bench", Key=f"{prefix}/{channel}/part-0", Body=body)
        source = {"S3DataType": "S3Prefix", "S3Uri": f"s3://bench/{prefix}/{channel}/"}
        channels.append({"ChannelName": channel, "ContentType": content_type, "DataSource": {"S3DataSource": source}})
    name = f"bench-algo-{index}-{int(time.time())}"
    started = time.perf_counter()
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": case.image, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters=case.hyperparameters,
        InputDataConfig=channels,
        OutputDataConfig={"S3OutputPath": f"s3://bench/{prefix}/output/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    while True:
        job = sagemaker.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if job["TrainingJobStatus"] != "Completed":
        raise RuntimeError(f"{case.label}: job ended {job['TrainingJobStatus']}: {job.get('FailureReason')}")
    artifact = s3.get_object(Bucket="bench", Key=f"{prefix}/output/{name}/output/model.tar.gz")["Body"].read()
    with tempfile.TemporaryDirectory() as model_dir:
        with tarfile.open(fileobj=io.BytesIO(artifact)) as tar:
            tar.extractall(model_dir, filter="data")
        return elapsed, case.score(import_module(case.module).model_fn(model_dir))


def rows_for(case: Case, job_seconds: float, quality: float) -> list[tuple[str, str, str, str]]:
    measured = case.reference()
    if measured is None:
        return [
            (f"{case.label}: train seconds", f"{job_seconds:.2f}", "—", "—"),
            (f"{case.label}: {case.measure}", f"{quality:.4f}", "—", "—"),
        ]
    seconds, reference = measured
    return [
        (
            f"{case.label}: train seconds",
            f"{job_seconds:.2f}",
            f"{seconds:.3f} ({case.reference_name})",
            f"{job_seconds / seconds:.1f}x",
        ),
        (f"{case.label}: {case.measure}", f"{quality:.4f}", f"{reference:.4f}", f"{quality / reference:.3f}x"),
    ]


CASES = (
    linear_learner_binary,
    linear_learner_regressor,
    kmeans,
    pca,
    knn,
    factorization_machines,
    random_cut_forest,
    ip_insights,
)


def run(work: Path) -> None:
    cases = [make() for make in CASES]
    rows: list[tuple[str, str, str, str]] = []
    with bench_server(work / "server-algorithms") as server:
        server.client("s3").create_bucket(Bucket="bench")
        for index, case in enumerate(cases):
            rows += rows_for(case, *train(server, case, index))
    report("Built-in algorithms vs scikit-learn, same data and split (quality ratio: sageforge / reference)", rows)
