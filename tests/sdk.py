"""Support for tests that drive sageforge with the SageMaker Python SDK (2.x): the ``sdk_session`` fixture.

Every client the SDK builds points at the test server (``AWS_ENDPOINT_URL``), the session is given a default
bucket of its own so that it never asks STS for an account to name one, and telemetry is switched off through
the SDK's own config file: nothing reaches the internet.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from sageforge.testing.server import RunningServer
from tests.sagemaker.support import unique

if TYPE_CHECKING:
    from sagemaker.session import Session

SDK_CONFIG = """\
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""
# The SDK's waits sleep their poll interval before they first look (5 s for jobs, 30 s for endpoints) while a
# job here ends in a second or two: the session's waits look every 50 ms instead, through their own loops.
POLL_SECONDS = 0.05
_WAITS = ("wait_for_job", "wait_for_endpoint", "wait_for_transform_job")


@pytest.fixture
def sdk_session(server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Session]:
    """A SageMaker SDK session on the shared server; its default bucket is emptied and deleted at the end."""
    # Imported here: the SDK takes seconds to import, and only the tests that use it should pay for that.
    from sagemaker.session import Session

    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(SDK_CONFIG)
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    s3 = server.client("s3")
    bucket = unique("sdk-default")
    s3.create_bucket(Bucket=bucket)
    boto_session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    session = Session(boto_session=boto_session, sagemaker_client=server.client("sagemaker"), default_bucket=bucket)
    for wait in _WAITS:
        setattr(session, wait, functools.partial(getattr(session, wait), poll=POLL_SECONDS))
    yield session
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)
