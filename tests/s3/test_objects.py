"""Objects through boto3: writes and reads with their headers, awkward keys, ranges, conditional requests,
digests, deletes and copies."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

KEYS = [
    "plain.txt",
    "with space/and more.txt",
    "unicodé/ключ/键.bin",
    "plus+sign",
    "100%done",
    "tilde~",
    "a//b",
    "q?x=1#y",
]


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_put_then_get_and_head(s3: Any, bucket: str) -> None:
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    put = s3.put_object(
        Bucket=bucket,
        Key="doc.json",
        Body=b'{"a": 1}',
        ContentType="application/json",
        CacheControl="max-age=60",
        ContentDisposition="attachment",
        Expires=expires,
        Metadata={"Owner": "me", "purpose": "test"},
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId="alias/key",
    )
    etag = '"' + hashlib.md5(b'{"a": 1}').hexdigest() + '"'
    assert put["ETag"] == etag and put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == "alias/key"
    got = s3.get_object(Bucket=bucket, Key="doc.json")
    assert got["Body"].read() == b'{"a": 1}'
    for response in (got, s3.head_object(Bucket=bucket, Key="doc.json")):
        assert response["ETag"] == etag and response["ContentLength"] == 8
        assert response["ContentType"] == "application/json" and response["CacheControl"] == "max-age=60"
        assert response["ContentDisposition"] == "attachment" and response["ExpiresString"]
        assert response["Metadata"] == {"owner": "me", "purpose": "test"}
        assert response["ServerSideEncryption"] == "aws:kms" and response["AcceptRanges"] == "bytes"
        assert datetime.now(UTC) - response["LastModified"] < timedelta(minutes=1)
    overridden = s3.get_object(Bucket=bucket, Key="doc.json", ResponseContentType="text/plain")
    assert overridden["ContentType"] == "text/plain"


@pytest.mark.parametrize("key", KEYS)
def test_awkward_keys_round_trip(s3: Any, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_missing_objects(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="missing")
    assert caught.value.response["Error"] == {"Code": "404", "Message": "Not Found"}  # no body to read
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="missing")
    assert error_of(caught) == (404, "NoSuchKey") and caught.value.response["Error"]["Key"] == "missing"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="no-such-bucket-here", Key="missing")
    assert error_of(caught) == (404, "NoSuchBucket")


def test_ranges(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    for header, content, content_range in [
        ("bytes=0-4", b"01234", "bytes 0-4/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=8-100", b"89", "bytes 8-9/10"),
    ]:
        got = s3.get_object(Bucket=bucket, Key="digits", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert (got["Body"].read(), got["ContentRange"], got["ContentLength"]) == (content, content_range, len(content))
    head = s3.head_object(Bucket=bucket, Key="digits", Range="bytes=2-3")
    assert head["ContentLength"] == 2 and head["ContentRange"] == "bytes 2-3/10"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="digits", Range="bytes=10-")
    assert error_of(caught) == (416, "InvalidRange")
    assert s3.get_object(Bucket=bucket, Key="digits", Range="bytes=5-2")["Body"].read() == b"0123456789"


def test_conditional_reads(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"data")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"data"
    assert s3.get_object(Bucket=bucket, Key="k", IfNoneMatch='"other"')["Body"].read() == b"data"
    cases = [
        ({"IfMatch": '"other"'}, (412, "PreconditionFailed")),
        ({"IfUnmodifiedSince": modified - timedelta(days=1)}, (412, "PreconditionFailed")),
        ({"IfNoneMatch": etag}, (304, "304")),
        ({"IfModifiedSince": modified + timedelta(days=1)}, (304, "304")),
    ]
    for condition, expected in cases:
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=bucket, Key="k", **condition)
        assert error_of(caught) == expected
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="k", IfMatch='"other"')
    assert error_of(caught) == (412, "412")
    # A matching If-Match wins over a failing If-Unmodified-Since, as in S3.
    s3.get_object(Bucket=bucket, Key="k", IfMatch=etag, IfUnmodifiedSince=modified - timedelta(days=1))


def test_conditional_writes(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfNoneMatch="*")
    assert error_of(caught) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch='"stale"')
    assert error_of(caught) == (412, "PreconditionFailed")
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"


def test_checksums_are_verified_stored_and_echoed(s3: Any, bucket: str) -> None:
    data = b"checksummed body"
    sha256 = b64(hashlib.sha256(data).digest())
    put = s3.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm="SHA256")
    assert put["ChecksumSHA256"] == sha256 and put["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == sha256 and got["Body"].read() == data
    crc = b64(zlib.crc32(data).to_bytes(4, "big"))
    assert s3.put_object(Bucket=bucket, Key="c", Body=data)["ChecksumCRC32"] == crc  # boto3's default
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=data, ChecksumCRC32=b64(b"\0\0\0\0"))
    assert error_of(caught) == (400, "BadDigest")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=data, ChecksumCRC64NVME="AAAAAAAAAAA=")
    assert error_of(caught) == (400, "InvalidRequest")  # an algorithm this server cannot compute


def test_a_content_md5_mismatch_stores_nothing(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"data", ContentMD5=b64(hashlib.md5(b"other").digest()))
    assert error_of(caught) == (400, "BadDigest")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"data", ContentMD5="not-base64!")
    assert error_of(caught) == (400, "InvalidDigest")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", ContentMD5=b64(hashlib.md5(b"data").digest()))


def test_deletes(s3: Any, bucket: str) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.delete_object(Bucket=bucket, Key="a")  # deleting a missing key succeeds
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "missing"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["b", "missing"] and "Errors" not in deleted
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_copies(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src key", Body=b"payload", ContentType="text/csv", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src key"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    head = s3.head_object(Bucket=bucket, Key="copy")
    assert head["ContentType"] == "text/csv" and head["Metadata"] == {"a": "1"}
    s3.copy_object(
        Bucket=bucket,
        Key="copy",
        CopySource=f"{bucket}/src key",
        MetadataDirective="REPLACE",
        ContentType="text/plain",
        Metadata={"b": "2"},
    )
    head = s3.head_object(Bucket=bucket, Key="copy")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"b": "2"}
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"payload"
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="copy", CopySource=f"{bucket}/copy")
    assert error_of(caught) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/missing")
    assert error_of(caught) == (404, "NoSuchKey")
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/copy", CopySourceIfMatch='"other"')
    assert error_of(caught) == (412, "PreconditionFailed")
