"""The rest-xml protocol against botocore itself: requests built by a real boto3 client parse back to the
parameters it was given, and our responses parse with botocore's rest-xml parser to the output we wrote."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HeadersDict
from botocore.parsers import create_parser

from sageforge.aws.context import AwsRequest, BytesBody, Headers, RequestContext
from sageforge.aws.errors import AwsError
from sageforge.aws.protocol.chunked import AwsChunkedBody
from sageforge.aws.protocol.rest_xml import RestXmlProtocol
from sageforge.aws.specs import service_model

S3 = service_model("s3")
PROTOCOL = RestXmlProtocol()
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
# Members botocore adds to requests on its own (checksums, encoding-type=url for listings).
ADDED_BY_BOTOCORE = {
    "ChecksumAlgorithm",
    "ChecksumCRC32",
    "ContentMD5",
    "EncodingType",
    "ChecksumMode",
    "ContentLength",
}


class _Sent:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


@pytest.fixture(scope="module")
def sent() -> Iterator[Any]:
    """Call ``sent(operation, **params)`` -> the request a boto3 client put on the wire, as an ``AwsRequest``."""
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:1",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    captured: list[AWSPreparedRequest] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        captured.append(request)
        return AWSResponse(request.url, 200, {}, _Sent())

    client.meta.events.register("before-send", capture)

    def send(operation: str, **params: Any) -> AwsRequest:
        try:
            getattr(client, operation)(**params)
        except Exception:  # the canned empty response does not parse for every operation
            pass
        request = captured.pop()
        url = urlsplit(request.url)
        body = request.body.read() if hasattr(request.body, "read") else request.body or b""
        headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        return AwsRequest(request.method, url.path, url.query, Headers(headers), BytesBody(body))

    yield send


def parsed(request: AwsRequest) -> tuple[str, dict[str, Any]]:
    name = PROTOCOL.operation_name(request, S3)
    params = PROTOCOL.parse(request, S3.operation_model(name))
    if hasattr(params.get("Body"), "read"):
        params["Body"] = params["Body"].read()
    return name, params


REQUESTS = [
    (
        "put_object",
        "PutObject",
        {
            "Bucket": "b",
            "Key": "a b/ü+%?.txt",
            "Body": b"hello",
            "Metadata": {"k": "v"},
            "ContentType": "text/plain",
            "Expires": WHEN,
            "ServerSideEncryption": "AES256",
            "BucketKeyEnabled": True,
            "IfNoneMatch": "*",
        },
    ),
    (
        "copy_object",
        "CopyObject",
        {
            "Bucket": "b",
            "Key": "k",
            "CopySource": "src/key",
            "MetadataDirective": "REPLACE",
            "CopySourceIfModifiedSince": WHEN,
        },
    ),
    ("upload_part", "UploadPart", {"Bucket": "b", "Key": "k", "UploadId": "u", "PartNumber": 3, "Body": b"x"}),
    (
        "upload_part_copy",
        "UploadPartCopy",
        {
            "Bucket": "b",
            "Key": "k",
            "UploadId": "u",
            "PartNumber": 2,
            "CopySource": "src/key",
            "CopySourceRange": "bytes=0-9",
        },
    ),
    ("create_multipart_upload", "CreateMultipartUpload", {"Bucket": "b", "Key": "k", "ChecksumAlgorithm": "SHA256"}),
    (
        "complete_multipart_upload",
        "CompleteMultipartUpload",
        {
            "Bucket": "b",
            "Key": "k",
            "UploadId": "u",
            "MultipartUpload": {
                "Parts": [
                    {"PartNumber": 1, "ETag": '"e1"', "ChecksumCRC32": "AAAAAA=="},
                    {"PartNumber": 2, "ETag": '"e2"'},
                ]
            },
        },
    ),
    ("list_parts", "ListParts", {"Bucket": "b", "Key": "k", "UploadId": "u", "MaxParts": 5, "PartNumberMarker": 2}),
    ("abort_multipart_upload", "AbortMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
    ("list_multipart_uploads", "ListMultipartUploads", {"Bucket": "b", "Prefix": "p/", "MaxUploads": 3}),
    (
        "delete_objects",
        "DeleteObjects",
        {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b&<c"}], "Quiet": True}},
    ),
    ("list_objects", "ListObjects", {"Bucket": "b", "Marker": "m", "Delimiter": "/", "MaxKeys": 10}),
    (
        "list_objects_v2",
        "ListObjectsV2",
        {"Bucket": "b", "Prefix": "p", "StartAfter": "s", "FetchOwner": True, "ContinuationToken": "t"},
    ),
    (
        "get_object",
        "GetObject",
        {
            "Bucket": "b",
            "Key": "k",
            "Range": "bytes=0-1",
            "IfModifiedSince": WHEN,
            "IfMatch": '"e"',
            "ResponseContentType": "text/csv",
        },
    ),
    ("head_object", "HeadObject", {"Bucket": "b", "Key": "k", "IfUnmodifiedSince": WHEN}),
    ("delete_object", "DeleteObject", {"Bucket": "b", "Key": "k"}),
    (
        "create_bucket",
        "CreateBucket",
        {"Bucket": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}},
    ),
    ("head_bucket", "HeadBucket", {"Bucket": "b", "ExpectedBucketOwner": "000000000000"}),
    ("list_buckets", "ListBuckets", {"MaxBuckets": 2}),
    ("delete_bucket", "DeleteBucket", {"Bucket": "b"}),
    ("get_bucket_location", "GetBucketLocation", {"Bucket": "b"}),
]


@pytest.mark.parametrize(("method", "operation", "params"), REQUESTS, ids=[r[1] for r in REQUESTS])
def test_requests_parse_back_to_their_parameters(
    sent: Any, method: str, operation: str, params: dict[str, Any]
) -> None:
    name, found = parsed(sent(method, **params))
    assert name == operation
    assert set(found) - set(params) <= ADDED_BY_BOTOCORE
    expected = dict(params)
    if "CopySource" in expected:
        expected["CopySource"] = "src/key"  # botocore URL-encodes it; handlers decode
    assert {k: v for k, v in found.items() if k in params} == expected


def test_operations_sharing_a_path_are_told_apart(sent: Any) -> None:
    names = [
        parsed(sent(method, **params))[0]
        for method, params in [
            ("get_object_tagging", {"Bucket": "b", "Key": "k"}),
            ("get_bucket_lifecycle_configuration", {"Bucket": "b"}),
            ("list_object_versions", {"Bucket": "b"}),
        ]
    ]
    assert names == ["GetObjectTagging", "GetBucketLifecycleConfiguration", "ListObjectVersions"]
    unknown = AwsRequest("POST", "/b", "", Headers([]), BytesBody(b""))
    with pytest.raises(AwsError) as caught:
        PROTOCOL.operation_name(unknown, S3)
    assert (caught.value.code, caught.value.status) == ("MethodNotAllowed", 405)


def test_aws_chunked_bodies_are_decoded() -> None:
    body = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    headers = Headers(
        [
            ("content-encoding", "aws-chunked,gzip"),
            ("x-amz-decoded-content-length", "11"),
            ("content-length", str(len(body))),
        ]
    )
    request = AwsRequest("PUT", "/b/k", "", headers, BytesBody(body))
    params = PROTOCOL.parse(request, S3.operation_model("PutObject"))
    assert isinstance(params["Body"], AwsChunkedBody)
    assert params["Body"].read() == b"hello world"
    assert params["ContentLength"] == 11 and params["ContentEncoding"] == "gzip"


class _Trickle:
    """A body that arrives a few bytes at a time, so chunk headers and data straddle reads."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data, self._step = io.BytesIO(data), step

    def read(self, size: int = -1) -> bytes:
        return self._data.read(self._step)


