"""Fixtures for SageMaker API tests: a bucket per test, with the breast-cancer CSVs when asked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

# The hosting tests' fixture: resources deleted at the end, leaked replica processes fail the test.
from tests.hosting import hosting  # noqa: F401
from tests.sagemaker.support import breast_cancer_csvs, unique

# The SageMaker SDK's session, pointed at the shared server.
from tests.sdk import sdk_session  # noqa: F401


@pytest.fixture
def bucket(aws: Callable[..., Any]) -> Iterator[str]:
    s3 = aws("s3")
    name = unique("train-data")
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def breast_cancer(aws: Callable[..., Any], bucket: str) -> str:
    """The breast-cancer CSVs under s3://bucket/bc/; returns the bucket."""
    s3 = aws("s3")
    for key, body in breast_cancer_csvs().items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return bucket
