"""Batch strategies: an input object's stream of bytes cut into request bodies.

- MultiRecord packs as many whole records as fit in MaxPayloadInMB into each request: the stream is buffered
  and cut at the last record boundary within the limit (``Splitter.cut``), so no record is looked at on its
  own; a single record larger than the limit fails the object.
- SingleRecord sends each record alone.
- With SplitType None the object is one record, whatever the strategy: sent whole, or failed when it is larger
  than the limit.

With data processing the records are read one by one (``RecordProcessing``) and each payload carries the
records it holds, for joining the answers. Memory stays within about two payloads per object in any case; a
limit of ``None`` (MaxPayloadInMB 0) sends each object whole, as one request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sageforge.serving.batch.data_processing import RecordProcessing, SourceRecord
from sageforge.serving.batch.errors import RecordError
from sageforge.serving.batch.spec import MIB, BatchStrategy
from sageforge.serving.batch.splitters import Splitter, WholeObject


@dataclass(frozen=True)
class Payload:
    """One request body, and the records it holds when data processing needs them back."""

    body: bytes
    records: tuple[SourceRecord, ...] = ()


def payloads(
    chunks: Iterable[bytes],
    splitter: Splitter,
    strategy: BatchStrategy,
    limit: int | None,
    processing: RecordProcessing | None = None,
) -> Iterator[Payload]:
    """The requests for one object, in order; ``RecordError`` when its data cannot be sent as asked."""
    if processing is not None:
        return _processed(chunks, splitter, strategy, limit, processing)
    if strategy == "SingleRecord" or isinstance(splitter, WholeObject):
        return (Payload(record) for record in _records(chunks, splitter, limit))
    return (Payload(body) for body in _multi_record(chunks, splitter, limit))


def _multi_record(chunks: Iterable[bytes], splitter: Splitter, limit: int | None) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while limit is not None and len(buffer) > limit:
            cut = splitter.cut(buffer, limit)
            if not cut:
                raise RecordError(_too_large(splitter, limit))
            with memoryview(buffer) as view:
                payload = bytes(view[:cut])  # one copy, where bytes(buffer[:cut]) makes two
            del buffer[:cut]
            yield payload
    # What is left fits; it must be whole records, and holds more than blank lines to be worth a request.
    records, _ = splitter.records(buffer, final=True)
    if records:
        yield bytes(buffer)


def _records(chunks: Iterable[bytes], splitter: Splitter, limit: int | None) -> Iterator[bytes]:
    """Each record of the object, checked against the limit; never more than one unfinished record buffered."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        records, used = splitter.records(buffer, final=False)
        del buffer[:used]
        yield from _within(records, splitter, limit)
        if limit is not None and len(buffer) > limit:
            raise RecordError(_too_large(splitter, limit))
    records, _ = splitter.records(buffer, final=True)
    yield from _within(records, splitter, limit)


def _within(records: list[bytes], splitter: Splitter, limit: int | None) -> Iterator[bytes]:
    """``records``, or ``RecordError`` at the first one over the limit (the splitter words the error)."""
    for record in records:
        if limit is not None and len(record) > limit:
            raise RecordError(_too_large(splitter, limit))
        yield record


def _processed(
    chunks: Iterable[bytes],
    splitter: Splitter,
    strategy: BatchStrategy,
    limit: int | None,
    processing: RecordProcessing,
) -> Iterator[Payload]:
    bodies: list[bytes] = []
    sources: list[SourceRecord] = []
    size = 0
    for number, record in enumerate(_records(chunks, splitter, limit), start=1):
        source = processing.source(number, record)
        body = processing.request(source)
        if limit is not None and len(body) > limit:
            raise RecordError(_too_large(splitter, limit))
        if strategy == "SingleRecord":
            yield Payload(body, (source,))
            continue
        if limit is not None and size + len(body) > limit:
            yield Payload(b"".join(bodies), tuple(sources))
            bodies, sources, size = [], [], 0
        bodies.append(body)
        sources.append(source)
        size += len(body)
    if bodies:
        yield Payload(b"".join(bodies), tuple(sources))


def _too_large(splitter: Splitter, limit: int) -> str:
    size = f"the maximum payload size (MaxPayloadInMB: {limit // MIB})"
    if isinstance(splitter, WholeObject):
        return f"the object is larger than {size}; with SplitType None each object is sent whole in one request."
    return f"a record is larger than {size}; raise MaxPayloadInMB or split the input into smaller records."
