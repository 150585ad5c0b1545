from __future__ import annotations

import pytest

from sageforge.engine.errors import InvalidS3Uri
from sageforge.engine.workload import S3Location


@pytest.mark.parametrize(
    ("uri", "bucket", "key"),
    [("s3://b/k/x.csv", "b", "k/x.csv"), ("s3://b/prefix/", "b", "prefix/"), ("s3://b", "b", ""), ("s3://b/", "b", "")],
)
def test_parse(uri: str, bucket: str, key: str) -> None:
    assert S3Location.parse(uri) == S3Location(bucket, key)


@pytest.mark.parametrize("uri", ["http://b/k", "b/k", "s3://", "s3:///key"])
def test_parse_refuses_what_is_not_an_s3_uri(uri: str) -> None:
    with pytest.raises(InvalidS3Uri):
        S3Location.parse(uri)


@pytest.mark.parametrize(
    ("location", "joined"),
    [
        (S3Location("b", "out"), "s3://b/out/job/output"),
        (S3Location("b", "out/"), "s3://b/out/job/output"),
        (S3Location("b", ""), "s3://b/job/output"),
    ],
)
def test_join_treats_the_location_as_a_folder(location: S3Location, joined: str) -> None:
    assert location.join("job", "output").uri == joined
