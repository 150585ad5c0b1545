"""The SageMaker Python SDK's `KNN` estimator against sageforge: `record_set()` uploads float32
RecordIO-protobuf shards (train and test), `fit` trains on them, `deploy` serves the index and the SDK's
predictor speaks RecordIO-protobuf both ways; `sdk_session` shortens the SDK's waits."""

from __future__ import annotations

import numpy as np
from sagemaker import KNN
from sagemaker.session import Session
from sklearn.datasets import load_breast_cancer
from sklearn.neighbors import KNeighborsClassifier

from sageforge.testing.server import RunningServer
from tests.hosting import assert_no_replicas
from tests.sagemaker.support import ROLE

INSTANCE_TYPE = "ml.m5.large"


def test_record_set_fit_deploy_and_predict(sdk_session: Session, server: RunningServer) -> None:
    data = load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(data.target))
    features, labels = data.data[order].astype(np.float32), data.target[order].astype(np.float32)
    estimator = KNN(
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        k=5,
        sample_size=1000,
        predictor_type="classifier",
        sagemaker_session=sdk_session,
    )
    train = estimator.record_set(features[:400], labels[:400], channel="train")
    test = estimator.record_set(features[400:], labels[400:], channel="test")
    estimator.fit([train, test], mini_batch_size=100, logs=False)

    description = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert description["HyperParameters"]["feature_dim"] == "30"
    reference = KNeighborsClassifier(n_neighbors=5).fit(features[:400], labels[:400])
    accuracy = float(np.mean(reference.predict(features[400:]) == labels[400:]))
    metrics = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
    assert abs(metrics["test:accuracy"] - accuracy) < 1e-6

    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        records = predictor.predict(features[400:450])
        predicted = [record.label["predicted_label"].float32_tensor.values[0] for record in records]
        assert predicted == reference.predict(features[400:450]).tolist()
    finally:
        predictor.delete_model()  # first: it finds the model through the endpoint config delete_endpoint removes
        predictor.delete_endpoint()
    assert_no_replicas(server)
