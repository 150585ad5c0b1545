"""S3 operations: translate the wire shapes to the bucket, object and multipart managers and back.

LIMITATIONS (differences from AWS):
- Path-style addressing only (``http://host:port/bucket/key``); no virtual-hosted buckets, access points,
  S3 Express directory buckets, or SigV2 (``AWSAccessKeyId=``) presigned URLs -- presign with SigV4
  (``Config(signature_version="s3v4")``).
- One account owns every bucket: ``x-amz-expected-bucket-owner`` is compared with the caller's account;
  ACLs, bucket policies, grants, object ownership and Block Public Access are accepted and ignored.
- No versioning (``versionId`` is refused), object lock, tagging, lifecycle, replication, website, CORS,
  notifications, Select, GetObjectAttributes or bucket configuration APIs (they answer NotImplemented).
- Objects are stored unencrypted: SSE-S3, SSE-KMS and SSE-C headers are stored and echoed only, and an SSE-C
  key is not required to read the object back.
- Checksums: CRC32, SHA1 and SHA256 (CRC32C when awscrt is installed); CRC64NVME and the newer algorithms are
  refused. A multipart object's checksum is COMPOSITE unless the upload asked for FULL_OBJECT. Objects
  written without a checksum have none (AWS adds CRC64NVME). Checksums of XML request bodies (DeleteObjects,
  CompleteMultipartUpload) are not verified (their x-amz-content-sha256 is), nor are aws-chunked chunk
  signatures.
- ``PartNumber`` on GetObject/HeadObject is not supported. ListObjectVersions is not implemented.
- Conditional writes (If-Match / If-None-Match on PutObject, CopyObject and CompleteMultipartUpload) are
  checked just before the write, so two racing conditional writers may both succeed.
- Listings order keys by UTF-8 bytes like S3; StorageClass is reported as given (STANDARD by default).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeAlias
from urllib.parse import quote

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.services.s3.buckets import DEFAULT_REGION, BucketManager, check_owner
from sageforge.services.s3.conditions import Conditions, byte_range
from sageforge.services.s3.errors import invalid_argument, s3_error
from sageforge.services.s3.listing import decode_token, encode_token, list_keys, list_uploads, url_encoded
from sageforge.services.s3.multipart import MultipartManager, completed_parts
from sageforge.services.s3.objects import (
    COPY_CHANGES,
    ObjectManager,
    checksum_members,
    claimed_checksums,
    copy_source,
    digest_check,
    object_attributes,
)
from sageforge.services.s3.responses import (
    Output,
    encryption,
    listing_output,
    object_headers,
    owner,
    part_checksums,
    parts_listing,
    quoted,
    uploads_listing,
)
from sageforge.store.objects.base import ObjectStore

Method: TypeAlias = Callable[[Any, RequestContext, dict[str, Any]], Output]


def s3_operation(name: str) -> Callable[[Method], Method]:
    """``@operation`` plus what every S3 operation checks first: the expected bucket owners."""

    def mark(method: Method) -> Method:
        @functools.wraps(method)
        def handle(self: Any, context: RequestContext, params: dict[str, Any]) -> Output:
            check_owner(params.get("ExpectedBucketOwner"), context.account_id)
            check_owner(params.get("ExpectedSourceBucketOwner"), context.account_id)
            return method(self, context, params)

        return operation(name)(handle)

    return mark


class S3Handlers:
    def __init__(self, objects: ObjectStore) -> None:
        self._store = objects
        self._buckets = BucketManager(objects)
        self._objects = ObjectManager(objects)
        self._multipart = MultipartManager(objects)

    # -- buckets ----------------------------------------------------------------------------------------

    @s3_operation("CreateBucket")
    def create_bucket(self, context: RequestContext, params: dict[str, Any]) -> Output:
        constraint = (params.get("CreateBucketConfiguration") or {}).get("LocationConstraint")
        bucket = self._buckets.create(params["Bucket"], context.region, constraint)
        return {"Location": f"/{bucket.name}"}

    @s3_operation("HeadBucket")
    def head_bucket(self, context: RequestContext, params: dict[str, Any]) -> Output:
        return {"BucketRegion": self._buckets.get(params["Bucket"]).region, "AccessPointAlias": False}

    @s3_operation("ListBuckets")
    def list_buckets(self, context: RequestContext, params: dict[str, Any]) -> Output:
        prefix = params.get("Prefix", "")
        after = decode_token(params["ContinuationToken"]) if params.get("ContinuationToken") else ""
        limit = params.get("MaxBuckets", 10_000)
        buckets = [b for b in self._buckets.list(prefix, params.get("BucketRegion")) if b.name > after]
        output: Output = {
            "Buckets": [{"Name": b.name, "CreationDate": b.created, "BucketRegion": b.region} for b in buckets[:limit]],
            "Owner": owner(context),
        }
        if len(buckets) > limit:
            output["ContinuationToken"] = encode_token(buckets[limit - 1].name)
        if prefix:
            output["Prefix"] = prefix
        return output

    @s3_operation("DeleteBucket")
    def delete_bucket(self, context: RequestContext, params: dict[str, Any]) -> Output:
        self._buckets.delete(params["Bucket"])
        return {}

    @s3_operation("GetBucketLocation")
    def get_bucket_location(self, context: RequestContext, params: dict[str, Any]) -> Output:
        region = self._buckets.get(params["Bucket"]).region
        return {"LocationConstraint": None if region == DEFAULT_REGION else region}

    # -- objects ----------------------------------------------------------------------------------------

    @s3_operation("PutObject")
    def put_object(self, context: RequestContext, params: dict[str, Any]) -> Output:
        conditions = Conditions(params.get("IfMatch"), params.get("IfNoneMatch"))
        info = self._objects.put(
            params["Bucket"], params["Key"], params["Body"], object_attributes(params), digest_check(params), conditions
        )
        return {"ETag": quoted(info.etag), **checksum_members(info.checksums), **encryption(info.attributes)}

    @s3_operation("GetObject")
    def get_object(self, context: RequestContext, params: dict[str, Any]) -> Output:
        _refuse_part_number(params)
        read = self._objects.open(params["Bucket"], params["Key"], Conditions.of(params), params.get("Range"))
        info = read.reader.info
        output = object_headers(info, params)
        if read.span is None:
            output["Body"] = read.reader.chunks()
            if params.get("ChecksumMode") == "ENABLED":
                output.update(checksum_members(info.checksums))
        else:
            first, last = read.span
            output.update(ContentLength=last - first + 1, ContentRange=f"bytes {first}-{last}/{info.size}")
            output["Body"] = read.reader.chunks(first, last)
        return output

    @s3_operation("HeadObject")
    def head_object(self, context: RequestContext, params: dict[str, Any]) -> Output:
        _refuse_part_number(params)
        info = self._objects.head(params["Bucket"], params["Key"], Conditions.of(params))
        output = object_headers(info, params)
        span = byte_range(params.get("Range"), info.size)
        if span is not None:
            output.update(ContentLength=span[1] - span[0] + 1, ContentRange=f"bytes {span[0]}-{span[1]}/{info.size}")
        elif params.get("ChecksumMode") == "ENABLED":
            output.update(checksum_members(info.checksums))
        return output

    @s3_operation("DeleteObject")
    def delete_object(self, context: RequestContext, params: dict[str, Any]) -> Output:
        self._objects.delete(params["Bucket"], params["Key"])
        return {}

    @s3_operation("DeleteObjects")
    def delete_objects(self, context: RequestContext, params: dict[str, Any]) -> Output:
        request = params["Delete"]
        keys = [entry["Key"] for entry in request.get("Objects", [])]
        results = self._objects.delete_many(params["Bucket"], keys)
        output: Output = {}
        if not request.get("Quiet"):
            output["Deleted"] = [{"Key": key} for key, error in results if error is None]
        errors = [{"Key": key, "Code": e.code, "Message": e.message} for key, e in results if e is not None]
        if errors:
            output["Errors"] = errors
        return output

    @s3_operation("CopyObject")
    def copy_object(self, context: RequestContext, params: dict[str, Any]) -> Output:
        attributes = object_attributes(params)
        replace = attributes if params.get("MetadataDirective") == "REPLACE" else None
        changes = {name: value for name, value in attributes.headers.items() if name in COPY_CHANGES}
        conditions = (Conditions.of(params, "CopySource"), Conditions(params.get("IfMatch"), params.get("IfNoneMatch")))
        info = self._objects.copy(
            copy_source(params["CopySource"]), params["Bucket"], params["Key"], replace, changes, conditions
        )
        result = {"ETag": quoted(info.etag), "LastModified": info.last_modified, **checksum_members(info.checksums)}
        return {"CopyObjectResult": result, **encryption(info.attributes)}

    # -- listing ----------------------------------------------------------------------------------------

    @s3_operation("ListObjects")
    def list_objects(self, context: RequestContext, params: dict[str, Any]) -> Output:
        encoding = params.get("EncodingType")
        prefix, delimiter, marker = params.get("Prefix", ""), params.get("Delimiter", ""), params.get("Marker", "")
        max_keys = _max_keys(params)
        page = list_keys(self._store, params["Bucket"], prefix, delimiter, marker, max_keys)
        output = listing_output(params["Bucket"], page.objects, page.prefixes, params, by=owner(context))
        output.update(Marker=url_encoded(marker, encoding), MaxKeys=max_keys, IsTruncated=page.truncated)
        if page.truncated and delimiter:
            output["NextMarker"] = url_encoded(page.last, encoding)
        return output

    @s3_operation("ListObjectsV2")
    def list_objects_v2(self, context: RequestContext, params: dict[str, Any]) -> Output:
        token, start_after = params.get("ContinuationToken"), params.get("StartAfter", "")
        after = decode_token(token) if token else start_after
        max_keys = _max_keys(params)
        page = list_keys(
            self._store, params["Bucket"], params.get("Prefix", ""), params.get("Delimiter", ""), after, max_keys
        )
        by = owner(context) if params.get("FetchOwner") else None
        output = listing_output(params["Bucket"], page.objects, page.prefixes, params, by=by)
        output.update(MaxKeys=max_keys, KeyCount=len(page.objects) + len(page.prefixes), IsTruncated=page.truncated)
        if token:
            output["ContinuationToken"] = token
        if start_after:
            output["StartAfter"] = url_encoded(start_after, params.get("EncodingType"))
        if page.truncated and page.last is not None:
            output["NextContinuationToken"] = encode_token(page.last)
        return output

    # -- multipart uploads ------------------------------------------------------------------------------

    @s3_operation("CreateMultipartUpload")
    def create_multipart_upload(self, context: RequestContext, params: dict[str, Any]) -> Output:
        algorithm = params.get("ChecksumAlgorithm")
        upload = self._multipart.create(
            params["Bucket"], params["Key"], object_attributes(params), algorithm, params.get("ChecksumType")
        )
        output: Output = {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id}
        if upload.checksum_algorithm:
            output.update(ChecksumAlgorithm=upload.checksum_algorithm, ChecksumType=upload.checksum_type)
        return {**output, **encryption(upload.attributes)}

    @s3_operation("UploadPart")
    def upload_part(self, context: RequestContext, params: dict[str, Any]) -> Output:
        part = self._multipart.upload(
            params["Bucket"],
            params["Key"],
            params["UploadId"],
            params["PartNumber"],
            params["Body"],
            digest_check(params),
        )
        return {"ETag": quoted(part.etag), **part_checksums(part)}

    @s3_operation("UploadPartCopy")
    def upload_part_copy(self, context: RequestContext, params: dict[str, Any]) -> Output:
        part = self._multipart.upload_copy(
            params["Bucket"],
            params["Key"],
            params["UploadId"],
            params["PartNumber"],
            copy_source(params["CopySource"]),
            params.get("CopySourceRange"),
            Conditions.of(params, "CopySource"),
        )
        result = {"ETag": quoted(part.etag), "LastModified": part.last_modified}
        return {"CopyPartResult": {**result, **part_checksums(part)}}

    @s3_operation("CompleteMultipartUpload")
    def complete_multipart_upload(self, context: RequestContext, params: dict[str, Any]) -> Output:
        bucket, key = params["Bucket"], params["Key"]
        info = self._multipart.complete(
            bucket,
            key,
            params["UploadId"],
            completed_parts(params.get("MultipartUpload")),
            claimed_checksums(params),
            Conditions(params.get("IfMatch"), params.get("IfNoneMatch")),
        )
        host = context.request.headers.get("host", "localhost")
        location = f"{context.request.scheme}://{host}/{bucket}/{quote(key)}"
        output = {"Location": location, "Bucket": bucket, "Key": key, "ETag": quoted(info.etag)}
        return {**output, **checksum_members(info.checksums), **encryption(info.attributes)}

    @s3_operation("AbortMultipartUpload")
    def abort_multipart_upload(self, context: RequestContext, params: dict[str, Any]) -> Output:
        self._multipart.abort(params["Bucket"], params["Key"], params["UploadId"])
        return {}

    @s3_operation("ListParts")
    def list_parts(self, context: RequestContext, params: dict[str, Any]) -> Output:
        marker, max_parts = params.get("PartNumberMarker", 0), min(params.get("MaxParts", 1000), 1000)
        upload, parts, truncated = self._multipart.parts(
            params["Bucket"], params["Key"], params["UploadId"], marker, max_parts
        )
        return parts_listing(upload, parts, marker, max_parts, truncated, owner(context))

    @s3_operation("ListMultipartUploads")
    def list_multipart_uploads(self, context: RequestContext, params: dict[str, Any]) -> Output:
        prefix, delimiter = params.get("Prefix", ""), params.get("Delimiter", "")
        key_marker, upload_marker = params.get("KeyMarker", ""), params.get("UploadIdMarker", "")
        max_uploads = min(params.get("MaxUploads", 1000), 1000)
        uploads, prefixes, truncated = list_uploads(
            self._store, params["Bucket"], prefix, delimiter, key_marker, upload_marker, max_uploads
        )
        return uploads_listing(params, uploads, prefixes, max_uploads, truncated, owner(context))


def _max_keys(params: dict[str, Any]) -> int:
    max_keys = params.get("MaxKeys", 1000)
    if max_keys < 0:
        raise invalid_argument("Argument maxKeys must be an integer between 0 and 2147483647", "maxKeys", str(max_keys))
    return int(min(max_keys, 1000))


def _refuse_part_number(params: dict[str, Any]) -> None:
    if params.get("PartNumber") is not None:
        raise s3_error("NotImplemented", "sageforge does not support reading an object by part number.", 501)
