"""The SageMaker Python SDK's `LinearLearner` estimator against sageforge, as its example notebooks use it:
`record_set()` uploads float32 RecordIO-protobuf shards and a manifest, `fit` trains on them (the channel
declares no content type), `deploy` serves the model and the SDK's predictor speaks RecordIO-protobuf both
ways. Logs are not streamed (the SDK's log tail polls every 30 s); `sdk_session` shortens the SDK's waits.
"""

from __future__ import annotations

import numpy as np
from sagemaker import LinearLearner
from sagemaker.session import Session
from sklearn.datasets import load_breast_cancer

from sageforge.testing.server import RunningServer
from tests.hosting import assert_no_replicas
from tests.sagemaker.support import ROLE

INSTANCE_TYPE = "ml.m5.large"


def test_record_set_fit_deploy_and_predict(sdk_session: Session, server: RunningServer) -> None:
    data = load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(data.target))
    features, labels = data.data[order].astype(np.float32), data.target[order].astype(np.float32)
    estimator = LinearLearner(
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        predictor_type="binary_classifier",
        epochs=8,
        sagemaker_session=sdk_session,
    )
    train = estimator.record_set(features[:400], labels[:400], channel="train")
    validation = estimator.record_set(features[400:], labels[400:], channel="validation")
    estimator.fit([train, validation], mini_batch_size=50, logs=False)

    description = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert description["HyperParameters"]["feature_dim"] == "30"
    assert "ContentType" not in description["InputDataConfig"][0]
    assert description["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"
    metrics = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
    assert metrics["validation:binary_classification_accuracy"] > 0.9

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
