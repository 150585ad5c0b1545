"""STS and IAM through boto3 and the SageMaker SDK's role lookups, never touching real AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
import sagemaker.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError

from sageforge.testing.server import RunningServer

Aws = Callable[..., Any]
ROLE_ARN = "arn:aws:iam::000000000000:role/SageForgeRole"
# The SDK module, untyped.
SDK_SESSION: Any = sagemaker.session


def test_get_caller_identity_is_an_assumed_role(aws: Aws) -> None:
    identity = aws("sts", region="eu-central-1").get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:sts::000000000000:assumed-role/SageForgeRole/test"
    assert identity["UserId"].startswith("AROA") and identity["UserId"].endswith(":test")


def test_get_role_answers_for_any_name(aws: Aws) -> None:
    iam = aws("iam")
    role = iam.get_role(RoleName="MySageMakerRole")["Role"]
    assert role["Arn"] == "arn:aws:iam::000000000000:role/MySageMakerRole"
    assert (role["Path"], role["RoleName"]) == ("/", "MySageMakerRole")
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21
    # botocore decodes IAM's URL-encoded policy documents, as it does for AWS.
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    caller = aws("sts").get_caller_identity()["UserId"].split(":")[0]
    assert iam.get_role(RoleName="SageForgeRole")["Role"]["RoleId"] == caller


def test_invalid_role_name_is_a_validation_error(server: RunningServer) -> None:
    iam = server.client("iam", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        iam.get_role(RoleName="bad name!")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unimplemented_query_operation_names_itself(aws: Aws) -> None:
    with pytest.raises(ClientError) as caught:
        aws("iam").list_users()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    assert "ListUsers" in caught.value.response["Error"]["Message"]


def test_bad_signature_on_query_services(server: RunningServer) -> None:
    with pytest.raises(ClientError) as wrong_secret:
        server.client("sts", aws_secret_access_key="wrong").get_caller_identity()
    assert wrong_secret.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert wrong_secret.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as unknown_key:
        server.client("iam", aws_access_key_id="nobody").get_role(RoleName="r")
    assert unknown_key.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_unknown_action_is_rejected(server: RunningServer) -> None:
    credentials = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test").get_credentials()
    request = AWSRequest(method="POST", url=server.url + "/", data="Action=Bogus&Version=2011-06-15")
    request.headers["Content-Type"] = "application/x-www-form-urlencoded"
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
    response = requests.post(server.url + "/", data=request.body, headers=dict(request.headers), timeout=5)
    assert response.status_code == 400
    assert "<Code>InvalidAction</Code>" in response.text


@pytest.fixture
def sdk_session(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A SageMaker SDK session whose clients reach sageforge; a request to AWS itself fails the test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    # The SDK sends STS calls to an explicit regional AWS endpoint, which beats AWS_ENDPOINT_URL (see the
    # contracts, "STS trap"); the test redirects that one lookup.
    monkeypatch.setattr(sagemaker.session, "sts_regional_endpoint", lambda region: server.url)
    boto_session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-west-2")
    server_host = urlsplit(server.url).netloc

    def only_sageforge(request: Any, **_: Any) -> None:
        host = urlsplit(request.url).netloc
        if host != server_host:
            raise AssertionError(f"the SDK tried to reach {host}")

    boto_session.events.register("before-send", only_sageforge)
    return SDK_SESSION.Session(boto_session=boto_session)


def test_sdk_finds_its_execution_role(sdk_session: Any) -> None:
    assert sdk_session.get_caller_identity_arn() == ROLE_ARN
    assert SDK_SESSION.get_execution_role(sdk_session) == ROLE_ARN


def test_sdk_expands_role_names(sdk_session: Any) -> None:
    assert sdk_session.expand_role("TrainingRole") == "arn:aws:iam::000000000000:role/TrainingRole"
    assert sdk_session.expand_role(ROLE_ARN) == ROLE_ARN
