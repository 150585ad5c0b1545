"""Request bodies compressed by the client are gunzipped only for APIs that compress requests, and bad or
oversized gzip is refused."""

from __future__ import annotations

import gzip

import botocore.session
import pytest

from sageforge.aws.compression import MAX_DECOMPRESSED_BYTES, decompressed
from sageforge.aws.context import AwsRequest, BytesBody, Headers
from sageforge.aws.errors import AwsError

SESSION = botocore.session.get_session()
CLOUDWATCH = SESSION.get_service_model("cloudwatch")


def _request(encoding: str | None) -> AwsRequest:
    headers = [("Content-Encoding", encoding)] if encoding else []
    return AwsRequest("POST", "/", "", Headers(headers), BytesBody(b""))


def test_gzip_bodies_are_decompressed_for_apis_that_compress_requests() -> None:
    body = b"Action=PutMetricData&Namespace=N"
    assert decompressed(_request("gzip"), gzip.compress(body), CLOUDWATCH) == body
    assert decompressed(_request(None), body, CLOUDWATCH) == body


def test_other_apis_keep_content_encoding_as_a_property_of_the_payload() -> None:
    payload = gzip.compress(b"an object stored compressed")
    assert decompressed(_request("gzip"), payload, SESSION.get_service_model("s3")) == payload


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not gzip at all", "SerializationException"),
        (gzip.compress(b"x" * 100)[:-12], "SerializationException"),
        (gzip.compress(b"\0" * (MAX_DECOMPRESSED_BYTES + 1)), "RequestEntityTooLarge"),
    ],
    # Named, not shown: a gzip header carries the time it was written.
    ids=["not-gzip", "truncated", "too-large"],
)
def test_bad_or_oversized_gzip_is_refused(body: bytes, code: str) -> None:
    with pytest.raises(AwsError) as caught:
        decompressed(_request("gzip"), body, CLOUDWATCH)
    assert caught.value.code == code
