"""The request pipeline through real boto3 clients: routing, auth, validation, unimplemented operations."""

from __future__ import annotations

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from sageforge.testing.server import RunningServer


def test_health(server: RunningServer) -> None:
    response = requests.get(f"{server.url}/_sageforge/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_unimplemented_operation_names_itself(aws) -> None:
    with pytest.raises(ClientError) as caught:
        aws("sagemaker").list_clusters()
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["Error"]["Code"] == "NotImplemented"
    assert "ListClusters" in error["Error"]["Message"]


def test_wrong_secret_is_rejected(server: RunningServer) -> None:
    with pytest.raises(ClientError) as caught:
        server.client("sagemaker", aws_secret_access_key="wrong").list_clusters()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key_is_rejected(server: RunningServer) -> None:
    with pytest.raises(ClientError) as caught:
        server.client("sagemaker", aws_access_key_id="nobody").list_clusters()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_unsigned_request_is_rejected(server: RunningServer) -> None:
    response = requests.post(
        server.url + "/",
        headers={"X-Amz-Target": "SageMaker.ListClusters", "Content-Type": "application/x-amz-json-1.1"},
        data="{}",
        timeout=5,
    )
    assert response.status_code == 403
    assert response.json()["__type"] == "MissingAuthenticationToken"


def test_constraints_are_validated_server_side(server: RunningServer) -> None:
    unvalidated = server.client("sagemaker", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        unvalidated.list_clusters(MaxResults=0, SortBy="Bogus")
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("2 validation errors detected: ")
    assert "'maxResults'" in error["Message"] and "enum value set" in error["Message"]


def test_logs_answers_validation_failures_with_its_own_code(server: RunningServer) -> None:
    unvalidated = server.client("logs", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        unvalidated.create_log_group(logGroupName="x" * 513)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "'logGroupName'" in caught.value.response["Error"]["Message"]


def test_an_answer_before_the_body_is_read_closes_the_connection(server: RunningServer) -> None:
    # Unsigned, so refused before the body is read: the unread bytes must not become the next request.
    response = requests.put(f"{server.url}/some-bucket/key", data=b"x" * 4096, timeout=5)
    assert response.status_code == 403
    assert response.headers["connection"] == "close"
