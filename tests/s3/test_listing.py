"""Listings through boto3: v1 and v2, prefixes, delimiters and common prefixes, pagination over more than a
page of keys, StartAfter, FetchOwner and URL-encoded keys."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from sageforge.store.objects.base import ObjectAttributes
from sageforge.testing.server import RunningServer
from tests.s3.conftest import empty_and_delete, unique_bucket

# 1050 keys under logs/, a few nested "directories", and top-level keys.
LOG_KEYS = [f"logs/{i:04d}.txt" for i in range(1050)]
OTHER_KEYS = ["data/a/1", "data/a/2", "data/b/1", "data/c", "readme", "zeta/1"]


@pytest.fixture(scope="module")
def many(server: RunningServer) -> Iterator[str]:
    """A bucket with 1056 keys, shared by the read-only tests here and written through the server's store
    directly to keep them fast."""
    s3 = server.client("s3")
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    store = server.app.state.platform.objects
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda key: store.put_object(bucket, key, io.BytesIO(key.encode()), ObjectAttributes()),
                LOG_KEYS + OTHER_KEYS,
            )
        )
    yield bucket
    empty_and_delete(s3, bucket)


def test_v2_paginates_more_than_a_page(s3: Any, many: str) -> None:
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=many, Prefix="logs/"))
    assert [page["KeyCount"] for page in pages] == [1000, 50]
    assert pages[0]["IsTruncated"] and not pages[1]["IsTruncated"]
    assert [item["Key"] for page in pages for item in page["Contents"]] == LOG_KEYS


def test_v2_delimiter_rolls_up_common_prefixes(s3: Any, many: str) -> None:
    top = s3.list_objects_v2(Bucket=many, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["data/", "logs/", "zeta/"]
    assert [item["Key"] for item in top["Contents"]] == ["readme"]
    assert top["KeyCount"] == 4
    nested = s3.list_objects_v2(Bucket=many, Delimiter="/", Prefix="data/")
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["data/a/", "data/b/"]
    assert [item["Key"] for item in nested["Contents"]] == ["data/c"]


def test_v2_paginator_with_a_delimiter(s3: Any, many: str) -> None:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=many, Delimiter="/", PaginationConfig={"PageSize": 2})
    entries = [
        entry
        for page in pages
        for entry in [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        + [o["Key"] for o in page.get("Contents", [])]
    ]
    assert sorted(entries) == ["data/", "logs/", "readme", "zeta/"]
    logs = s3.get_paginator("list_objects_v2").paginate(
        Bucket=many, Prefix="logs/", Delimiter="/", PaginationConfig={"PageSize": 300}
    )
    assert [o["Key"] for page in logs for o in page["Contents"]] == LOG_KEYS


def test_v2_start_after_max_keys_and_owner(s3: Any, many: str) -> None:
    page = s3.list_objects_v2(Bucket=many, StartAfter="logs/1047.txt", MaxKeys=3, FetchOwner=True)
    assert [o["Key"] for o in page["Contents"]] == ["logs/1048.txt", "logs/1049.txt", "readme"]
    assert page["StartAfter"] == "logs/1047.txt" and page["IsTruncated"] and page["NextContinuationToken"]
    assert all(o["Owner"]["ID"] for o in page["Contents"])
    rest = s3.list_objects_v2(Bucket=many, ContinuationToken=page["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == ["zeta/1"] and "Owner" not in rest["Contents"][0]
    assert s3.list_objects_v2(Bucket=many, MaxKeys=0)["KeyCount"] == 0


def test_v1_resource_filter_and_markers(server: RunningServer, s3: Any, many: str) -> None:
    resource = boto3.resource(
        "s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    assert [o.key for o in resource.Bucket(many).objects.filter(Prefix="logs/")] == LOG_KEYS
    page = s3.list_objects(Bucket=many, Delimiter="/", MaxKeys=2)
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["data/", "logs/"]
    assert page["IsTruncated"] and page["NextMarker"] == "logs/"
    rest = s3.list_objects(Bucket=many, Delimiter="/", Marker=page["NextMarker"])
    assert [o["Key"] for o in rest["Contents"]] == ["readme"] and rest["CommonPrefixes"] == [{"Prefix": "zeta/"}]


def test_keys_are_url_encoded_when_asked(s3: Any, bucket: str) -> None:
    keys = ["a b/c", "ü+%", "ctrl\x01char", "amp&lt"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    # boto3 asks for encoding-type=url and decodes what comes back.
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted(keys)
    assert sorted(o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]) == sorted(keys)
    prefixes = s3.list_objects_v2(Bucket=bucket, Delimiter=" ")["CommonPrefixes"]
    assert prefixes == [{"Prefix": "a "}]
    # Asked for explicitly, the encoding is left for the caller to undo.
    raw = s3.list_objects_v2(Bucket=bucket, EncodingType="url", Prefix="a b")
    assert [o["Key"] for o in raw["Contents"]] == ["a%20b/c"] and raw["Prefix"] == "a%20b"
    s3.delete_object(Bucket=bucket, Key="ctrl\x01char")  # XML cannot carry it in a DeleteObjects body


def test_listing_a_missing_bucket(s3: Any) -> None:
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.list_objects_v2(Bucket="no-such-bucket-for-listing")
