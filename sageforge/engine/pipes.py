"""Pipe input mode: a channel streamed from the object store into named pipes, one per epoch, never staged.

For each Pipe channel of an instance the engine makes the FIFO ``input/data/<channel>_0`` before the instance
starts. A writer thread waits for the instance to open it, streams the channel's share of objects into it (in
File mode's order and sharding, gunzipped for ``CompressionType: Gzip``, each object framed as one MXNet RecordIO
record for ``RecordWrapperType: RecordIO``), makes ``<channel>_1`` and closes ``<channel>_0``: the reader sees
the end of the epoch and finds the next one's FIFO already there. The finished FIFO is then removed, and so on,
epoch after epoch, as SageMaker's agent does; the reader decides how many epochs it reads. A reader that closes a
FIFO early ends that epoch. Everything stops, and the FIFOs are removed, when ``close`` is called (the instance
exited or the job is stopping).
"""

from __future__ import annotations

import errno
import os
import select
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from sageforge.engine.channels import StagedObject
from sageforge.engine.transfer import gunzip_chunks
from sageforge.engine.workload import ChannelSpec
from sageforge.store.objects.base import NoSuchBucket, NoSuchKey, ObjectStore

# How often a waiting writer looks at its stop event: the bound on how late a stop is noticed.
_POLL_SECONDS = 0.05
# MXNet RecordIO: magic, then a length word whose top 3 bits (the continuation flag) are 0 for a whole record.
_RECORDIO_MAGIC = 0xCED7230A
_RECORDIO_MAX_LENGTH = (1 << 29) - 1

PipeFailure = Callable[[str], None]


class _Stopped(Exception):
    """The pipes were closed while a writer was waiting or writing."""


class ChannelPipes:
    """The Pipe-mode channels of one instance: a FIFO per epoch under ``data_dir``, fed by a thread each."""

    def __init__(
        self,
        objects: ObjectStore,
        data_dir: Path,
        streams: Sequence[tuple[ChannelSpec, Sequence[StagedObject]]],
        on_failure: PipeFailure,
    ) -> None:
        self._objects = objects
        self._data_dir = data_dir
        self._streams = streams
        self._on_failure = on_failure
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, thread_name: str) -> None:
        """Make every channel's epoch-0 FIFO (before the instance starts, so it finds them) and start feeding."""
        for channel, _ in self._streams:
            os.mkfifo(self.fifo(channel.name, 0))
        for channel, share in self._streams:
            thread = threading.Thread(
                target=self._feed, args=(channel, share), name=f"{thread_name}-{channel.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        """Stop streaming, wait for the writers and remove the FIFOs; safe to call more than once."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        for channel, _ in self._streams:
            for fifo in self._data_dir.glob(f"{channel.name}_*"):
                if fifo.is_fifo():
                    fifo.unlink(missing_ok=True)

    def fifo(self, channel: str, epoch: int) -> Path:
        return self._data_dir / f"{channel}_{epoch}"

    def _feed(self, channel: ChannelSpec, share: Sequence[StagedObject]) -> None:
        epoch = 0
        try:
            while True:
                fifo = self.fifo(channel.name, epoch)
                self._write_epoch(fifo, self.fifo(channel.name, epoch + 1), channel, share)
                fifo.unlink(missing_ok=True)
                epoch += 1
        except _Stopped:
            return

    def _write_epoch(self, fifo: Path, following: Path, channel: ChannelSpec, share: Sequence[StagedObject]) -> None:
        descriptor = self._open_for_writing(fifo)
        try:
            self._stream(descriptor, channel, share)
            # Made before this epoch ends, so that a reader going straight on to the next epoch finds its FIFO.
            os.mkfifo(following)
        except _StreamError as error:
            # Reported before the FIFO closes, so that the reader cannot finish on a truncated stream first.
            self._on_failure(str(error))
            raise _Stopped from None
        finally:
            os.close(descriptor)

    def _stream(self, descriptor: int, channel: ChannelSpec, share: Sequence[StagedObject]) -> None:
        try:
            for staged in share:
                for chunk in _object_bytes(self._objects, staged, wrap=channel.record_wrapper == "RecordIO"):
                    self._write_all(descriptor, chunk)
        except BrokenPipeError:
            pass  # the reader closed its end: this epoch is over for it

    def _open_for_writing(self, fifo: Path) -> int:
        # Opening a FIFO for writing without O_NONBLOCK blocks until a reader opens it, which a stop could not
        # interrupt; with it, the open fails (ENXIO) until then, and is retried.
        while True:
            try:
                return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
            if self._stop.wait(_POLL_SECONDS):
                raise _Stopped

    def _write_all(self, descriptor: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._stop.is_set():
                raise _Stopped
            # A full pipe (a slow reader) is waited on in short steps so that a stop is still noticed.
            _, writable, _ = select.select([], [descriptor], [], _POLL_SECONDS)
            if not writable:
                continue
            try:
                written = os.write(descriptor, view)
            except BlockingIOError:
                continue
            view = view[written:]


class _StreamError(Exception):
    """An object could not be streamed; the message is the job's FailureReason."""


def _object_bytes(objects: ObjectStore, staged: StagedObject, *, wrap: bool) -> Iterator[bytes]:
    try:
        chunks: Iterable[bytes] = objects.read_object(staged.bucket, staged.key)
        if staged.gunzip:
            chunks = gunzip_chunks(chunks)
        if wrap:
            # The record's length comes first, so a wrapped object is read whole (such objects are single
            # images or documents, small next to memory) [INF].
            yield _recordio_record(b"".join(chunks), staged)
        else:
            yield from chunks
    except zlib.error as error:
        raise _StreamError(f'ClientError: Unable to decompress "{staged.uri}" as gzip: {error}') from error
    except (NoSuchKey, NoSuchBucket) as error:
        raise _StreamError(f'ClientError: S3 object "{staged.uri}" no longer exists.') from error


def _recordio_record(payload: bytes, staged: StagedObject) -> bytes:
    if len(payload) > _RECORDIO_MAX_LENGTH:
        raise _StreamError(f'ClientError: S3 object "{staged.uri}" is too large to wrap as one RecordIO record.')
    padding = -len(payload) % 4
    return struct.pack("<II", _RECORDIO_MAGIC, len(payload)) + payload + b"\x00" * padding
