"""The demo's script-mode step, through the SageMaker Python SDK as a notebook would use it: configured the way
``sageforge env`` configures a shell, an ``SKLearn`` estimator trains the user's script (``demo_code/``) on the
breast-cancer CSVs the boto3 step uploaded, ``deploy`` serves it with the script's own ``model_fn``, and
``predict`` answers what the trained model predicts locally.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

import boto3
import joblib
import numpy as np

from sageforge.cli.env import client_environment, sdk_config
from sageforge.settings import Settings

SCRIPT = Path(__file__).with_name("demo_code") / "sklearn_breast_cancer.py"


def run_script_mode(url: str, work: Path, *, bucket: str, region: str, role: str, rows: Any) -> None:
    """Train, deploy and invoke the scikit-learn script; ``rows`` are validation features to predict."""
    # What `eval "$(sageforge env --sdk-config ...)"` does for a shell: the SDK then never calls real AWS.
    work.mkdir(parents=True, exist_ok=True)
    config = work / "sagemaker-config.yaml"
    config.write_text(sdk_config(bucket))
    os.environ.update(client_environment(Settings(), url, region, config), SAGEMAKER_SUPPRESS_V2_WARNING="1")
    # Clients log each credential and endpoint lookup at INFO; the SDK's own INFO lines are what a notebook shows.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # Imported only now: the SDK reads its config file and environment when it loads.
    from sagemaker.session import Session
    from sagemaker.sklearn.estimator import SKLearn

    session: Any = Session(boto3.Session(region_name=region))
    source = work / "sklearn-src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    shutil.copy(SCRIPT, source / "train.py")
    estimator: Any = SKLearn(
        entry_point="train.py",
        source_dir=str(source),
        framework_version="1.2-1",
        instance_type="ml.m5.large",
        role=role,
        hyperparameters={"inverse_regularization": "0.5"},
        metric_definitions=[{"Name": "validation:accuracy", "Regex": r"validation accuracy: ([0-9.]+)"}],
        sagemaker_session=session,
    )
    channels = {name: f"s3://{bucket}/breast-cancer/{name}/" for name in ("train", "validation")}
    print("\nscript mode: SKLearn(entry_point='train.py').fit() through the SageMaker Python SDK")
    # The SDK's own waits look every 5 s (jobs) and 30 s (endpoints); the demo's jobs take a few seconds.
    estimator.fit(channels, wait=False)
    job = session.wait_for_job(estimator.latest_training_job.name, poll=1)
    for metric in job.get("FinalMetricDataList", []):
        print(f"  training job {job['TrainingJobName']}: {metric['MetricName']} = {metric['Value']:.4f}")
    local = _local_model(session, estimator.model_data).predict(rows)

    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large", wait=False)
    try:
        session.wait_for_endpoint(predictor.endpoint_name, poll=1)
        print(f"  deployed endpoint {predictor.endpoint_name}; predicting {len(rows)} rows")
        answer = np.asarray(predictor.predict(rows))
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
        print(f"  deleted endpoint {predictor.endpoint_name} and its model")
    if answer.tolist() != local.tolist():
        raise SystemExit("the endpoint's predictions differ from the trained model's")
    print(f"  {len(answer)}/{len(rows)} predictions equal the trained model's, loaded locally from model.tar.gz")


def _local_model(session: Any, model_data: str) -> Any:
    bucket, _, key = model_data.removeprefix("s3://").partition("/")
    archive = session.boto_session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("model.joblib")
        assert member is not None
        return joblib.load(io.BytesIO(member.read()))