@pytest.mark.parametrize(
    ("body", "declared", "code"),
    [
        (b"5\r\nhello\r\n0\r\n\r\n", "5", None),
        (b"5\r\nhel", "5", "IncompleteBody"),
        (b"5\r\nhello\r\n0\r\n\r\n", "6", "IncompleteBody"),
        (b"zz\r\nhello\r\n0\r\n\r\n", "5", "InvalidRequest"),
        (b"5\r\nhelloXX0\r\n\r\n", "5", "InvalidRequest"),
    ],
    ids=["whole", "truncated", "short", "bad-size", "no-crlf"],
)
def test_aws_chunked_framing(body: bytes, declared: str, code: str | None) -> None:
    headers = Headers([("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", declared)])
    decoded = AwsChunkedBody(_Trickle(body), headers)
    if code is None:
        assert decoded.read() == b"hello"
        return
    with pytest.raises(AwsError) as caught:
        decoded.read()
    assert caught.value.code == code


def response_of(operation: str, output: dict[str, Any], method: str = "GET") -> tuple[int, dict[str, Any]]:
    context = RequestContext(AwsRequest(method, "/", "", Headers([]), BytesBody(b"")))
    operation_model = S3.operation_model(operation)
    response = PROTOCOL.serialize(output, operation_model, context)
    body = b"".join(response.chunks())
    raw = {"status_code": response.status, "headers": HeadersDict(response.headers), "body": body}
    result = create_parser("rest-xml").parse(raw, operation_model.output_shape)
    metadata = result.pop("ResponseMetadata")
    assert metadata["RequestId"] == context.request_id
    return response.status, result


