"""The SageMaker Python SDK's `IPInsights` estimator against sageforge, as its example notebook uses it: CSV
logins uploaded to S3, `fit` on `RecordSet`s naming them (the SDK then sends `feature_dim` and
`mini_batch_size`, and the channels declare no content type), `deploy`, and the SDK's predictor sending CSV
and reading JSON."""

from __future__ import annotations

import numpy as np
from sagemaker import IPInsights
from sagemaker.amazon.amazon_estimator import RecordSet
from sagemaker.session import Session

from sageforge.algorithms.linear_learner.metrics import roc_auc
from sageforge.testing.server import RunningServer
from tests.algorithms.test_ipinsights import csv_body, logins
from tests.hosting import assert_no_replicas
from tests.sagemaker.support import ROLE

INSTANCE_TYPE = "ml.m5.large"


def test_fit_deploy_and_predict(sdk_session: Session, server: RunningServer) -> None:
    lines = logins(300, 6000)
    bucket = sdk_session.default_bucket()
    channels = []
    for channel, part in (("train", lines[:5000]), ("validation", lines[5000:])):
        key = f"ipinsights/{channel}/part-0.csv"
        server.client("s3").put_object(Bucket=bucket, Key=key, Body=csv_body(part))
        channels.append(RecordSet(f"s3://{bucket}/{key}", len(part), 2, "S3Prefix", channel))
    estimator = IPInsights(
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        num_entity_vectors=600,
        vector_dim=16,
        epochs=4,
        learning_rate=0.01,
        sagemaker_session=sdk_session,
    )
    estimator.fit(channels, mini_batch_size=200, logs=False)

    description = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert description["HyperParameters"]["feature_dim"] == "2"
    metrics = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
    assert metrics["validation:discriminator_auc"] >= 0.9

    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        held_out = [line.split(",") for line in lines[5000:5100]]
        rng = np.random.default_rng(2)
        strangers = [[entity, ".".join(map(str, rng.integers(0, 256, 4)))] for entity, _ in held_out]
        answer = predictor.predict(np.array(held_out + strangers))
        scores = np.array([prediction["dot_product"] for prediction in answer["predictions"]])
        assert roc_auc(scores, np.arange(200) < 100) >= 0.9
    finally:
        predictor.delete_model()  # first: it finds the model through the endpoint config delete_endpoint removes
        predictor.delete_endpoint()
    assert_no_replicas(server)
