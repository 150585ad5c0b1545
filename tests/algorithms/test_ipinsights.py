"""IP Insights: its hyperparameters, the encodings, hand-written gradients against finite differences, its
quality on generated logins, the container process, and its inference formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sageforge.algorithms.base import UserError
from sageforge.algorithms.first_party.artifact import write_artifact
from sageforge.algorithms.ipinsights import IP_INSIGHTS, inference
from sageforge.algorithms.ipinsights.encoding import entity_rows, ip_rows, parse_ipv4
from sageforge.algorithms.ipinsights.hyperparameters import parse_hyperparameters
from sageforge.algorithms.ipinsights.model import Array, IpInsightsModel
from sageforge.algorithms.ipinsights.training import Pairs, _Adam, _step, discriminator_auc, fit, initial_model
from sageforge.algorithms.linear_learner.metrics import roc_auc
from sageforge.serving.runtime.contract import InferenceError
from tests.algorithms.opt_ml import Channel, run_container

REQUIRED = {"num_entity_vectors": "400", "vector_dim": "16"}
FAST = {"epochs": "4", "mini_batch_size": "200", "learning_rate": "0.01"}


def logins(entities: int, rows: int, seed: int = 0) -> list[str]:
    """`entity,ip` rows: each entity logs in from one to three home /24 subnets, any host in them."""
    rng = np.random.default_rng(seed)
    homes = [rng.integers(0, 2**24, size=rng.integers(1, 4)) for _ in range(entities)]
    lines = []
    for entity in rng.integers(0, entities, rows):
        address = (int(rng.choice(homes[entity])) << 8) | int(rng.integers(1, 255))
        lines.append(f"user{entity},{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}")
    return lines


def csv_body(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def pairs(lines: list[str], num_entity_vectors: int) -> Pairs:
    entities, addresses = zip(*(line.split(",") for line in lines), strict=True)
    values, valid = parse_ipv4(list(addresses))
    assert valid.all()
    return Pairs(entity_rows(list(entities), num_entity_vectors), values)


# --- hyperparameters and encodings -------------------------------------------------------------------------------


def test_defaults_follow_the_reference() -> None:
    config = parse_hyperparameters(REQUIRED)
    assert (config.epochs, config.mini_batch_size, config.learning_rate, config.num_ip_encoder_layers) == (
        10,
        10000,
        0.001,
        1,
    )
    assert (config.random_negative_sampling_rate, config.shuffled_negative_sampling_rate) == (1, 1)
    assert (config.weight_decay, config.batch_metrics_publish_interval) == (1e-5, 1000)


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        ({"num_entity_vectors": "10"}, "'vector_dim' is a required property"),
        ({**REQUIRED, "vector_dim": "2"}, "2 is less than the minimum of 4"),
        ({**REQUIRED, "learning_rate": "20"}, "20 is greater than the maximum of 10"),
        (
            {**REQUIRED, "random_negative_sampling_rate": "0", "shuffled_negative_sampling_rate": "0"},
            "random_negative_sampling_rate + shuffled_negative_sampling_rate must be in [1, 500], not 0",
        ),
        ({**REQUIRED, "num_factors": "2"}, "Additional properties are not allowed ('num_factors' was unexpected)"),
    ],
)
def test_invalid_hyperparameters_fail_with_the_first_party_wording(raw: dict[str, str], cause: str) -> None:
    with pytest.raises(UserError, match="Unable to initialize the algorithm") as error:
        parse_hyperparameters(raw)
    assert f"Caused by: {cause}" in str(error.value)


def test_addresses_parse_and_share_the_rows_of_their_prefixes() -> None:
    values, valid = parse_ipv4(["10.1.2.3", "10.1.2.200", "256.1.1.1", "1.2.3", "::1", " 192.168.0.1 "])
    assert valid.tolist() == [True, True, False, False, False, True]
    assert values[0] == (10 << 24) | (1 << 16) | (2 << 8) | 3
    rows = ip_rows(values[:2], 65536)
    assert rows[0, :3].tolist() == rows[1, :3].tolist() and rows[0, 3] != rows[1, 3]
    assert entity_rows(["a", "b", "a"], 1000).tolist()[0] == entity_rows(["a"], 1000)[0]


# --- the gradients -------------------------------------------------------------------------------------------------


class _Recorder(_Adam):
    """An optimiser that keeps the gradients it is given (rows and values) instead of stepping."""

    def __init__(self, parameter: Array) -> None:
        super().__init__(parameter, 0.0, 0.0)
        self.gradient = np.zeros_like(parameter)

    def step(self, gradient: Array, step: int, rows: Any = slice(None)) -> None:
        self.gradient[rows] = gradient


@pytest.mark.parametrize("layers", [0, 1, 3])
def test_the_hand_written_gradients_match_finite_differences(layers: int) -> None:
    config = parse_hyperparameters({**REQUIRED, "vector_dim": "4", "num_ip_encoder_layers": str(layers)})
    rng = np.random.default_rng(3)
    model = initial_model(config, rng)
    for bias in model.biases:  # away from 0, so no ReLU sits exactly on its kink
        bias[...] = rng.normal(0.0, 0.1, size=bias.shape)
    data = pairs(logins(20, 30), 400)
    labels = np.concatenate([np.ones(15), np.zeros(15)])
    arrays = [model.entity_vectors, model.ip_vectors, *model.weights, *model.biases]
    recorders = [_Recorder(array) for array in arrays]
    _step(model, recorders[0], recorders[1], recorders[2:], data.entities, data.addresses, labels, 1)

    def loss() -> float:
        logits = model.dot_products(data.entities, data.addresses)
        return float(np.mean(np.logaddexp(0.0, np.where(labels == 1, -logits, logits))))

    for array, recorder in zip(arrays, recorders, strict=True):
        touched = np.argwhere(recorder.gradient != 0) if array.ndim == 2 and array.shape[0] > 4 else None
        indices = list(map(tuple, touched[:8])) if touched is not None else list(np.ndindex(array.shape))
        assert indices
        for index in indices:
            saved = array[index]
            array[index] = saved + 1e-6
            upward = loss()
            array[index] = saved - 1e-6
            downward = loss()
            array[index] = saved
            assert (upward - downward) / 2e-6 == pytest.approx(recorder.gradient[index], abs=1e-7)


# --- quality -------------------------------------------------------------------------------------------------------


def test_true_logins_score_above_random_and_shuffled_ones() -> None:
    """AUC >= 0.9 against random addresses (the acceptance bar) and against other entities' addresses."""
    lines = logins(500, 20000)
    train, validation = pairs(lines[:16000], 1000), pairs(lines[16000:], 1000)
    config = parse_hyperparameters({"num_entity_vectors": "1000", "vector_dim": "16", **FAST})
    model = fit(train, validation, config, lambda report: None, lambda report: None)
    assert discriminator_auc(model, validation) >= 0.9
    shuffled = validation.addresses[np.random.default_rng(5).permutation(len(validation))]
    scores = np.concatenate(
        [
            model.dot_products(validation.entities, validation.addresses),
            model.dot_products(validation.entities, shuffled),
        ]
    )
    truth = np.arange(scores.size) < len(validation)
    assert roc_auc(scores, truth) >= 0.9


