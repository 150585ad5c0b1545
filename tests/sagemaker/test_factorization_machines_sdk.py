"""The SageMaker Python SDK's `FactorizationMachines` estimator against sageforge: `record_set()` uploads float32
RecordIO-protobuf shards and a manifest (the channels declare no content type), `fit` trains on them with a
test channel, `deploy` serves the model and the SDK's predictor speaks RecordIO-protobuf both ways."""

from __future__ import annotations

import numpy as np
from sagemaker import FactorizationMachines
from sagemaker.session import Session
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from sageforge.testing.server import RunningServer
from tests.hosting import assert_no_replicas
from tests.sagemaker.support import ROLE

INSTANCE_TYPE = "ml.m5.large"


def test_record_set_fit_deploy_and_predict(sdk_session: Session, server: RunningServer) -> None:
    data = load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(data.target))
    features = StandardScaler().fit_transform(data.data[order]).astype(np.float32)
    labels = data.target[order].astype(np.float32)
    estimator = FactorizationMachines(
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        num_factors=4,
        predictor_type="binary_classifier",
        epochs=12,
        bias_lr=0.05,
        linear_lr=0.05,
        factors_lr=0.05,
        sagemaker_session=sdk_session,
    )
    train = estimator.record_set(features[:400], labels[:400], channel="train")
    test = estimator.record_set(features[400:], labels[400:], channel="test")
    estimator.fit([train, test], mini_batch_size=20, logs=False)

    description = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert description["HyperParameters"]["feature_dim"] == "30"
    assert "ContentType" not in description["InputDataConfig"][0]
    metrics = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
    assert metrics["test:binary_classification_accuracy"] > 0.9

    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        records = predictor.predict(features[400:450])
        predicted = [record.label["predicted_label"].float32_tensor.values[0] for record in records]
        scores = [record.label["score"].float32_tensor.values[0] for record in records]
        assert len(records) == 50 and np.mean(np.array(predicted) == labels[400:450]) > 0.9
        assert all(0 <= score <= 1 for score in scores)
    finally:
        predictor.delete_model()  # first: it finds the model through the endpoint config delete_endpoint removes
        predictor.delete_endpoint()
    assert_no_replicas(server)
