"""The shape-driven XML writer against botocore's rest-xml parser (S3 shapes: flattened lists, renamed list
members, XML attributes with namespaces, header members that stay out of the body)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser

from sageforge.aws.protocol.xml_writer import XML_DECLARATION, element, escape, format_timestamp

S3 = botocore.session.get_session().get_service_model("s3")
S3_NAMESPACE = {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}


def _round_trip(operation: str, root: str, output: dict[str, Any]) -> dict[str, Any]:
    shape = S3.operation_model(operation).output_shape
    body = XML_DECLARATION + element(root, output, shape, S3_NAMESPACE)
    parsed: dict[str, Any] = create_parser("rest-xml").parse(
        {"body": body.encode(), "headers": {}, "status_code": 200}, shape
    )
    parsed.pop("ResponseMetadata", None)
    return parsed


def test_flattened_lists_and_header_members() -> None:
    modified = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    output = {
        "IsTruncated": True,
        "Contents": [
            {"Key": "a/b.txt", "LastModified": modified, "ETag": '"abc"', "Size": 3, "StorageClass": "STANDARD"},
            {"Key": "a/c\r.txt", "LastModified": modified, "ETag": '"def"', "Size": 0, "StorageClass": "STANDARD"},
        ],
        "Name": "bucket",
        "Prefix": "a/",
        "MaxKeys": 1000,
        "CommonPrefixes": [{"Prefix": "a/d/"}],
        "KeyCount": 3,
        "NextContinuationToken": "token",
    }
    assert _round_trip("ListObjectsV2", "ListBucketResult", {**output, "RequestCharged": "requester"}) == output


def test_single_item_flattened_list_stays_a_list() -> None:
    output = {"IsTruncated": False, "Contents": [{"Key": "only", "Size": 1}], "Name": "b", "KeyCount": 1}
    assert _round_trip("ListObjectsV2", "ListBucketResult", output) == output


def test_renamed_list_members_and_namespaced_attributes() -> None:
    output = {
        "Owner": {"ID": "owner-id", "DisplayName": "me"},
        "Grants": [
            {"Grantee": {"ID": "owner-id", "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"},
            {
                "Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AllUsers", "Type": "Group"},
                "Permission": "READ",
            },
        ],
    }
    shape = S3.operation_model("GetBucketAcl").output_shape
    body = element("AccessControlPolicy", output, shape)
    assert '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">' in body
    assert _round_trip("GetBucketAcl", "AccessControlPolicy", output) == output


def test_empty_values() -> None:
    assert _round_trip("GetBucketTagging", "Tagging", {"TagSet": []}) == {"TagSet": []}
    assert _round_trip("GetBucketTagging", "Tagging", {"TagSet": [{"Key": "k", "Value": ""}]}) == {
        "TagSet": [{"Key": "k", "Value": ""}]
    }


@pytest.mark.parametrize(
    ("timestamp_format", "expected"),
    [
        ("iso8601", "2024-02-03T04:05:06.789Z"),
        ("rfc822", "Sat, 03 Feb 2024 04:05:06 GMT"),
        ("unixTimestamp", "1706933106.789"),
    ],
)
def test_timestamp_formats(timestamp_format: str, expected: str) -> None:
    moment = datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    assert format_timestamp(moment, timestamp_format) == expected
    assert format_timestamp(moment.timestamp(), timestamp_format) == expected


def test_escape() -> None:
    assert escape('<a & "b">\r') == '&lt;a &amp; "b"&gt;&#13;'
