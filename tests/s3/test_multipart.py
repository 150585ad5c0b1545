"""Multipart uploads through boto3: parts, listing, completion rules, checksums, copies and aborts."""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

MIB = 1024 * 1024
FIRST, SECOND = b"a" * (5 * MIB), b"tail"


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_upload_list_and_complete(s3: Any, bucket: str) -> None:
    created = s3.create_multipart_upload(
        Bucket=bucket, Key="big", ContentType="text/plain", Metadata={"m": "v"}, ChecksumAlgorithm="CRC32"
    )
    upload_id = created["UploadId"]
    assert created["ChecksumAlgorithm"] == "CRC32"
    one = s3.upload_part(
        Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=1, Body=FIRST, ChecksumAlgorithm="CRC32"
    )
    two = s3.upload_part(
        Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=2, Body=SECOND, ChecksumAlgorithm="CRC32"
    )
    assert one["ETag"] == f'"{hashlib.md5(FIRST).hexdigest()}"' and one["ChecksumCRC32"] == crc32(FIRST)
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, len(FIRST)), (2, len(SECOND))]
    assert listed["ChecksumAlgorithm"] == "CRC32" and not listed["IsTruncated"]
    paged = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id, MaxParts=1)
    assert paged["IsTruncated"] and paged["NextPartNumberMarker"] == 1
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("big", upload_id)]
    parts = [
        {"PartNumber": 1, "ETag": one["ETag"], "ChecksumCRC32": one["ChecksumCRC32"]},
        {"PartNumber": 2, "ETag": two["ETag"], "ChecksumCRC32": two["ChecksumCRC32"]},
    ]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id, MultipartUpload={"Parts": parts})
    md5s = hashlib.md5(FIRST).digest() + hashlib.md5(SECOND).digest()
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"' and done["Key"] == "big"
    composite = crc32(base64.b64decode(one["ChecksumCRC32"]) + base64.b64decode(two["ChecksumCRC32"]))
    assert done["ChecksumCRC32"] == f"{composite}-2" and done["ChecksumType"] == "COMPOSITE"
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == FIRST + SECOND and got["ContentType"] == "text/plain" and got["Metadata"] == {"m": "v"}
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_full_object_checksums(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    one = s3.upload_part(
        Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=FIRST, ChecksumAlgorithm="CRC32"
    )
    two = s3.upload_part(
        Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=SECOND, ChecksumAlgorithm="CRC32"
    )
    parts = {"Parts": [{"PartNumber": 1, "ETag": one["ETag"]}, {"PartNumber": 2, "ETag": two["ETag"]}]}
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts, ChecksumCRC32=crc32(FIRST + SECOND)
    )
    assert done["ChecksumCRC32"] == crc32(FIRST + SECOND) and done["ChecksumType"] == "FULL_OBJECT"
    # botocore verifies a full-object checksum on a whole GET.
    assert s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")["Body"].read() == FIRST + SECOND


def test_completion_rules(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"small")["ETag"]
    last = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"last")["ETag"]
    cases = [
        ([{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}], "EntityTooSmall"),
        ([{"PartNumber": 1, "ETag": '"0123"'}], "InvalidPart"),
        ([{"PartNumber": 3, "ETag": last}], "InvalidPart"),
        ([{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}], "InvalidPartOrder"),
        ([], "MalformedXML"),
    ]
    for parts, code in cases:
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts})
        assert error_of(caught) == (400, code)
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=10_001, Body=b"x")
    assert error_of(caught) == (400, "InvalidArgument")
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": last}]}
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"last"


def test_abort(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"part")
    assert (
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)["ResponseMetadata"]["HTTPStatusCode"]
        == 204
    )
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_parts", {}),
        ("upload_part", {"PartNumber": 2, "Body": b"late"}),
        ("abort_multipart_upload", {}),
    ]
    for method, extra in calls:
        with pytest.raises(ClientError) as caught:
            getattr(s3, method)(Bucket=bucket, Key="k", UploadId=upload_id, **extra)
        assert error_of(caught) == (404, "NoSuchUpload")
        assert caught.value.response["Error"]["UploadId"] == upload_id


def test_upload_part_copy_with_ranges(s3: Any, bucket: str) -> None:
    source = bytes(range(256)) * (6 * 4096)  # 6 MiB
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="joined")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="joined",
        UploadId=upload_id,
        PartNumber=1,
        CopySource=f"{bucket}/source",
        CopySourceRange=f"bytes=0-{5 * MIB - 1}",
    )["CopyPartResult"]
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="joined",
        UploadId=upload_id,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange=f"bytes={5 * MIB}-{len(source) - 1}",
    )["CopyPartResult"]
    assert first["ETag"] == f'"{hashlib.md5(source[: 5 * MIB]).hexdigest()}"'
    with pytest.raises(ClientError) as caught:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="joined",
            UploadId=upload_id,
            PartNumber=3,
            CopySource=f"{bucket}/source",
            CopySourceRange=f"bytes=0-{len(source)}",
        )
    assert error_of(caught) == (400, "InvalidArgument")
    parts = [{"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 2, "ETag": second["ETag"]}]
    s3.complete_multipart_upload(Bucket=bucket, Key="joined", UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="joined")["Body"].read() == source


def test_list_uploads_by_prefix_and_delimiter(s3: Any, bucket: str) -> None:
    ids = {key: s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for key in ["a/1", "a/2", "b", "c/d/e"]}
    listed = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in listed["Uploads"]] == ["b"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["a/", "c/"]
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")["Uploads"]] == ["a/1", "a/2"]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert page["IsTruncated"] and (page["NextKeyMarker"], page["NextUploadIdMarker"]) == ("a/2", ids["a/2"])
    rest = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="a/2", UploadIdMarker=ids["a/2"])
    assert [u["Key"] for u in rest["Uploads"]] == ["b", "c/d/e"]
