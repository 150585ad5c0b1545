"""The SageMaker Python SDK's `PCA` estimator against sageforge, as its example notebooks use it:
`record_set()` uploads float32 RecordIO-protobuf shards and a manifest, `fit` trains on them (the SDK adds
`feature_dim` and `mini_batch_size`), `deploy` serves the components and the SDK's predictor speaks
RecordIO-protobuf both ways."""

from __future__ import annotations

import numpy as np
from sagemaker import PCA
from sagemaker.session import Session
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA as ReferencePCA

from sageforge.testing.server import RunningServer
from tests.hosting import assert_no_replicas
from tests.sagemaker.support import ROLE

INSTANCE_TYPE = "ml.m5.large"


def test_record_set_fit_deploy_and_predict(sdk_session: Session, server: RunningServer) -> None:
    features = load_digits().data.astype(np.float32)
    estimator = PCA(
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        num_components=5,
        algorithm_mode="randomized",
        subtract_mean=True,
        sagemaker_session=sdk_session,
    )
    estimator.fit(estimator.record_set(features), logs=False)

    description = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert description["HyperParameters"]["feature_dim"] == "64"
    assert description["HyperParameters"]["mini_batch_size"] == "500"

    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        records = predictor.predict(features[:20])
        projections = np.array([record.label["projection"].float32_tensor.values for record in records])
        assert projections.shape == (20, 5)
        # The most significant component is the last: its projection matches scikit-learn's first up to sign.
        reference = ReferencePCA(n_components=5).fit(features).transform(features[:20])
        correlation = np.corrcoef(projections[:, -1], reference[:, 0])[0, 1]
        assert abs(correlation) > 0.999
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    assert_no_replicas(server)
