"""The SageMaker Python SDK's ``HyperparameterTuner`` over the built-in XGBoost image, against sageforge.

Every client the SDK builds points at the test server (``AWS_ENDPOINT_URL``), the session is given its
default bucket so that it never asks for one, and telemetry is switched off through the SDK's own config
file: nothing reaches the internet.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.session import Session
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

from sageforge.testing.server import RunningServer
from tests.sagemaker.support import ROLE, XGBOOST_IMAGE
from tests.sagemaker.tuning_support import wait_for_tuning_end

SDK_CONFIG = """\
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


@pytest.fixture
def session(server: RunningServer, breast_cancer: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Session:
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(SDK_CONFIG)
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    boto_session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return Session(boto_session=boto_session, sagemaker_client=server.client("sagemaker"), default_bucket=breast_cancer)


def test_hyperparameter_tuner_finds_and_attaches_the_best_model(session: Session, breast_cancer: str) -> None:
    estimator = Estimator(
        image_uri=XGBOOST_IMAGE,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{breast_cancer}/sdk-output",
        sagemaker_session=session,
        hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", "num_round": 10},
    )
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:auc",
        hyperparameter_ranges={"eta": ContinuousParameter(0.1, 0.5), "max_depth": IntegerParameter(2, 5)},
        objective_type="Maximize",
        max_jobs=3,
        max_parallel_jobs=2,
        base_tuning_job_name="sdk-tune",
    )
    channels = {
        name: TrainingInput(f"s3://{breast_cancer}/bc/{name}/", content_type="text/csv")
        for name in ("train", "validation")
    }
    tuner.fit(channels, wait=False)
    name = tuner.latest_tuning_job.name
    # Not tuner.wait(): it sleeps 5 seconds before it first looks.
    assert wait_for_tuning_end(session.sagemaker_client, name)["HyperParameterTuningJobStatus"] == "Completed"

    best = tuner.best_training_job()
    frame = tuner.analytics().dataframe()
    assert len(frame) == 3 and set(frame["TrainingJobStatus"]) == {"Completed"}
    assert frame.loc[frame["FinalObjectiveValue"].idxmax(), "TrainingJobName"] == best
    assert frame["FinalObjectiveValue"].max() > 0.9

    description = tuner.describe()
    assert description["TrainingJobDefinition"]["StaticHyperParameters"]["_tuning_objective_metric"] == "validation:auc"
    model = tuner.best_estimator()
    assert model.latest_training_job.name == best
    assert model.model_data == f"s3://{breast_cancer}/sdk-output/{best}/output/model.tar.gz"
