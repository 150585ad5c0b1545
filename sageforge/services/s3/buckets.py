"""Bucket rules: S3's naming rules, where a bucket may be created, and ownership."""

from __future__ import annotations

import hashlib
import re

from sageforge.aws.errors import AwsError
from sageforge.services.s3.errors import access_denied, s3_error, store_errors
from sageforge.store.objects import base as store
from sageforge.store.objects.base import Bucket, ObjectStore

DEFAULT_REGION = "us-east-1"

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# Location constraints older than region names.
_LEGACY_CONSTRAINTS = {"EU": "eu-west-1"}


def check_bucket_name(name: str) -> None:
    """S3's general-purpose bucket naming rules -> ``InvalidBucketName``."""
    if (
        not _NAME.fullmatch(name)
        or ".." in name
        or _IP_ADDRESS.fullmatch(name)
        or name.startswith(_RESERVED_PREFIXES)
        or name.endswith(_RESERVED_SUFFIXES)
    ):
        raise s3_error("InvalidBucketName", "The specified bucket is not valid.", BucketName=name)


def check_owner(expected: str | None, account_id: str) -> None:
    """``x-amz-expected-bucket-owner``: every bucket here belongs to the caller's account."""
    if expected is not None and expected != account_id:
        raise access_denied()


def canonical_user_id(account_id: str) -> str:
    """A stable 64-hex-digit canonical user ID for an account, the form S3 uses for owners."""
    return hashlib.sha256(f"sageforge:{account_id}".encode()).hexdigest()


class BucketManager:
    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

    def create(self, name: str, request_region: str, location_constraint: str | None) -> Bucket:
        """Create a bucket in ``location_constraint`` (us-east-1 when absent). As in S3, a regional endpoint
        only creates buckets in its own region; us-east-1's accepts any constraint."""
        check_bucket_name(name)
        region = _LEGACY_CONSTRAINTS.get(location_constraint or "", location_constraint) or DEFAULT_REGION
        if request_region != DEFAULT_REGION and region != request_region:
            described = (
                f"{location_constraint} location constraint"
                if location_constraint
                else "unspecified location constraint"
            )
            raise s3_error(
                "IllegalLocationConstraintException",
                f"The {described} is incompatible for the region specific endpoint this request was sent to.",
            )
        try:
            with store_errors():
                return self._objects.create_bucket(name, region)
        except store.BucketAlreadyExists as error:
            raise s3_error(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
                409,
                BucketName=name,
            ) from error

    def get(self, name: str) -> Bucket:
        with store_errors():
            return self._objects.get_bucket(name)

    def list(self, prefix: str = "", region: str | None = None) -> list[Bucket]:
        buckets = self._objects.list_buckets()
        return [b for b in buckets if b.name.startswith(prefix) and region in (None, b.region)]

    def delete(self, name: str) -> None:
        try:
            with store_errors():
                self._objects.delete_bucket(name)
        except store.BucketNotEmpty as error:
            raise bucket_not_empty(name) from error


def bucket_not_empty(name: str) -> AwsError:
    return s3_error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409, BucketName=name)
