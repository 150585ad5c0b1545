"""Script-mode inference through the real SageMaker SDK: framework models with the user's own handlers.

- ``SKLearnModel`` with an ``entry_point`` and ``source_dir`` (uploaded as ``sourcedir.tar.gz``, not repacked:
  the platform stages it) serves a joblib-dumped model: ``predict`` and a batch transform both equal the model's
  own predictions, and an ``input_fn`` that raises answers a ModelError with its message.
- A repacked model (``code/`` inside model.tar.gz, as the SDK's ``PyTorchModel`` makes it) is served by
  ``tests/sagemaker/test_script_mode_training.py``'s PyTorch estimator, trained there and deployed.
"""

from __future__ import annotations

import io
from pathlib import Path

import joblib
import numpy as np
import pytest
from botocore.exceptions import ClientError
from sagemaker.deserializers import JSONDeserializer
from sagemaker.s3 import S3Downloader, S3Uploader
from sagemaker.serializers import CSVSerializer
from sagemaker.session import Session
from sklearn.linear_model import LinearRegression

from sageforge.testing.server import RunningServer
from tests.hosting import Hosting, assert_no_replicas, csv_body, tarball
from tests.sagemaker.support import ROLE

INSTANCE_TYPE = "ml.m5.large"
ROWS = np.random.default_rng(7).normal(size=(6, 3))

SKLEARN_HANDLERS = """\
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    if content_type != "text/csv":
        raise ValueError(f"this model reads text/csv, not {content_type}")
    return np.array([[float(v) for v in line.split(",")] for line in body.splitlines() if line])
"""


@pytest.fixture(scope="module")
def sklearn_model() -> LinearRegression:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(40, 3))
    return LinearRegression().fit(features, features @ [1.5, -2.0, 0.5] + rng.normal(scale=0.1, size=40))


def _source_dir(root: Path, script: str, requirements: str | None = None) -> Path:
    root.mkdir()
    (root / "inference.py").write_text(script)
    if requirements is not None:
        (root / "requirements.txt").write_text(requirements)
    return root


def _upload(session: Session, key: str, data: bytes) -> str:
    uri = f"s3://{session.default_bucket()}/{key}"
    S3Uploader.upload_bytes(data, uri, sagemaker_session=session)
    return uri


def test_sklearn_model_serves_and_transforms_with_the_users_handlers(
    sdk_session: Session, server: RunningServer, sklearn_model: LinearRegression, tmp_path: Path
) -> None:
    from sagemaker.sklearn.model import SKLearnModel

    dumped = io.BytesIO()
    joblib.dump(sklearn_model, dumped)
    model = SKLearnModel(
        model_data=_upload(sdk_session, "sklearn/model.tar.gz", tarball({"model.joblib": dumped.getvalue()})),
        role=ROLE,
        entry_point="inference.py",
        # requirements.txt names a package already installed: honoured, and nothing is downloaded.
        source_dir=str(_source_dir(tmp_path / "src", SKLEARN_HANDLERS, "joblib\n")),
        framework_version="1.2-1",
        sagemaker_session=sdk_session,
    )
    expected = sklearn_model.predict(ROWS)
    predictor = model.deploy(
        initial_instance_count=1,
        instance_type=INSTANCE_TYPE,
        serializer=CSVSerializer(),
        deserializer=JSONDeserializer(),
    )
    try:
        np.testing.assert_allclose(predictor.predict(ROWS), expected, rtol=1e-12)
        with pytest.raises(ClientError) as raised:
            sdk_session.sagemaker_runtime_client.invoke_endpoint(
                EndpointName=predictor.endpoint_name, Body=b"a b c", ContentType="text/plain"
            )
        error = raised.value.response["Error"]
        assert error["Code"] == "ModelError"
        assert "ValueError: this model reads text/csv, not text/plain" in error["Message"]

        bucket = sdk_session.default_bucket()
        S3Uploader.upload_string_as_file_body(
            csv_body(ROWS).decode() + "\n", f"s3://{bucket}/batch/in/rows.csv", sagemaker_session=sdk_session
        )
        transformer = model.transformer(
            1, INSTANCE_TYPE, assemble_with="Line", accept="text/csv", output_path=f"s3://{bucket}/batch/out"
        )
        transformer.transform(f"s3://{bucket}/batch/in/", content_type="text/csv", split_type="Line", wait=False)
        transformer.wait(logs=False)
        output = S3Downloader.read_file(f"s3://{bucket}/batch/out/rows.csv.out", sagemaker_session=sdk_session)
        np.testing.assert_allclose([float(line) for line in output.split()], expected, rtol=1e-12)
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    assert_no_replicas(server)


def test_a_framework_sageforge_cannot_import_fails_the_endpoint(hosting: Hosting) -> None:
    model = hosting.model(
        Image="763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-inference:1.9.0-cpu-py38",
        Environment={"SAGEMAKER_PROGRAM": "inference.py"},
    )
    described = hosting.describe(hosting.endpoint(hosting.config(("AllTraffic", model, 1.0, 1))))
    assert described["EndpointStatus"] == "Failed"
    assert "cannot import 'mxnet'" in described["FailureReason"]