# --- the container ---------------------------------------------------------------------------------------------------


def test_trains_and_prints_batch_epoch_and_validation_lines(tmp_path: Path) -> None:
    lines = logins(100, 3000)
    channels = {
        "train": Channel(csv_body(lines[:2500])),
        "validation": Channel(csv_body(lines[2500:] + ["x,not-an-ip"])),
    }
    hyperparameters = {**REQUIRED, **FAST, "batch_metrics_publish_interval": "5"}
    run = run_container(IP_INSIGHTS.train_module, tmp_path, hyperparameters, channels)
    assert run.returncode == 0, run.output[-2000:]
    assert "#quality_metric: host=algo-1, epoch=3, batch=10 train binary_classification_accuracy <score>=" in run.output
    assert "#quality_metric: host=algo-1, epoch=3, validation discriminator_auc <score>=" in run.output
    assert "validation: skipped 1 rows whose address is not IPv4" in run.output
    assert (run.model_dir / "model_algo-1").is_file()


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (Channel(b"\x0a\x23\xd7\xce", "application/x-recordio-protobuf"), "IP Insights reads text/csv"),
        (Channel(b"a,1.2.3.4,5\n"), "rows have 3 columns; IP Insights reads entity,ip rows"),
        (Channel(b"a,b\nc,d\n"), "The train channel has no row with an IPv4 address"),
    ],
)
def test_data_it_cannot_read_fails_as_a_client_error(tmp_path: Path, channel: Channel, message: str) -> None:
    run = run_container(IP_INSIGHTS.train_module, tmp_path, REQUIRED, {"train": channel})
    assert run.returncode == 1 and run.failure is not None
    assert run.failure.startswith("ClientError: ") and message in run.failure, run.failure


