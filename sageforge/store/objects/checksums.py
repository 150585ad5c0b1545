"""The digests an object store computes while bytes stream through: MD5 for ETags and the S3 checksum
algorithms (CRC32, CRC32C, SHA1, SHA256), all fed the same chunks in one pass."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from sageforge.store.objects.base import BadDigest, UnsupportedChecksum


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class Crc32:
    """zlib's CRC32 with hashlib's interface (S3 sends the 4 bytes big-endian, base64-encoded)."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


def _crc32c_factory() -> Callable[[], Digest] | None:
    # CRC32C needs a native library; botocore itself uses awscrt's, so clients that send CRC32C have it.
    # Without it the algorithm is refused rather than computed slowly in Python.
    try:
        from awscrt import checksums
    except ImportError:
        return None

    class Crc32c:
        def __init__(self) -> None:
            self._value = 0

        def update(self, data: bytes, /) -> None:
            self._value = checksums.crc32c(data, self._value)

        def digest(self) -> bytes:
            return int(self._value).to_bytes(4, "big")

    return Crc32c


ALGORITHMS: dict[str, Callable[[], Digest]] = {
    "MD5": hashlib.md5,
    "CRC32": Crc32,
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
}
_crc32c = _crc32c_factory()
if _crc32c is not None:
    ALGORITHMS["CRC32C"] = _crc32c


def encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def new(algorithm: str) -> Digest:
    factory = ALGORITHMS.get(algorithm.upper())
    if factory is None:
        raise UnsupportedChecksum(algorithm)
    return factory()


class Digester:
    """Several digests fed the same chunks in one pass; ``verify`` compares the values a client claimed."""

    def __init__(self, algorithms: Iterable[str], expected: Mapping[str, str] | None = None) -> None:
        self._expected = dict(expected or {})
        names = {name.upper() for name in (*algorithms, *self._expected)}
        self._digests = {name: new(name) for name in sorted(names)}

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self._digests)

    def update(self, chunk: bytes) -> None:
        for digest in self._digests.values():
            digest.update(chunk)

    def values(self) -> dict[str, bytes]:
        """Each algorithm's raw digest."""
        return {name: digest.digest() for name, digest in self._digests.items()}

    def verify(self) -> None:
        """Raise ``BadDigest`` for the first claimed value that differs from what was computed."""
        computed = {name: encode(value) for name, value in self.values().items()}
        for name, claimed in self._expected.items():
            if claimed != computed[name.upper()]:
                raise BadDigest(name.upper(), claimed, computed[name.upper()])
