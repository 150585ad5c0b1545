"""The seed tutorials' hosting flow with the real SageMaker Python SDK: train the built-in XGBoost on the
breast-cancer CSVs, deploy it and predict, and score rows in a batch transform; every answer equals what
loading the model artifact locally predicts.

The SDK's waits are the SDK's own (``sdk_session`` only shortens their poll interval), except where they
tail CloudWatch logs: that loop describes the job every 30 s, so ``fit`` and ``Transformer.wait`` are told
not to stream logs.
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost
from botocore.exceptions import ClientError
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.s3 import S3Downloader, S3Uploader
from sagemaker.serializers import CSVSerializer
from sagemaker.session import Session

from sageforge.testing.server import RunningServer
from tests.hosting import FEATURES, assert_no_replicas, csv_body
from tests.sagemaker.support import ROLE, breast_cancer_csvs

INSTANCE_TYPE = "ml.m5.large"
ROWS = FEATURES[:25]


@pytest.fixture
def estimator(sdk_session: Session, tmp_path: Path) -> Estimator:
    return _fit(sdk_session, tmp_path, logs="None")


def _fit(session: Session, tmp_path: Path, *, logs: str) -> Estimator:
    """The built-in XGBoost, trained for a few rounds on train/validation CSVs uploaded with the SDK."""
    data = tmp_path / "data"
    for key, body in breast_cancer_csvs().items():
        (data / key).parent.mkdir(parents=True, exist_ok=True)
        (data / key).write_bytes(body)
    prefix = session.upload_data(str(data / "bc"), key_prefix="bc")
    estimator = Estimator(
        image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        output_path=f"s3://{session.default_bucket()}/output",
        sagemaker_session=session,
        hyperparameters={"objective": "binary:logistic", "num_round": 10, "max_depth": 3},
    )
    channels = {name: TrainingInput(f"{prefix}/{name}/", content_type="text/csv") for name in ("train", "validation")}
    estimator.fit(channels, logs=logs)
    return estimator


def test_fit_streams_the_jobs_statuses_and_log(
    sdk_session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As the tutorials call it: the SDK tails the job's CloudWatch log stream until the job ends (it describes
    # the job every 30 s while it tails, so a job still running at its first look costs that long).
    _fit(sdk_session, tmp_path, logs="All")
    printed = capsys.readouterr().out
    assert "Starting - Preparing the instances for training" in printed
    assert "Completed - Training job completed" in printed
    # The algorithm's own lines, from the job's log stream.
    assert re.search(r"\[9\]\ttrain-logloss:[0-9.]+\tvalidation-logloss:[0-9.]+", printed), printed


def test_deploy_predict_and_delete_endpoint(sdk_session: Session, server: RunningServer, estimator: Estimator) -> None:
    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE, serializer=CSVSerializer())
    try:
        answer = predictor.predict(ROWS)
    finally:
        # The model first: the SDK finds its name through the endpoint config, which delete_endpoint deletes.
        predictor.delete_model()
        predictor.delete_endpoint()
    assert _predictions(answer) == _local_predictions(sdk_session, estimator.model_data, ROWS)
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sdk_session.sagemaker_client.describe_endpoint(EndpointName=predictor.endpoint_name)
    assert_no_replicas(server)


def test_batch_transform_scores_every_line(sdk_session: Session, estimator: Estimator) -> None:
    bucket = sdk_session.default_bucket()
    S3Uploader.upload_string_as_file_body(
        csv_body(FEATURES).decode() + "\n", f"s3://{bucket}/batch/in/rows.csv", sagemaker_session=sdk_session
    )
    transformer = estimator.transformer(
        1, INSTANCE_TYPE, assemble_with="Line", accept="text/csv", output_path=f"s3://{bucket}/batch/out"
    )
    try:
        transformer.transform(f"s3://{bucket}/batch/in/", content_type="text/csv", split_type="Line", wait=False)
        transformer.wait(logs=False)
    finally:
        transformer.delete_model()
    out = f"s3://{bucket}/batch/out/rows.csv.out"
    assert S3Downloader.list(f"s3://{bucket}/batch/out/", sagemaker_session=sdk_session) == [out]
    output = S3Downloader.read_file(out, sagemaker_session=sdk_session)
    assert _predictions(output) == _local_predictions(sdk_session, estimator.model_data, FEATURES)


def _predictions(answer: bytes | str) -> list[float]:
    """The numbers of a CSV answer, one prediction per field or per line."""
    text = answer.decode() if isinstance(answer, bytes) else answer
    return [float(field) for field in re.split(r"[,\n]", text.strip())]


def _local_predictions(session: Session, model_data: str, rows: np.ndarray) -> list[float]:
    """What the booster in the job's model.tar.gz predicts when loaded locally with xgboost."""
    with tarfile.open(fileobj=io.BytesIO(S3Downloader.read_bytes(model_data, sagemaker_session=session))) as archive:
        model = archive.extractfile("xgboost-model")
        assert model is not None
        booster = xgboost.Booster()
        booster.load_model(bytearray(model.read()))
    return [float(value) for value in booster.predict(xgboost.DMatrix(rows))]