# --- inference -------------------------------------------------------------------------------------------------------


@pytest.fixture
def model(tmp_path: Path) -> IpInsightsModel:
    config = parse_hyperparameters({**REQUIRED, **FAST, "epochs": "1"})
    trained = fit(pairs(logins(50, 1000), 400), None, config, lambda report: None, lambda report: None)
    write_artifact(tmp_path, "algo-1", trained.to_artifact())
    loaded: IpInsightsModel = inference.model_fn(str(tmp_path))
    return loaded


def test_answers_dot_products_for_csv_json_and_jsonlines(model: IpInsightsModel) -> None:
    csv_answer, kind = inference.transform_fn(model, b"user1,10.0.0.1\nuser2,192.168.1.2\n", "text/csv", "")
    predictions = json.loads(csv_answer)["predictions"]
    assert kind == "application/json" and [set(p) for p in predictions] == [{"dot_product"}] * 2
    instances = {
        "instances": [
            {"data": {"features": {"values": ["user1", "10.0.0.1"]}}},
            {"features": ["user2", "192.168.1.2"]},
        ]
    }
    json_answer, _ = inference.transform_fn(
        model, json.dumps(instances).encode(), "application/json", "application/json"
    )
    assert json.loads(json_answer)["predictions"] == predictions
    lines = "\n".join(json.dumps(instance) for instance in instances["instances"]).encode()
    verbose, kind = inference.transform_fn(model, lines, "application/jsonlines", "application/jsonlines; verbose=True")
    records = [json.loads(line) for line in verbose.splitlines()]
    assert kind == "application/jsonlines"
    assert [record["dot_product"] for record in records] == [p["dot_product"] for p in predictions]
    assert all(len(record["entity_embedding"]) == len(record["ip_embedding"]) == 16 for record in records)
    np.testing.assert_allclose(
        [np.dot(record["entity_embedding"], record["ip_embedding"]) for record in records],
        [record["dot_product"] for record in records],
    )


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status"),
    [
        (b"user1,10.0.0.1\n", "application/x-recordio-protobuf", "application/json", 415),
        (b"user1,10.0.0.1\n", "text/csv", "application/x-recordio-protobuf", 406),
        (b"user1,10.0.0.300\n", "text/csv", "application/json", 400),
        (b"user1\n", "text/csv", "application/json", 400),
    ],
)
def test_bad_requests_are_answered_with_their_status(
    model: IpInsightsModel, body: bytes, content_type: str, accept: str, status: int
) -> None:
    with pytest.raises(InferenceError) as error:
        inference.transform_fn(model, body, content_type, accept)
    assert error.value.status == status
