"""Buckets through boto3: create, head, list, locate, delete, naming rules, ownership and authentication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from sageforge.testing.server import RunningServer
from tests.s3.conftest import empty_and_delete, unique_bucket


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_bucket_lifecycle(s3: Any) -> None:
    name = unique_bucket()
    before = datetime.now(UTC) - timedelta(seconds=1)
    s3.create_bucket(Bucket=name)
    head = s3.head_bucket(Bucket=name)
    assert head["BucketRegion"] == "us-east-1"
    listed = {b["Name"]: b for b in s3.list_buckets()["Buckets"]}
    assert listed[name]["CreationDate"] >= before and listed[name]["BucketRegion"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    deleted = s3.delete_bucket(Bucket=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket=name)
    assert error_of(caught) == (404, "404")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=name)
    assert error_of(caught) == (404, "NoSuchBucket")
    assert caught.value.response["Error"]["BucketName"] == name


def test_resource_api_reads_creation_date(server: RunningServer, bucket: str) -> None:
    resource = boto3.resource(
        "s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    assert resource.Bucket(bucket).creation_date is not None


def test_creating_an_existing_bucket_is_refused(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=bucket)
    assert error_of(caught) == (409, "BucketAlreadyOwnedByYou")


@pytest.mark.parametrize(
    "name",
    ["ab", "Upper-case", "a..b", "192.168.1.1", "xn--punycode", "-leading", "trailing-", "x" * 64, "name-s3alias"],
)
def test_invalid_bucket_names_are_refused(s3: Any, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=name)
    assert error_of(caught) == (400, "InvalidBucketName")


def test_location_constraints(server: RunningServer) -> None:
    regional = server.client("s3", region="eu-west-1")
    name = unique_bucket()
    regional.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    try:
        assert regional.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
        assert regional.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"
    finally:
        regional.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as caught:
        regional.create_bucket(Bucket=unique_bucket())
    assert error_of(caught) == (400, "IllegalLocationConstraintException")
    with pytest.raises(ClientError) as caught:
        server.client("s3").create_bucket(
            Bucket=unique_bucket(), CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
        )
    assert error_of(caught) == (400, "InvalidArgument")  # us-east-1 is not in the model's constraint enum
    # The us-east-1 endpoint creates buckets in any region.
    s3 = server.client("s3")
    name = unique_bucket()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == "ap-south-1"
    s3.delete_bucket(Bucket=name)


def test_a_bucket_with_objects_is_not_deleted(s3: Any) -> None:
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="keep", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=name)
    assert error_of(caught) == (409, "BucketNotEmpty")
    empty_and_delete(s3, name)


def test_expected_bucket_owner(s3: Any, bucket: str) -> None:
    s3.head_bucket(Bucket=bucket, ExpectedBucketOwner="000000000000")
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner="111111111111")
    assert error_of(caught) == (403, "403")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner="111111111111")
    assert error_of(caught) == (403, "AccessDenied")


def test_list_buckets_pages(s3: Any) -> None:
    names = sorted(unique_bucket() for _ in range(3))
    for name in names:
        s3.create_bucket(Bucket=name)
    try:
        first = s3.list_buckets(MaxBuckets=1, Prefix="test-")
        assert len(first["Buckets"]) == 1 and first["ContinuationToken"]
        seen = [
            b["Name"] for page in s3.get_paginator("list_buckets").paginate(Prefix="test-") for b in page["Buckets"]
        ]
        assert set(names) <= set(seen)
        assert first["Owner"]["ID"]
    finally:
        for name in names:
            s3.delete_bucket(Bucket=name)


def test_requests_must_be_signed(server: RunningServer, bucket: str) -> None:
    response = requests.get(f"{server.url}/{bucket}", timeout=5)
    assert response.status_code == 403
    assert "<Code>" in response.text and response.headers["x-amz-request-id"]
    with pytest.raises(ClientError) as caught:
        server.client("s3", aws_secret_access_key="wrong").head_bucket(Bucket=bucket)
    assert error_of(caught) == (403, "403")
    with pytest.raises(ClientError) as caught:
        server.client("s3", aws_secret_access_key="wrong").list_objects_v2(Bucket=bucket)
    assert error_of(caught) == (403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as caught:
        server.client("s3", aws_access_key_id="nobody").list_objects_v2(Bucket=bucket)
    assert error_of(caught) == (403, "InvalidAccessKeyId")


def test_unknown_operations_name_themselves(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_of(caught) == (501, "NotImplemented")
    assert "GetBucketTagging" in caught.value.response["Error"]["Message"]
