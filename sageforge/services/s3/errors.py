"""S3's errors, with the codes, statuses, wording and extra fields SDKs read, and the translation of the
object store's own exceptions into them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sageforge.aws.errors import AwsError
from sageforge.store.objects import base as store


def s3_error(code: str, message: str, status: int = 400, **fields: str) -> AwsError:
    return AwsError(message, code=code, status=status, fields=fields)


def no_such_bucket(name: str) -> AwsError:
    return s3_error("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=name)


def no_such_key(key: str) -> AwsError:
    return s3_error("NoSuchKey", "The specified key does not exist.", 404, Key=key)


def no_such_upload(upload_id: str) -> AwsError:
    return s3_error(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted "
        "or completed.",
        404,
        UploadId=upload_id,
    )


def access_denied() -> AwsError:
    return s3_error("AccessDenied", "Access Denied", 403)


def invalid_argument(message: str, name: str, value: str) -> AwsError:
    return s3_error("InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def invalid_request(message: str) -> AwsError:
    return s3_error("InvalidRequest", message)


def malformed_xml() -> AwsError:
    return s3_error(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )


def bad_digest(algorithm: str) -> AwsError:
    if algorithm == "MD5":
        return s3_error("BadDigest", "The Content-MD5 you specified did not match what we received.")
    return s3_error("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")


@contextlib.contextmanager
def store_errors(upload_id: str = "") -> Iterator[None]:
    """Raise the object store's exceptions as the S3 errors clients expect."""
    try:
        yield
    except store.NoSuchBucket as error:
        raise no_such_bucket(str(error)) from error
    except store.NoSuchKey as error:
        raise no_such_key(str(error)) from error
    except store.NoSuchUpload as error:
        raise no_such_upload(upload_id or str(error)) from error
    except store.BadDigest as error:
        raise bad_digest(error.algorithm) from error
    except store.UnsupportedChecksum as error:
        raise invalid_request(f"Checksum algorithm {error.algorithm} is not supported by this server.") from error
    except store.InvalidPart as error:
        raise s3_error(
            "InvalidPart",
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the "
            "specified entity tag may not match the part's entity tag.",
            UploadId=upload_id,
            PartNumber=str(error),
        ) from error
    except store.InvalidPartOrder as error:
        raise s3_error(
            "InvalidPartOrder",
            "The list of parts was not in ascending order. Parts must be ordered by part number.",
            UploadId=upload_id,
        ) from error
    except store.EntityTooSmall as error:
        raise s3_error(
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed object size.",
            MinSizeAllowed=str(store.MIN_PART_SIZE),
            PartNumber=str(error),
        ) from error
    except store.InvalidRange as error:
        raise s3_error("InvalidRange", "The requested range is not satisfiable", 416) from error
