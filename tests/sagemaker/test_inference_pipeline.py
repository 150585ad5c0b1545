"""Inference pipelines through the real SageMaker SDK: a ``PipelineModel`` of a scikit-learn preprocessing
container (script mode) and the built-in XGBoost, served by an endpoint and by a batch transform, answers
``booster.predict(scaler.transform(x))`` computed by hand; an error in a container names it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import xgboost
from botocore.exceptions import ClientError
from sagemaker import image_uris
from sagemaker.model import Model
from sagemaker.pipeline import PipelineModel
from sagemaker.predictor import Predictor
from sagemaker.s3 import S3Downloader, S3Uploader
from sagemaker.serializers import CSVSerializer
from sagemaker.session import Session
from sklearn.preprocessing import StandardScaler

from sageforge.testing.server import RunningServer
from tests.hosting import FEATURES, assert_no_replicas, csv_body, tarball
from tests.sagemaker.support import ROLE, XGBOOST_IMAGE, unique

INSTANCE_TYPE = "ml.m5.large"
ROWS = FEATURES[:20]

# The preprocessing container's script: the default input_fn (CSV as float32), the scaler as the prediction,
# and an output_fn writing CSV for the next container.
SCALER_HANDLERS = """\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "scaler.joblib"))


def predict_fn(data, model):
    return model.transform(data)


def output_fn(prediction, accept):
    return "\\n".join(",".join(repr(float(v)) for v in row) for row in prediction), "text/csv"
"""


@pytest.fixture(scope="module")
def steps() -> tuple[StandardScaler, xgboost.Booster]:
    """The scaler, and a booster trained on what it outputs."""
    labels = (FEATURES[:, 0] > np.median(FEATURES[:, 0])).astype(float)
    scaler = StandardScaler().fit(FEATURES)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(scaler.transform(FEATURES), labels), 10
    )
    return scaler, booster


def _by_hand(steps: tuple[StandardScaler, xgboost.Booster], rows: np.ndarray) -> np.ndarray:
    scaler, booster = steps
    # The sklearn container's default input_fn reads CSV as float32, as the framework container does.
    return np.asarray(booster.predict(xgboost.DMatrix(scaler.transform(rows.astype(np.float32)))))


def test_pipeline_model_serves_and_transforms_as_the_steps_by_hand(
    sdk_session: Session, server: RunningServer, steps: tuple[StandardScaler, xgboost.Booster], tmp_path: Path
) -> None:
    from sagemaker.sklearn.model import SKLearnModel

    scaler, booster = steps
    bucket = sdk_session.default_bucket()
    dumped = io.BytesIO()
    joblib.dump(scaler, dumped)
    S3Uploader.upload_bytes(
        tarball({"scaler.joblib": dumped.getvalue()}),
        f"s3://{bucket}/scaler/model.tar.gz",
        sagemaker_session=sdk_session,
    )
    S3Uploader.upload_bytes(
        tarball({"xgboost-model": bytes(booster.save_raw(raw_format="ubj"))}),
        f"s3://{bucket}/xgb/model.tar.gz",
        sagemaker_session=sdk_session,
    )
    source = tmp_path / "src"
    source.mkdir()
    (source / "scaler.py").write_text(SCALER_HANDLERS)
    preprocessing = SKLearnModel(
        model_data=f"s3://{bucket}/scaler/model.tar.gz",
        role=ROLE,
        entry_point="scaler.py",
        source_dir=str(source),
        framework_version="1.2-1",
        sagemaker_session=sdk_session,
    )
    xgb = Model(
        image_uri=image_uris.retrieve("xgboost", sdk_session.boto_region_name, "1.7-1"),
        model_data=f"s3://{bucket}/xgb/model.tar.gz",
        role=ROLE,
        sagemaker_session=sdk_session,
    )
    pipeline = PipelineModel(
        models=[preprocessing, xgb], role=ROLE, predictor_cls=Predictor, sagemaker_session=sdk_session
    )
    predictor = pipeline.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE, serializer=CSVSerializer())
    expected = _by_hand(steps, ROWS)
    try:
        answer = predictor.predict(ROWS)
        np.testing.assert_allclose(
            [float(v) for v in answer.decode().replace("\n", ",").strip(",").split(",")], expected, rtol=1e-6
        )
        with pytest.raises(ClientError) as raised:
            sdk_session.sagemaker_runtime_client.invoke_endpoint(
                EndpointName=predictor.endpoint_name, Body=b"\x89PNG", ContentType="image/png"
            )
        error = raised.value.response["Error"]
        assert error["Code"] == "ModelError"
        assert error["Message"].startswith("Received client error (415) from container_1 with message")

        S3Uploader.upload_string_as_file_body(
            csv_body(ROWS).decode() + "\n", f"s3://{bucket}/batch/in/rows.csv", sagemaker_session=sdk_session
        )
        transformer = pipeline.transformer(
            1, INSTANCE_TYPE, assemble_with="Line", accept="text/csv", output_path=f"s3://{bucket}/batch/out"
        )
        transformer.transform(f"s3://{bucket}/batch/in/", content_type="text/csv", split_type="Line", wait=False)
        transformer.wait(logs=False)
        output = S3Downloader.read_file(f"s3://{bucket}/batch/out/rows.csv.out", sagemaker_session=sdk_session)
        np.testing.assert_allclose([float(v) for v in output.split()], expected, rtol=1e-6)
    finally:
        sdk_session.delete_model(pipeline.name)
        predictor.delete_endpoint()
    assert_no_replicas(server)


def test_direct_invocation_of_a_multi_container_model_is_refused(aws: Callable[..., Any]) -> None:
    sagemaker = aws("sagemaker")
    container = {"Image": XGBOOST_IMAGE}
    with pytest.raises(ClientError) as raised:
        sagemaker.create_model(
            ModelName=unique("direct"),
            Containers=[{**container, "ContainerHostname": "a"}, {**container, "ContainerHostname": "b"}],
            InferenceExecutionConfig={"Mode": "Direct"},
            ExecutionRoleArn=ROLE,
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "InferenceExecutionConfig.Mode Direct is not supported" in error["Message"]
