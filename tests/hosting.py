"""Support for the hosting API tests (models, endpoint configs, endpoints, InvokeEndpoint) through boto3.

``Hosting`` creates resources with unique names and, at the end of the test, deletes every endpoint, config
and model it created and waits until no replica process is left (a leak fails the test). The model artifact
is an XGBoost booster trained here on the breast-cancer set, tarred as a training job would leave it.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import numpy as np
import pytest
import xgboost
from botocore.exceptions import ClientError
from sklearn.datasets import load_breast_cancer

from sageforge.testing.server import RunningServer
from tests.sagemaker.support import ROLE, XGBOOST_IMAGE, unique

FEATURES = load_breast_cancer().data
_REPLICA_EXIT_TIMEOUT = 30


@cache
def booster() -> xgboost.Booster:
    data = load_breast_cancer()
    return xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(data.data, data.target), 15)


def local_predictions(rows: np.ndarray) -> list[float]:
    """What loading the artifact locally with xgboost predicts."""
    return [float(value) for value in booster().predict(xgboost.DMatrix(rows))]


def csv_body(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(value)) for value in row) for row in rows).encode()


def tarball(files: dict[str, bytes]) -> bytes:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive.getvalue()


def model_tarball() -> bytes:
    return tarball({"xgboost-model": bytes(booster().save_raw(raw_format="ubj"))})


class Hosting:
    def __init__(self, client: Callable[[str], Any], server: RunningServer, bucket: str) -> None:
        self.sagemaker = client("sagemaker")
        self.runtime = client("sagemaker-runtime")
        self.s3 = client("s3")
        self.server = server
        self.bucket = bucket
        self._endpoints: list[str] = []
        self._configs: list[str] = []
        self._models: list[str] = []

    def artifact(self, data: bytes | None = None) -> str:
        key = f"{unique('model')}/model.tar.gz"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=model_tarball() if data is None else data)
        return f"s3://{self.bucket}/{key}"

    def model(self, artifact: str | None = None, **container: Any) -> str:
        name = unique("model")
        self.sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": artifact or self.artifact(), **container},
            ExecutionRoleArn=ROLE,
        )
        self._models.append(name)
        return name

    def config(self, *variants: tuple[str, str, float, int]) -> str:
        """An endpoint config of (variant name, model name, weight, instance count) variants."""
        name = unique("config")
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": variant,
                    "ModelName": model,
                    "InitialVariantWeight": weight,
                    "InitialInstanceCount": count,
                    "InstanceType": "ml.m5.large",
                }
                for variant, model, weight, count in variants
            ],
        )
        self._configs.append(name)
        return name

    def endpoint(self, config: str, *, wait: bool = True, name: str | None = None) -> str:
        name = name or unique("endpoint")
        self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
        self._endpoints.append(name)
        if wait:
            self.wait(name)
        return name

    def served_endpoint(self, count: int = 1) -> str:
        """An InService endpoint of one AllTraffic variant serving the booster."""
        endpoint = self.endpoint(self.config(("AllTraffic", self.model(), 1.0, count)))
        assert self.describe(endpoint)["EndpointStatus"] == "InService"
        return endpoint

    def describe(self, endpoint: str) -> dict[str, Any]:
        description: dict[str, Any] = self.sagemaker.describe_endpoint(EndpointName=endpoint)
        return description

    def wait(self, endpoint: str, timeout: float = 60) -> dict[str, Any]:
        """The endpoint's description once it is neither Creating nor Updating."""
        deadline = time.monotonic() + timeout
        while True:
            description = self.describe(endpoint)
            if description["EndpointStatus"] not in ("Creating", "Updating"):
                return description
            assert time.monotonic() < deadline, f"{endpoint} is still {description['EndpointStatus']}"
            time.sleep(0.05)

    def invoke(self, endpoint: str, body: bytes, **params: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.runtime.invoke_endpoint(
            EndpointName=endpoint, Body=body, ContentType=params.pop("ContentType", "text/csv"), **params
        )
        response["Body"] = response["Body"].read()
        return response

    def cleanup(self) -> None:
        for endpoint in self._endpoints:
            _ignore_missing(self.sagemaker.delete_endpoint, EndpointName=endpoint)
        for config in self._configs:
            _ignore_missing(self.sagemaker.delete_endpoint_config, EndpointConfigName=config)
        for model in self._models:
            _ignore_missing(self.sagemaker.delete_model, ModelName=model)
        assert_no_replicas(self.server)


def assert_no_replicas(server: RunningServer) -> None:
    """Every replica process has exited (within a grace period for those draining)."""
    serving = server.app.state.platform.serving
    deadline = time.monotonic() + _REPLICA_EXIT_TIMEOUT
    while serving.replica_count():
        assert time.monotonic() < deadline, f"{serving.replica_count()} replica process(es) leaked"
        time.sleep(0.05)


def _ignore_missing(call: Callable[..., Any], **params: Any) -> None:
    try:
        call(**params)
    except ClientError as error:
        if "Could not find" not in error.response["Error"]["Message"]:
            raise


@pytest.fixture
def hosting(aws: Callable[[str], Any], server: RunningServer, bucket: str) -> Iterator[Hosting]:
    """Hosting resources on the shared server, all deleted at the end; leaked replicas fail the test."""
    helper = Hosting(aws, server, bucket)
    yield helper
    helper.cleanup()
