"""How bytes travel: boto3's managed transfers, presigned URLs, aws-chunked bodies, clients that go away
mid-upload, and a restart of the server on the same data."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import socket
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from sageforge.testing.server import RunningServer

MIB = 1024 * 1024


def record(client: Any) -> list[tuple[str, dict[str, str]]]:
    """The operations ``client`` sends from now on, with their request headers."""
    calls: list[tuple[str, dict[str, str]]] = []

    def before_sign(operation_name: str, request: AWSRequest, **_: Any) -> None:
        calls.append((operation_name, {k.lower(): str(v) for k, v in request.headers.items()}))

    client.meta.events.register("before-sign.s3.*", before_sign)
    return calls


def sign(server: RunningServer, method: str, path: str, headers: dict[str, str], payload: str) -> dict[str, str]:
    """Headers of a SigV4-signed request whose x-amz-content-sha256 is ``payload``."""
    request = AWSRequest(method=method, url=server.url + path, headers={**headers, "X-Amz-Content-SHA256": payload})
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(request)
    return dict(request.headers)


def aws_chunked(data: bytes, trailer: tuple[str, str] | None = None, signed: bool = False) -> bytes:
    extension = ";chunk-signature=" + "0" * 64 if signed else ""
    pieces = [
        f"{len(data[i : i + 65536]):x}{extension}\r\n".encode() + data[i : i + 65536] + b"\r\n"
        for i in range(0, len(data), 65536)
    ]
    ending = f"0{extension}\r\n".encode() + (f"{trailer[0]}:{trailer[1]}\r\n".encode() if trailer else b"") + b"\r\n"
    return b"".join(pieces) + ending


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def temporary_files(server: RunningServer) -> list[Path]:
    return [path for path in (server.settings.data_dir / "objects" / "tmp").iterdir()]


def test_upload_and_download_20_mib(s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(20 * MIB))
    calls = record(s3)
    s3.upload_file(str(source), bucket, "big.bin")
    operations = [name for name, _ in calls]
    assert operations.count("UploadPart") == 3 and operations[-1] == "CompleteMultipartUpload"
    assert all("x-amz-checksum-crc32" in headers for name, headers in calls if name == "UploadPart")
    head = s3.head_object(Bucket=bucket, Key="big.bin", ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-3"') and head["ChecksumCRC32"].endswith("-3")
    calls.clear()
    target = tmp_path / "target.bin"
    s3.download_file(bucket, "big.bin", str(target))
    ranged = [headers for name, headers in calls if name == "GetObject"]
    assert len(ranged) == 3 and all("range" in h and h["if-match"] == head["ETag"] for h in ranged)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()


def test_managed_copy_of_20_mib_uses_part_copies(s3: Any, bucket: str) -> None:
    data = os.urandom(20 * MIB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "original", Config=TransferConfig(multipart_threshold=64 * MIB))
    calls = record(s3)
    s3.copy({"Bucket": bucket, "Key": "original"}, bucket, "copied")
    assert [name for name, _ in calls].count("UploadPartCopy") == 3
    assert s3.get_object(Bucket=bucket, Key="copied")["Body"].read() == data


def test_presigned_urls(server: RunningServer, bucket: str) -> None:
    signer = server.client("s3", config=Config(signature_version="s3v4"))
    put_url = signer.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre signed"}, ExpiresIn=60)
    assert requests.put(put_url, data=b"presigned body", timeout=5).status_code == 200
    get_url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre signed"}, ExpiresIn=60)
    response = requests.get(get_url, timeout=5)
    assert response.status_code == 200 and response.content == b"presigned body"
    tampered = requests.get(get_url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=5)
    assert tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in tampered.text
    head_url = signer.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "missing"})
    missing = requests.head(head_url, timeout=5)
    assert missing.status_code == 404 and missing.content == b""


def test_default_presigned_urls(s3: Any, bucket: str) -> None:
    """boto3 presigns S3 URLs with the legacy SigV2 query form unless told otherwise."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert "AWSAccessKeyId=" in url
    assert requests.get(url, timeout=5).content == b"x"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"})
    assert requests.put(put_url, data=b"uploaded", timeout=5).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded"
    tampered = url.replace("Signature=", "Signature=x")
    assert requests.get(tampered, timeout=5).status_code == 403
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=-10)
    assert requests.get(expired, timeout=5).status_code == 403


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned-trailer", "signed-chunks"])
def test_aws_chunked_uploads(server: RunningServer, s3: Any, bucket: str, signed: bool) -> None:
    data = os.urandom(300_000)
    trailer = None if signed else ("x-amz-checksum-crc32", crc32(data))
    body = aws_chunked(data, trailer, signed)
    headers = {
        "Content-Encoding": "aws-chunked",
        "Content-Length": str(len(body)),
        "x-amz-decoded-content-length": str(len(data)),
        "Content-Type": "application/octet-stream",
    }
    if trailer:
        headers.update({"x-amz-trailer": trailer[0], "x-amz-sdk-checksum-algorithm": "CRC32"})
    payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" if signed else "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    path = f"/{bucket}/chunked"
    response = requests.put(
        server.url + path, data=body, headers=sign(server, "PUT", path, headers, payload), timeout=5
    )
    assert response.status_code == 200, response.text
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ContentLength"] == len(data) and "ContentEncoding" not in got
    if trailer:
        assert got["ChecksumCRC32"] == crc32(data)


