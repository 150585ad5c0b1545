"""The on-disk half of the filesystem object store: immutable data files under ``<root>/data``, and
readers over them.

A file is written once -- streamed into ``<root>/tmp`` while its digests are computed, verified, fsynced and
renamed into place -- and never modified afterwards, only unlinked. A reader that opened a file therefore
keeps one consistent version even when the key is overwritten meanwhile. Temporary files left by a process
that died mid-write are removed when the store opens.
"""

from __future__ import annotations

import errno
import itertools
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from sageforge.store.objects.base import ObjectInfo, read_range
from sageforge.store.objects.checksums import Digester

# Big enough that per-chunk overhead (hashing calls, thread hops, syscalls) vanishes next to the copying.
CHUNK_SIZE = 1024 * 1024

# Chunks handed to the writer thread and not yet written: bounds the memory one upload holds.
_IN_FLIGHT = 8

# copy_file_range fails with these where the kernel or filesystem cannot copy between the two files.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}


@dataclass(frozen=True)
class Blob:
    """A data file now in place: its name, size and the digests computed while it was written."""

    name: str
    size: int
    digests: dict[str, bytes]


class BlobFiles:
    def __init__(self, root: Path) -> None:
        self._data = root / "data"
        self._tmp = root / "tmp"
        self._data.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        for leftover in self._tmp.iterdir():
            leftover.unlink(missing_ok=True)

    def path(self, name: str) -> Path:
        # Two-character shards keep directories small with millions of objects.
        return self._data / name[:2] / name

    def write(self, read: Callable[[], bytes], digester: Digester) -> Blob:
        """Write the chunks ``read`` returns until ``b""``; the digests are verified before the file appears.
        On any exception (a bad digest, an error raised by ``read``) nothing is left behind."""
        return self._write(lambda out: _pump(read, digester, out), digester)

    def concatenate(self, names: Sequence[str], digester: Digester) -> Blob:
        """Join data files into a new one; with no digests to compute the kernel copies the bytes."""
        return self._write(lambda out: _join([self.path(name) for name in names], digester, out), digester)

    def open(self, name: str) -> BinaryIO:
        """Open a data file for reading; ``FileNotFoundError`` if it was removed (its key was overwritten)."""
        return open(self.path(name), "rb", buffering=0)

    def discard(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def _write(self, fill: Callable[[BinaryIO], int], digester: Digester) -> Blob:
        name = uuid.uuid4().hex
        temporary = self._tmp / name
        try:
            with open(temporary, "xb") as out:
                size = fill(out)
                digester.verify()
                out.flush()
                os.fsync(out.fileno())
            target = self.path(name)
            target.parent.mkdir(exist_ok=True)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return Blob(name, size, digester.values())


class FileObjectReader:
    """One version of an object, held open (see ``ObjectReader``)."""

    def __init__(self, info: ObjectInfo, file: BinaryIO) -> None:
        self._info = info
        self._file = file

    @property
    def info(self) -> ObjectInfo:
        return self._info

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return read_range(self, start, end, lambda first, stop: _read_range(self._file, first, stop))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FileObjectReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _read_range(file: BinaryIO, start: int, stop: int) -> Iterator[bytes]:
    """Yield the bytes ``[start, stop)`` of an open file in chunks."""
    file.seek(start)
    remaining = stop - start
    while remaining > 0:
        chunk = file.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


def _pump(read: Callable[[], bytes], digester: Digester, out: BinaryIO) -> int:
    """Copy chunks from ``read`` to ``out`` through ``digester``. Past the first chunk a worker thread hashes
    and writes while this one reads the next chunk (hashlib, zlib and file writes release the GIL), so the
    network, the digests and the disk overlap instead of taking turns."""
    first = read()
    second = read() if first else b""
    if not second:
        digester.update(first)
        out.write(first)
        return len(first)
    size = 0
    pending: deque[Future[None]] = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="blob-writer") as worker:
        for chunk in itertools.chain((first, second), iter(read, b"")):
            size += len(chunk)
            pending.append(worker.submit(_digest_and_write, digester, out, chunk))
            while pending and (len(pending) > _IN_FLIGHT or pending[0].done()):
                pending.popleft().result()
        for future in pending:
            future.result()
    return size


def _digest_and_write(digester: Digester, out: BinaryIO, chunk: bytes) -> None:
    digester.update(chunk)
    out.write(chunk)


def _join(paths: Sequence[Path], digester: Digester, out: BinaryIO) -> int:
    size = 0
    for path in paths:
        with open(path, "rb", buffering=0) as source:
            if digester.algorithms:
                size += _pump(lambda: source.read(CHUNK_SIZE), digester, out)
            else:
                size += _kernel_copy(source, out)
    return size


def _kernel_copy(source: BinaryIO, out: BinaryIO) -> int:
    out.flush()
    copied = 0
    try:
        while count := os.copy_file_range(source.fileno(), out.fileno(), 64 * CHUNK_SIZE):
            copied += count
    except OSError as error:
        if error.errno not in _NO_KERNEL_COPY:
            raise
        source.seek(copied)
        out.seek(0, os.SEEK_END)
        while chunk := source.read(CHUNK_SIZE):
            out.write(chunk)
            copied += len(chunk)
    return copied
