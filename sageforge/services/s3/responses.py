"""How objects, parts, uploads and listings look in S3's output shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from sageforge.aws.context import RequestContext
from sageforge.services.s3.buckets import canonical_user_id
from sageforge.services.s3.listing import url_encoded
from sageforge.services.s3.objects import checksum_members, stored_members
from sageforge.store.objects.base import (
    ENCRYPTION_MEMBERS,
    STORED_MEMBERS,
    MultipartUpload,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
)

Output: TypeAlias = dict[str, Any]

# GetObject query parameters that override a response header.
_RESPONSE_OVERRIDES = {
    "ResponseCacheControl": "CacheControl",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseContentType": "ContentType",
    "ResponseExpires": "Expires",
}


def quoted(etag: str) -> str:
    return f'"{etag}"'


def owner(context: RequestContext) -> dict[str, str]:
    return {"ID": canonical_user_id(context.account_id), "DisplayName": "sageforge"}


def encryption(attributes: ObjectAttributes) -> Output:
    """The encryption members a write echoes."""
    return stored_members(attributes, ENCRYPTION_MEMBERS)


def object_headers(info: ObjectInfo, params: Mapping[str, Any]) -> Output:
    """The headers GetObject and HeadObject share, with any response-* overrides applied."""
    output: Output = {
        "ETag": quoted(info.etag),
        "LastModified": info.last_modified,
        "ContentLength": info.size,
        "ContentType": info.attributes.content_type or "binary/octet-stream",
        "AcceptRanges": "bytes",
        **stored_members(info.attributes, STORED_MEMBERS),
    }
    if info.attributes.metadata:
        output["Metadata"] = dict(info.attributes.metadata)
    for name, member in _RESPONSE_OVERRIDES.items():
        if params.get(name) is not None:
            output[member] = params[name]
    return output


def part_checksums(part: PartInfo) -> Output:
    return {f"Checksum{name}": value for name, value in part.checksums.items()}


def listing_output(
    bucket: str, objects: list[ObjectInfo], prefixes: list[str], params: Mapping[str, Any], by: dict[str, str] | None
) -> Output:
    """What ListObjects and ListObjectsV2 share; ``by`` is the owner to show on each object (None: none)."""
    encoding = params.get("EncodingType")
    contents = []
    for info in objects:
        entry: Output = {
            "Key": url_encoded(info.key, encoding),
            "LastModified": info.last_modified,
            "ETag": quoted(info.etag),
            "Size": info.size,
            "StorageClass": info.attributes.headers.get("StorageClass", "STANDARD"),
        }
        if info.checksums:
            entry["ChecksumAlgorithm"] = sorted(info.checksums)
            entry["ChecksumType"] = checksum_members(info.checksums)["ChecksumType"]
        if by is not None:
            entry["Owner"] = by
        contents.append(entry)
    output: Output = {
        "Name": bucket,
        "Prefix": url_encoded(params.get("Prefix", ""), encoding),
        "Contents": contents,
        "CommonPrefixes": [{"Prefix": url_encoded(prefix, encoding)} for prefix in prefixes],
    }
    if params.get("Delimiter"):
        output["Delimiter"] = url_encoded(params["Delimiter"], encoding)
    if encoding:
        output["EncodingType"] = encoding
    return output


def parts_listing(
    upload: MultipartUpload, parts: list[PartInfo], marker: int, max_parts: int, truncated: bool, by: dict[str, str]
) -> Output:
    output: Output = {
        "Bucket": upload.bucket,
        "Key": upload.key,
        "UploadId": upload.upload_id,
        "PartNumberMarker": marker,
        "MaxParts": max_parts,
        "IsTruncated": truncated,
        "Parts": [
            {
                "PartNumber": part.part_number,
                "LastModified": part.last_modified,
                "ETag": quoted(part.etag),
                "Size": part.size,
                **part_checksums(part),
            }
            for part in parts
        ],
        "Initiator": by,
        "Owner": by,
        "StorageClass": upload.attributes.headers.get("StorageClass", "STANDARD"),
    }
    if truncated:
        output["NextPartNumberMarker"] = parts[-1].part_number
    if upload.checksum_algorithm:
        output.update(ChecksumAlgorithm=upload.checksum_algorithm, ChecksumType=upload.checksum_type)
    return output


def uploads_listing(
    params: Mapping[str, Any],
    uploads: list[MultipartUpload],
    prefixes: list[str],
    max_uploads: int,
    truncated: bool,
    by: dict[str, str],
) -> Output:
    encoding = params.get("EncodingType")
    output: Output = {
        "Bucket": params["Bucket"],
        "KeyMarker": url_encoded(params.get("KeyMarker", ""), encoding),
        "UploadIdMarker": params.get("UploadIdMarker", ""),
        "Prefix": url_encoded(params.get("Prefix", ""), encoding),
        "MaxUploads": max_uploads,
        "IsTruncated": truncated,
        "Uploads": [
            {
                "UploadId": upload.upload_id,
                "Key": url_encoded(upload.key, encoding),
                "Initiated": upload.initiated,
                "StorageClass": upload.attributes.headers.get("StorageClass", "STANDARD"),
                "Owner": by,
                "Initiator": by,
                **({"ChecksumAlgorithm": upload.checksum_algorithm} if upload.checksum_algorithm else {}),
            }
            for upload in uploads
        ],
        "CommonPrefixes": [{"Prefix": url_encoded(prefix, encoding)} for prefix in prefixes],
    }
    if params.get("Delimiter"):
        output["Delimiter"] = url_encoded(params["Delimiter"], encoding)
    if encoding:
        output["EncodingType"] = encoding
    if truncated and uploads:
        output.update(NextKeyMarker=url_encoded(uploads[-1].key, encoding), NextUploadIdMarker=uploads[-1].upload_id)
    return output