OWNER = {"ID": "abc", "DisplayName": "sageforge"}
RESPONSES: list[tuple[str, dict[str, Any]]] = [
    (
        "ListObjectsV2",
        {
            "Name": "b",
            "Prefix": "p/",
            "Delimiter": "/",
            "MaxKeys": 2,
            "KeyCount": 2,
            "IsTruncated": True,
            "NextContinuationToken": "tok",
            "EncodingType": "url",
            "Contents": [
                {
                    "Key": "p/a&b<c>",
                    "LastModified": WHEN,
                    "ETag": '"e"',
                    "Size": 3,
                    "StorageClass": "STANDARD",
                    "ChecksumAlgorithm": ["CRC32"],
                    "ChecksumType": "FULL_OBJECT",
                    "Owner": OWNER,
                }
            ],
            "CommonPrefixes": [{"Prefix": "p/d/"}],
        },
    ),
    (
        "ListObjects",
        {
            "Name": "b",
            "Prefix": "",
            "Marker": "",
            "NextMarker": "x",
            "MaxKeys": 1,
            "IsTruncated": True,
            "Contents": [{"Key": "k\r\n", "LastModified": WHEN, "ETag": '"e"', "Size": 0, "Owner": OWNER}],
        },
    ),
    (
        "ListBuckets",
        {
            "Buckets": [{"Name": "b", "CreationDate": WHEN, "BucketRegion": "us-east-1"}],
            "Owner": OWNER,
            "ContinuationToken": "c",
        },
    ),
    (
        "CreateMultipartUpload",
        {"Bucket": "b", "Key": "k", "UploadId": "u", "ChecksumAlgorithm": "CRC32", "ServerSideEncryption": "AES256"},
    ),
    (
        "CompleteMultipartUpload",
        {
            "Location": "http://h/b/k",
            "Bucket": "b",
            "Key": "k",
            "ETag": '"e-2"',
            "ChecksumCRC32": "AAAAAA==-2",
            "ChecksumType": "COMPOSITE",
            "BucketKeyEnabled": False,
        },
    ),
    (
        "CopyObject",
        {
            "CopyObjectResult": {"ETag": '"e"', "LastModified": WHEN, "ChecksumCRC32": "AAAAAA=="},
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": "key",
        },
    ),
    ("UploadPartCopy", {"CopyPartResult": {"ETag": '"e"', "LastModified": WHEN}}),
    ("DeleteObjects", {"Deleted": [{"Key": "a"}], "Errors": [{"Key": "b", "Code": "AccessDenied", "Message": "no"}]}),
    (
        "ListParts",
        {
            "Bucket": "b",
            "Key": "k",
            "UploadId": "u",
            "PartNumberMarker": 0,
            "NextPartNumberMarker": 1,
            "MaxParts": 1,
            "IsTruncated": True,
            "Initiator": OWNER,
            "Owner": OWNER,
            "StorageClass": "STANDARD",
            "Parts": [{"PartNumber": 1, "LastModified": WHEN, "ETag": '"e"', "Size": 5, "ChecksumCRC32": "AAAAAA=="}],
        },
    ),
    (
        "ListMultipartUploads",
        {
            "Bucket": "b",
            "KeyMarker": "",
            "UploadIdMarker": "",
            "MaxUploads": 10,
            "IsTruncated": False,
            "Prefix": "",
            "Delimiter": "/",
            "Uploads": [{"UploadId": "u", "Key": "k", "Initiated": WHEN, "Owner": OWNER}],
            "CommonPrefixes": [{"Prefix": "d/"}],
        },
    ),
    (
        "HeadObject",
        {
            "ETag": '"e"',
            "LastModified": WHEN,
            "ContentLength": 10,
            "ContentType": "text/plain",
            "Metadata": {"owner": "me"},
            "Expires": WHEN,
            "AcceptRanges": "bytes",
            "BucketKeyEnabled": True,
            "ChecksumSHA256": "abc=",
            "ChecksumType": "FULL_OBJECT",
        },
    ),
    ("HeadBucket", {"BucketRegion": "eu-west-1", "AccessPointAlias": False}),
    ("PutObject", {"ETag": '"e"', "ChecksumCRC32": "AAAAAA==", "ChecksumType": "FULL_OBJECT"}),
]


