"""``aws-chunked`` request bodies: SigV4 streaming uploads, decoded as they stream.

The wire form is a series of ``<hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n`` chunks ending with a
zero-size chunk, optionally followed by trailing headers (``x-amz-checksum-crc32:<base64>``) and an empty
line. Clients mark it with ``Content-Encoding: aws-chunked`` and an ``x-amz-content-sha256`` of
``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` or ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``; the real length
is in ``x-amz-decoded-content-length``. The decoder checks that length and the trailing checksum when the
body ends, raising before a store could make the upload visible.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from sageforge.aws.context import BodyStream, Headers
from sageforge.aws.errors import AwsError

_READ_SIZE = 1024 * 1024
_MAX_LINE = 16 * 1024


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


class _Crc32c:
    def __init__(self) -> None:
        from awscrt import checksums  # botocore's own CRC32C; only clients that have it send CRC32C

        self._crc32c = checksums.crc32c
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = self._crc32c(data, self._value)

    def digest(self) -> bytes:
        return int(self._value).to_bytes(4, "big")


_TRAILER_CHECKSUMS: dict[str, Callable[[], _Digest]] = {
    "x-amz-checksum-crc32": _Crc32,
    "x-amz-checksum-crc32c": _Crc32c,
    "x-amz-checksum-sha1": hashlib.sha1,
    "x-amz-checksum-sha256": hashlib.sha256,
}


def is_aws_chunked(headers: Headers) -> bool:
    encodings = [part.strip().lower() for part in headers.get("content-encoding", "").split(",")]
    return "aws-chunked" in encodings or headers.get("x-amz-content-sha256", "").startswith("STREAMING-")


def decoded_headers(headers: Headers) -> Headers:
    """The headers as they describe the decoded body: its length, and its encodings without aws-chunked."""
    items: list[tuple[str, str]] = []
    for name, value in headers.raw():
        lowered = name.lower()
        if lowered == "content-length":
            value = headers.get("x-amz-decoded-content-length", value)
        elif lowered == "content-encoding":
            value = ",".join(part for part in value.split(",") if part.strip().lower() != "aws-chunked")
            if not value:
                continue
        items.append((name, value))
    return Headers(items)


class AwsChunkedBody:
    """The decoded payload of an aws-chunked body, read in pieces (chunk signatures are not verified)."""

    def __init__(self, inner: BodyStream, headers: Headers) -> None:
        self._inner = inner
        self._buffer = b""
        self._position = 0
        self._left_in_chunk = 0
        self._done = False
        self._decoded = 0
        declared = headers.get("x-amz-decoded-content-length")
        self._expected_length = int(declared) if declared and declared.isdigit() else None
        self._trailer = headers.get("x-amz-trailer", "").strip().lower() or None
        self._checksum: _Digest | None = None
        if self._trailer is not None:
            factory = _TRAILER_CHECKSUMS.get(self._trailer)
            if factory is None:
                raise AwsError(f"The trailing header {self._trailer} is not supported.", code="InvalidRequest")
            try:
                self._checksum = factory()
            except ImportError as error:
                raise AwsError(f"{self._trailer} is not supported.", code="InvalidRequest") from error

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            pieces = []
            while piece := self.read(_READ_SIZE):
                pieces.append(piece)
            return b"".join(pieces)
        while not self._done:
            if self._left_in_chunk == 0:
                self._start_chunk()
                continue
            if self._position == len(self._buffer) and not self._fill():
                raise _incomplete()
            end = self._position + min(size, self._left_in_chunk, len(self._buffer) - self._position)
            piece = self._buffer[self._position : end]
            self._position = end
            self._left_in_chunk -= len(piece)
            self._decoded += len(piece)
            if self._checksum is not None:
                self._checksum.update(piece)
            if self._left_in_chunk == 0 and self._line() != b"":
                raise _malformed("chunk data is not followed by CRLF")
            return piece
        return b""

    def _start_chunk(self) -> None:
        header = self._line()
        try:
            size = int(header.split(b";", 1)[0], 16)
        except ValueError as error:
            raise _malformed(f"bad chunk header {header[:40]!r}") from error
        if size:
            self._left_in_chunk = size
            return
        trailers = self._trailers()
        self._done = True
        if self._expected_length is not None and self._decoded != self._expected_length:
            raise _incomplete()
        if self._trailer is not None and self._checksum is not None:
            claimed = trailers.get(self._trailer)
            computed = base64.b64encode(self._checksum.digest()).decode()
            if claimed != computed:
                algorithm = self._trailer.removeprefix("x-amz-checksum-").upper()
                raise AwsError(
                    f"The {algorithm} you specified did not match the calculated checksum.", code="BadDigest"
                )

    def _trailers(self) -> dict[str, str]:
        trailers: dict[str, str] = {}
        while self._position < len(self._buffer) or self._fill():
            line = self._line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            trailers[name.strip().lower()] = value.strip()
        return trailers

    def _line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n", self._position)) < 0:
            if len(self._buffer) - self._position > _MAX_LINE:
                raise _malformed("chunk header too long")
            if not self._fill():
                raise _incomplete()
        line = self._buffer[self._position : end]
        self._position = end + 2
        return line

    def _fill(self) -> bool:
        more = self._inner.read(_READ_SIZE)
        if not more:
            return False
        self._buffer = self._buffer[self._position :] + more if self._position < len(self._buffer) else more
        self._position = 0
        return True


def _incomplete() -> AwsError:
    return AwsError(
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        code="IncompleteBody",
    )


def _malformed(detail: str) -> AwsError:
    return AwsError(f"The aws-chunked body is malformed: {detail}.", code="InvalidRequest")
