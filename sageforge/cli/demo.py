"""``sageforge demo``: start a real server, train a built-in XGBoost model on it with plain boto3, deploy the
model to an endpoint, invoke it, score the same rows with a batch transform job, and delete the endpoint; then
train, deploy and invoke a scikit-learn script through the SageMaker Python SDK (``demo_script_mode``).

Everything the example does is an ordinary AWS call a SageMaker user would make; the data is scikit-learn's
bundled breast-cancer set, so nothing is downloaded.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import boto3
import requests

from sageforge.cli.demo_script_mode import run_script_mode
from sageforge.ports import free_port

REGION = "us-east-1"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/SageForgeRole"
BUCKET = "sageforge-demo"


def run_demo(data_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "sageforge", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env={**os.environ, "SAGEFORGE_LOG_LEVEL": "WARNING"},
    )
    try:
        _wait_healthy(url, server)
        print(f"sageforge is serving on {url} (data in {data_dir})")
        rows = _train_xgboost(url)
        run_script_mode(url, data_dir / "client", bucket=BUCKET, region=REGION, role=ROLE, rows=rows)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        print("server stopped")


def _wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if requests.get(f"{url}/_sageforge/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become healthy in time")


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _csv(features: Any, labels: Any) -> bytes:
    lines = (
        ",".join([str(int(label)), *(f"{value:.6g}" for value in row)])
        for row, label in zip(features, labels, strict=True)
    )
    return ("\n".join(lines) + "\n").encode()


def _train_xgboost(url: str) -> Any:
    """Train, deploy, invoke and batch-score the built-in XGBoost; the validation features it scored."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    s3, sagemaker, logs = _client("s3", url), _client("sagemaker", url), _client("logs", url)
    if BUCKET not in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    data = load_breast_cancer()
    x_train, x_val, y_train, y_val = train_test_split(data.data, data.target, test_size=0.25, random_state=7)
    s3.put_object(Bucket=BUCKET, Key="breast-cancer/train/train.csv", Body=_csv(x_train, y_train))
    s3.put_object(Bucket=BUCKET, Key="breast-cancer/validation/validation.csv", Body=_csv(x_val, y_val))
    print(f"uploaded {len(y_train)} training and {len(y_val)} validation rows to s3://{BUCKET}/breast-cancer/")

    job = f"demo-xgboost-{int(time.time())}"
    sagemaker.create_training_job(
        TrainingJobName=job,
        AlgorithmSpecification={"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "num_round": "60",
            "max_depth": "4",
            "eta": "0.2",
        },
        InputDataConfig=[_channel("train"), _channel("validation")],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    print(f"created training job {job}; its logs:")
    description = _stream_logs(sagemaker, logs, job)
    print(f"\ntraining job {job}: {description['TrainingJobStatus']} ({description['SecondaryStatus']})")
    if description["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"the job did not complete: {description.get('FailureReason')}")
    for metric in description.get("FinalMetricDataList", []):
        print(f"  final {metric['MetricName']} = {metric['Value']:.5f}")
    artifact = description["ModelArtifacts"]["S3ModelArtifacts"]
    print(f"  model artifact: {artifact} ({description['TrainingTimeInSeconds']} s of training)")
    local = _check_artifact(s3, artifact, x_val, y_val)
    model = f"demo-xgboost-{int(time.time())}"
    sagemaker.create_model(
        ModelName=model, PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": artifact}, ExecutionRoleArn=ROLE
    )
    try:
        _deploy_and_invoke(sagemaker, _client("sagemaker-runtime", url), model, x_val, local)
        _batch_transform(sagemaker, s3, model, x_val, local)
    finally:
        sagemaker.delete_model(ModelName=model)
        print(f"\ndeleted model {model}")
    return x_val


def _channel(name: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{BUCKET}/breast-cancer/{name}/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def _stream_logs(sagemaker: Any, logs: Any, job: str) -> dict[str, Any]:
    """Print the job's log events as they arrive, the way the SageMaker SDK's ``logs=True`` does."""
    group = "/aws/sagemaker/TrainingJobs"
    seen_tokens: dict[str, str] = {}
    while True:
        description: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=job)
        finished = description["TrainingJobStatus"] in ("Completed", "Failed", "Stopped")
        try:
            streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job}/")["logStreams"]
        except logs.exceptions.ResourceNotFoundException:
            streams = []
        for stream in streams:
            name = stream["logStreamName"]
            while True:
                kwargs = {"logGroupName": group, "logStreamName": name, "startFromHead": True}
                if name in seen_tokens:
                    kwargs["nextToken"] = seen_tokens[name]
                page = logs.get_log_events(**kwargs)
                for event in page["events"]:
                    print(f"  [{name.split('/')[-1]}] {event['message']}")
                seen_tokens[name] = page["nextForwardToken"]
                if not page["events"]:
                    break
        if finished:
            return description
        time.sleep(1)


def _check_artifact(s3: Any, artifact: str, features: Any, labels: Any) -> list[float]:
    """Load the trained model the way a user would, to show the artifact is a real XGBoost model; returns its
    predictions for ``features``."""
    import xgboost
    from sklearn.metrics import roc_auc_score

    bucket, _, key = artifact.removeprefix("s3://").partition("/")
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("xgboost-model")
        if member is None:
            raise SystemExit("model.tar.gz holds no xgboost-model file")
        booster = xgboost.Booster()
        booster.load_model(bytearray(member.read()))
    predictions = [float(score) for score in booster.predict(xgboost.DMatrix(features))]
    auc = roc_auc_score(labels, predictions)
    print(f"  the downloaded model scores validation AUC {auc:.4f} when loaded locally with xgboost")
    return predictions


def _rows(features: Any) -> str:
    return "\n".join(",".join(repr(float(value)) for value in row) for row in features)


def _compare(scores: list[float], local: list[float], what: str) -> None:
    differing = sum(a != b for a, b in zip(scores, local, strict=True))
    print(f"  {len(scores) - differing} of {len(scores)} {what} equal the local model's predictions")
    if differing:
        raise SystemExit(f"{differing} predictions differ from the local model's")


def _deploy_and_invoke(sagemaker: Any, runtime: Any, model: str, features: Any, local: list[float]) -> None:
    """Serve the model from an endpoint, score the validation rows through InvokeEndpoint, and clean up."""
    name = model
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    print(f"\ncreated endpoint {name}; waiting for it to be InService")
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        started = time.perf_counter()
        response = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=_rows(features).encode())
        elapsed = (time.perf_counter() - started) * 1000
        scores = [float(score) for score in response["Body"].read().decode().split(",")]
        print(
            f"  InvokeEndpoint scored {len(scores)} rows in {elapsed:.1f} ms on {response['InvokedProductionVariant']}"
        )
        _compare(scores, local, "endpoint scores")
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
        sagemaker.delete_endpoint_config(EndpointConfigName=name)
        print(f"  deleted endpoint {name} and its configuration")


def _batch_transform(sagemaker: Any, s3: Any, model: str, features: Any, local: list[float]) -> None:
    """Score the validation rows again with a batch transform job: one CSV object in, ``<key>.out`` back."""
    s3.put_object(Bucket=BUCKET, Key="breast-cancer/batch/rows.csv", Body=(_rows(features) + "\n").encode())
    job = model
    sagemaker.create_transform_job(
        TransformJobName=job,
        ModelName=model,
        BatchStrategy="MultiRecord",
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/breast-cancer/batch/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/scores/{job}/", "Accept": "text/csv", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    print(f"\ncreated transform job {job}; waiting for it to finish")
    sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName=job, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
    )
    description = sagemaker.describe_transform_job(TransformJobName=job)
    output = s3.get_object(Bucket=BUCKET, Key=f"scores/{job}/rows.csv.out")["Body"].read().decode()
    scores = [float(line) for line in output.splitlines() if line]
    seconds = (description["TransformEndTime"] - description["TransformStartTime"]).total_seconds()
    print(f"  transform job {job}: {description['TransformJobStatus']} in {seconds:.1f} s; wrote rows.csv.out")
    _compare(scores, local, "batch scores")
