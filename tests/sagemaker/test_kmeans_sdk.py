"""The SageMaker Python SDK's `KMeans` estimator against sageforge, as its example notebooks use it:
`record_set()` uploads float32 RecordIO-protobuf shards and a manifest, `fit` trains on them (the SDK adds
`force_dense` and `feature_dim`), `deploy` serves the centroids and the SDK's predictor speaks
RecordIO-protobuf both ways."""

from __future__ import annotations

import numpy as np
from sagemaker import KMeans
from sagemaker.session import Session
from sklearn.datasets import load_iris

from sageforge.testing.server import RunningServer
from tests.hosting import assert_no_replicas
from tests.sagemaker.support import ROLE

INSTANCE_TYPE = "ml.m5.large"


def test_record_set_fit_deploy_and_predict(sdk_session: Session, server: RunningServer) -> None:
    features = load_iris().data.astype(np.float32)
    estimator = KMeans(
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        k=3,
        init_method="kmeans++",
        eval_metrics=["msd", "ssd"],
        sagemaker_session=sdk_session,
    )
    train = estimator.record_set(features, channel="train")
    test = estimator.record_set(features[::5], channel="test")
    estimator.fit([train, test], logs=False)

    description = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    hyperparameters = description["HyperParameters"]
    assert hyperparameters["feature_dim"] == "4" and hyperparameters["force_dense"] == "True"
    metrics = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
    assert 0 < metrics["test:msd"] < 1 and metrics["test:ssd"] > metrics["test:msd"]

    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        records = predictor.predict(features[:50])  # the setosa rows: one cluster
        clusters = {record.label["closest_cluster"].float32_tensor.values[0] for record in records}
        distances = [record.label["distance_to_cluster"].float32_tensor.values[0] for record in records]
        assert len(records) == 50 and len(clusters) == 1 and max(distances) < 1.5
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    assert_no_replicas(server)
