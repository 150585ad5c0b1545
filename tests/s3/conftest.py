"""Fixtures for S3 API tests: a client on the shared server and an emptied-and-deleted bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def s3(aws: Callable[..., Any]) -> Any:
    return aws("s3")


def unique_bucket() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


def empty_and_delete(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    yield name
    empty_and_delete(s3, name)
