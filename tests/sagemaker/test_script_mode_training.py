"""Script-mode training through the SageMaker Python SDK's framework estimators: the user's own entry point and
source dir run in the framework's environment with the toolkit's SM_* variables and command-line arguments,
and the job's model, output data, metrics and failures come back as SageMaker reports them."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from botocore.exceptions import ClientError
from sagemaker.session import Session
from sklearn.datasets import load_iris

from sageforge.engine.backends.docker import DockerBackend
from tests.sagemaker.support import ROLE, training_request, unique

INSTANCE_TYPE = "ml.m5.large"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

SKLEARN_SCRIPT = """
import argparse, json, os

import joblib
import numpy as np
from sklearn.tree import DecisionTreeClassifier


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_depth", type=int)
    parser.add_argument("--criterion")
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()

    data = np.loadtxt(os.path.join(args.train, "iris.csv"), delimiter=",")
    model = DecisionTreeClassifier(max_depth=args.max_depth, criterion=args.criterion).fit(data[:, 1:], data[:, 0])
    print(f"train_accuracy={model.score(data[:, 1:], data[:, 0]):.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "environment.json"), "w") as out:
        json.dump({k: v for k, v in os.environ.items() if k.startswith("SM_")}, out)
"""

PYTORCH_SCRIPT = """
import argparse, json, os

import torch


def network():
    return torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def model_fn(model_dir):
    model = network()
    model.load_state_dict(torch.load(os.path.join(model_dir, "model.pth")))
    return model.eval()


def input_fn(body, content_type):
    if content_type != "application/json":
        raise ValueError(f"this model reads application/json, not {content_type}")
    return torch.tensor(json.loads(body)["x"], dtype=torch.float32).unsqueeze(1)


def output_fn(prediction, accept):
    return json.dumps({"y": prediction.squeeze(1).tolist()}), "application/json"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float)
    args = parser.parse_args()

    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64).unsqueeze(1)
    y = 3 * x + 0.5
    model = network()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"epoch {epoch} loss={loss.item():.6f}")
    torch.save(model.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pth"))
"""

XGBOOST_SCRIPT = """
import os

import numpy as np
import xgboost

data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "iris.csv"), delimiter=",")
booster = xgboost.train(
    {"objective": "multi:softmax", "num_class": 3, "max_depth": int(os.environ["SM_HP_MAX_DEPTH"])},
    xgboost.DMatrix(data[:, 1:], label=data[:, 0]),
    num_boost_round=5,
)
booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], "xgboost-model.json"))
"""


def _source_dir(folder: Path, script: str, *, requirements: str | None = None) -> str:
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(script))
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)
    return str(folder)


def _iris_channel(session: Session, tmp_path: Path) -> str:
    data = load_iris()
    path = tmp_path / "iris.csv"
    np.savetxt(path, np.column_stack([data.target, data.data]), delimiter=",", fmt="%g")
    return session.upload_data(str(path), key_prefix=f"{unique('iris')}/train")


def _model_files(session: Session, job_name: str) -> dict[str, bytes]:
    description = session.sagemaker_client.describe_training_job(TrainingJobName=job_name)
    bucket, _, key = description["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").partition("/")
    archive = session.boto_session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def test_sklearn_estimator_trains_deploys_and_predicts(sdk_session: Session, tmp_path: Path) -> None:
    from sagemaker.sklearn import SKLearn

    estimator = SKLearn(
        entry_point="train.py",
        source_dir=_source_dir(tmp_path / "src", SKLEARN_SCRIPT, requirements="scikit-learn\n"),
        framework_version="1.2-1",
        instance_type=INSTANCE_TYPE,
        role=ROLE,
        hyperparameters={"max_depth": 3, "criterion": "entropy"},
        metric_definitions=[{"Name": "train:accuracy", "Regex": r"train_accuracy=([0-9.]+)"}],
        sagemaker_session=sdk_session,
    )
    estimator.fit({"train": _iris_channel(sdk_session, tmp_path)}, logs=False)

    job = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["train:accuracy"] > 0.95

    model = joblib.load(io.BytesIO(_model_files(sdk_session, job["TrainingJobName"])["model.joblib"]))
    assert model.get_depth() <= 3 and model.criterion == "entropy"
    iris = load_iris()
    assert model.score(iris.data, iris.target) > 0.95

    output = job["OutputDataConfig"]["S3OutputPath"].rstrip("/") + f"/{job['TrainingJobName']}/output/output.tar.gz"
    bucket, _, key = output.removeprefix("s3://").partition("/")
    archive = sdk_session.boto_session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        environment = json.load(tar.extractfile("environment.json"))  # type: ignore[arg-type]
    assert environment["SM_HPS"] == '{"criterion":"entropy","max_depth":3}'
    assert environment["SM_USER_ARGS"] == '["--criterion","entropy","--max_depth","3"]'
    assert environment["SM_USER_ENTRY_POINT"] == "train.py" and environment["SM_CHANNELS"] == '["train"]'
    assert re.fullmatch(r"s3://.+/source/sourcedir\.tar\.gz", environment["SM_MODULE_DIR"])

    # The same script's model_fn serves the model, with the default NPY handlers the SDK's predictor speaks.
    predictor = estimator.deploy(initial_instance_count=1, instance_type=INSTANCE_TYPE)
    try:
        answer = predictor.predict(iris.data[::10])
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    assert answer.tolist() == model.predict(iris.data[::10]).tolist()


def test_pytorch_estimator_trains_on_cpu_and_serves_with_its_own_handlers(sdk_session: Session, tmp_path: Path) -> None:
    import torch
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.pytorch import PyTorch
    from sagemaker.serializers import JSONSerializer

    estimator = PyTorch(
        entry_point="train.py",
        source_dir=_source_dir(tmp_path / "src", PYTORCH_SCRIPT),
        framework_version="2.1",
        py_version="py310",
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        role=ROLE,
        hyperparameters={"epochs": 200, "lr": 0.05},
        sagemaker_session=sdk_session,
    )
    estimator.fit(logs=False)

    state = torch.load(io.BytesIO(_model_files(sdk_session, estimator.latest_training_job.name)["model.pth"]))
    model = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    model.load_state_dict(state)
    x = torch.tensor([[-0.5], [0.0], [0.5]])
    assert torch.allclose(model(x), 3 * x + 0.5, atol=0.1)

    # deploy repacks the script into model.tar.gz's code/; its input_fn/output_fn speak {"x": [...]} -> {"y": [...]}.
    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type=INSTANCE_TYPE,
        serializer=JSONSerializer(),
        deserializer=JSONDeserializer(),
    )
    try:
        client = sdk_session.sagemaker_client
        config = client.describe_endpoint_config(EndpointConfigName=predictor.endpoint_name)
        container = client.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])["PrimaryContainer"]
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
        answer = predictor.predict({"x": [-0.5, 0.0, 0.5]})
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()
    with torch.no_grad():
        expected = model(x).squeeze(1).tolist()
    assert answer["y"] == pytest.approx(expected, rel=1e-6)


def test_xgboost_framework_mode_runs_the_users_script_from_the_code_channel(
    sdk_session: Session, tmp_path: Path
) -> None:
    import xgboost
    from sagemaker.xgboost import XGBoost

    estimator = XGBoost(
        entry_point="train.py",
        source_dir=_source_dir(tmp_path / "src", XGBOOST_SCRIPT),
        framework_version="1.7-1",
        instance_count=1,
        instance_type=INSTANCE_TYPE,
        role=ROLE,
        hyperparameters={"max_depth": 2},
        # The SDK then sends the code as channel "code" and names /opt/ml/input/data/code/sourcedir.tar.gz.
        enable_network_isolation=True,
        sagemaker_session=sdk_session,
    )
    estimator.fit({"train": _iris_channel(sdk_session, tmp_path)}, logs=False)
    job = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert [channel["ChannelName"] for channel in job["InputDataConfig"]] == ["train", "code"]

    booster = xgboost.Booster()
    booster.load_model(bytearray(_model_files(sdk_session, estimator.latest_training_job.name)["xgboost-model.json"]))
    iris = load_iris()
    assert (booster.predict(xgboost.DMatrix(iris.data)) == iris.target).mean() > 0.9


def test_a_failing_script_fails_the_job_with_its_exception(sdk_session: Session, tmp_path: Path) -> None:
    from sagemaker.exceptions import UnexpectedStatusException
    from sagemaker.sklearn import SKLearn

    estimator = SKLearn(
        entry_point="train.py",
        source_dir=_source_dir(tmp_path / "src", 'raise ValueError("bad learning rate")\n'),
        framework_version="1.2-1",
        instance_type=INSTANCE_TYPE,
        role=ROLE,
        sagemaker_session=sdk_session,
    )
    with pytest.raises(UnexpectedStatusException, match="bad learning rate"):
        estimator.fit(logs=False)

    job = sdk_session.sagemaker_client.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert job["TrainingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n")
    assert 'ValueError: bad learning rate"' in reason and "train.py" in reason


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-training:1.9.0-cpu-py38",
            "runs mxnet training scripts, and the Python environment sageforge runs mxnet scripts in cannot import "
            "'mxnet'. Install it there (",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own-algorithm:latest",
            "is neither a built-in algorithm nor a framework image that sageforge knows, and no container engine is "
            "available to run it",
        ),
    ],
    ids=["framework-not-installed", "own-container-without-docker"],
)
def test_jobs_that_cannot_run_here_fail_at_once_saying_why(
    aws: Callable[..., Any], bucket: str, image: str, reason: str
) -> None:
    if "mxnet" in image and importlib.util.find_spec("mxnet") is not None:
        pytest.skip("mxnet is installed here")
    if "my-own" in image and DockerBackend().available():
        pytest.skip("a Docker engine answers here")
    sagemaker = aws("sagemaker")
    name = unique("cannot-run")
    request = training_request(name, bucket, HyperParameters={"sagemaker_program": '"train.py"'})
    request["AlgorithmSpecification"]["TrainingImage"] = image
    sagemaker.create_training_job(**request)
    job = sagemaker.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(f"ClientError: The image '{image}' {reason}")


def test_a_submit_directory_sageforge_cannot_read_is_refused(aws: Callable[..., Any], bucket: str) -> None:
    sagemaker = aws("sagemaker")
    name = unique("local-code")
    request = training_request(
        name, bucket, HyperParameters={"sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"file:///src"'}
    )
    request["AlgorithmSpecification"]["TrainingImage"] = SKLEARN_IMAGE
    with pytest.raises(ClientError) as refused:
        sagemaker.create_training_job(**request)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "sagemaker_submit_directory '\"file:///src\"' is not supported" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="Requested resource not found"):
        sagemaker.describe_training_job(TrainingJobName=name)