def test_a_bad_trailing_checksum_stores_nothing(server: RunningServer, s3: Any, bucket: str) -> None:
    data = b"trailing checksum" * 1000
    body = aws_chunked(data, ("x-amz-checksum-crc32", crc32(b"other")))
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm": "CRC32",
    }
    path = f"/{bucket}/bad"
    signed = sign(server, "PUT", path, headers, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    response = requests.put(server.url + path, data=body, headers=signed, timeout=5)
    assert response.status_code == 400 and "<Code>BadDigest</Code>" in response.text
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_a_body_that_differs_from_its_signed_sha256_stores_nothing(server: RunningServer, s3: Any, bucket: str) -> None:
    path = f"/{bucket}/tampered"
    headers = sign(server, "PUT", path, {}, hashlib.sha256(b"the signed body").hexdigest())
    response = requests.put(server.url + path, data=b"another body", headers=headers, timeout=5)
    assert response.status_code == 400 and "<Code>XAmzContentSHA256Mismatch</Code>" in response.text
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="tampered")
    assert temporary_files(server) == []


def test_a_client_that_disconnects_mid_upload_leaves_nothing(
    server: RunningServer, s3: Any, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sageforge.aws.gateway")
    path = f"/{bucket}/partial"
    headers = sign(server, "PUT", path, {"Content-Length": str(8 * MIB)}, "UNSIGNED-PAYLOAD")
    address = urlsplit(server.url)
    head = f"PUT {path} HTTP/1.1\r\nHost: {address.netloc}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((address.hostname, address.port)) as raw:
        raw.sendall(head.encode() + b"\r\n" + b"x" * (3 * MIB))
    deadline = time.monotonic() + 10
    while not any("client disconnected" in r.message for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any("client disconnected during s3 PutObject" in r.message for r in caplog.records)
    assert temporary_files(server) == []
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="partial")
    assert caught.value.response["Error"]["Code"] == "404"


def test_a_restart_keeps_buckets_and_objects(server_factory: Callable[..., RunningServer]) -> None:
    first = server_factory()
    s3 = first.client("s3")
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key="k", Body=b"durable", Metadata={"a": "b"})
    upload_id = s3.create_multipart_upload(Bucket="kept", Key="m")["UploadId"]
    s3.upload_part(Bucket="kept", Key="m", UploadId=upload_id, PartNumber=1, Body=b"part")
    first.stop()
    s3 = server_factory().client("s3")
    assert s3.head_bucket(Bucket="kept")["BucketRegion"] == "us-east-1"
    got = s3.get_object(Bucket="kept", Key="k")
    assert got["Body"].read() == b"durable" and got["Metadata"] == {"a": "b"}
    assert [p["PartNumber"] for p in s3.list_parts(Bucket="kept", Key="m", UploadId=upload_id)["Parts"]] == [1]