@pytest.mark.parametrize(("operation", "output"), RESPONSES, ids=[r[0] for r in RESPONSES])
def test_responses_parse_back_to_their_output(operation: str, output: dict[str, Any]) -> None:
    status, result = response_of(operation, output)
    assert status == 200
    if not output.get("Metadata"):
        assert result.pop("Metadata", {}) == {}  # the parser reads the (empty) x-amz-meta-* map of every response
    assert result == output


def test_streamed_bodies_and_partial_content() -> None:
    chunks = iter([b"01", b"234"])
    output = {"Body": chunks, "ContentLength": 5, "ContentRange": "bytes 0-4/10", "ETag": '"e"', "LastModified": WHEN}
    status, result = response_of("GetObject", output)
    assert status == 206 and result.pop("Body") == "01234" and result.pop("Metadata") == {}
    assert result == {k: v for k, v in output.items() if k != "Body"}
    assert response_of("DeleteObject", {})[0] == 204


def test_bucket_location_is_the_root_text() -> None:
    context = RequestContext(AwsRequest("GET", "/b", "location", Headers([]), BytesBody(b"")))
    operation = S3.operation_model("GetBucketLocation")
    located = PROTOCOL.serialize({"LocationConstraint": "eu-west-1"}, operation, context).body
    assert located == (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>'
    )
    assert b"<LocationConstraint xmlns=" in PROTOCOL.serialize({}, operation, context).body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_errors(method: str) -> None:
    context = RequestContext(AwsRequest(method, "/b/k", "", Headers([("content-length", "4")]), BytesBody(b"")))
    error = AwsError("The specified key does not exist.", code="NoSuchKey", status=404, fields={"Key": "a<b"})
    response = PROTOCOL.serialize_error(error, S3, context)
    headers = HeadersDict(response.headers)
    assert response.status == 404 and headers["x-amz-request-id"] == context.request_id
    raw = {"status_code": 404, "headers": headers, "body": response.body}
    parsed_error = create_parser("rest-xml").parse(raw, S3.operation_model("GetObject").output_shape)["Error"]
    if method == "HEAD":
        assert response.body == b"" and parsed_error == {"Code": "404", "Message": "Not Found"}
    else:
        assert parsed_error == {"Code": "NoSuchKey", "Message": "The specified key does not exist.", "Key": "a<b"}


def test_xml_payload_errors() -> None:
    headers = Headers([("content-length", "9")])
    request = AwsRequest("POST", "/b", "delete", headers, BytesBody(b"<Delete><"))
    with pytest.raises(AwsError) as caught:
        PROTOCOL.parse(request, S3.operation_model("DeleteObjects"))
    assert caught.value.code == "MalformedXML"
    body = io.BytesIO(b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>")
    request = AwsRequest("POST", "/b/k", "uploadId=u", headers, body)
    with pytest.raises(AwsError) as caught:
        PROTOCOL.parse(request, S3.operation_model("CompleteMultipartUpload"))
    assert caught.value.code == "MalformedXML"
