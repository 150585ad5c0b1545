"""The SageMaker Python SDK's `RandomCutForest` estimator against sageforge: `record_set()` uploads float32
RecordIO-protobuf shards (the train channel ShardedByS3Key, as the SDK requires), `fit` builds the forest,
`deploy` serves it and the SDK's predictor reads the scores from RecordIO-protobuf answers."""

from __future__ import annotations

import numpy as np
from sagemaker import RandomCutForest
from sagemaker.session import Session
from sklearn.metrics import roc_auc_score

from sageforge.testing.server import RunningServer
from tests.hosting import assert_no_replicas
from tests.sagemaker.support import ROLE
from tests.sagemaker.test_randomcutforest import anomaly_data

INSTANCE_TYPE = "ml.m5.large"


def test_record_set_fit_deploy_and_predict(sdk_session: Session, server: RunningServer) -> None:
    x_train, _ = anomaly_data(2000, seed=4)
    estimator = RandomCutForest(
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        num_samples_per_tree=128,
        num_trees=50,
        sagemaker_session=sdk_session,
    )
    estimator.fit(estimator.record_set(x_train.astype(np.float32)), logs=False)
    description = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert description["TrainingJobStatus"] == "Completed"
    assert description["HyperParameters"]["feature_dim"] == "4"

    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        x, labels = anomaly_data(300, seed=5)
        records = predictor.predict(x.astype(np.float32))
        scores = [record.label["score"].float32_tensor.values[0] for record in records]
        assert len(scores) == 300 and roc_auc_score(labels, scores) >= 0.9
    finally:
        predictor.delete_model()  # first: it finds the model through the endpoint config delete_endpoint removes
        predictor.delete_endpoint()
    assert_no_replicas(server)
