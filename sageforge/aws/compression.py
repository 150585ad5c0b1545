"""Request bodies the client compressed: botocore gzips the bodies of operations whose model declares
``requestcompression`` (CloudWatch's PutMetricData) once they pass 10 KiB, and says so in
``Content-Encoding``. The signature covers the compressed bytes, so bodies are decompressed after
authentication; and only for services with such operations, since elsewhere (S3) ``Content-Encoding``
describes the stored object, not the request.
"""

from __future__ import annotations

import zlib
from functools import cache

from botocore.model import ServiceModel

from sageforge.aws.context import AwsRequest
from sageforge.aws.errors import AwsError, SerializationException

# Far above any valid request (PutMetricData allows 1 MB); bounds what a small compressed body can expand to.
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024


def decompressed(request: AwsRequest, body: bytes, service: ServiceModel) -> bytes:
    """``body`` as the client serialized it, before any compression it declares."""
    encodings = [part.strip().lower() for part in request.headers.get("content-encoding", "").split(",")]
    if "gzip" not in encodings or not _compresses_requests(service):
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise SerializationException(f"The request body is not valid gzip: {exc}") from exc
    if len(data) > MAX_DECOMPRESSED_BYTES or inflater.unconsumed_tail:
        raise AwsError(
            f"The decompressed request body exceeds {MAX_DECOMPRESSED_BYTES} bytes.",
            code="RequestEntityTooLarge",
            status=413,
        )
    if not inflater.eof:
        raise SerializationException("The request body is truncated gzip.")
    return data


@cache
def _compresses_requests(service: ServiceModel) -> bool:
    return any(service.operation_model(name).request_compression for name in service.operation_names)
