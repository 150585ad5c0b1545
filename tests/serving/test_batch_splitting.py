"""Batch transform's splitters (the contract every SplitType passes) and batch strategies, without a server."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Iterator

import pytest

from sageforge.algorithms.formats.recordio import frame
from sageforge.serving.batch.errors import RecordError
from sageforge.serving.batch.payloads import payloads
from sageforge.serving.batch.spec import BatchStrategy, SplitType
from sageforge.serving.batch.splitters import SPLITTERS

# Payloads of assorted sizes (RecordIO pads some of them), one of them empty.
PAYLOADS = [b"r" * size for size in (1, 2, 3, 4, 5, 17, 0, 64, 9)]


def tfrecord(payload: bytes) -> bytes:
    return struct.pack("<QI", len(payload), 0) + payload + b"\0\0\0\0"


def line(payload: bytes) -> bytes:
    return b"line:" + payload + b"\n"


FRAMINGS: dict[SplitType, Callable[[bytes], bytes]] = {"Line": line, "RecordIO": frame, "TFRecord": tfrecord}


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    return (data[start : start + size] for start in range(0, len(data), size))


@pytest.mark.parametrize("split_type", FRAMINGS)
def test_a_splitter_finds_every_record_and_cuts_only_between_them(split_type: SplitType) -> None:
    splitter, framed = SPLITTERS[split_type], [FRAMINGS[split_type](p) for p in PAYLOADS]
    data = b"".join(framed)
    assert splitter.records(data, final=True) == (framed, len(data))
    # Unfinished data: only the whole records at its start.
    assert splitter.records(data[:-1], final=False) == (framed[:-1], len(data) - len(framed[-1]))
    ends = list(itertools.accumulate(len(record) for record in framed))
    for limit in range(len(data) + 1):
        fitting = [end for end in ends if end <= limit]
        assert splitter.cut(bytearray(data), limit) == (fitting[-1] if fitting else 0)


@pytest.mark.parametrize("split_type", ["RecordIO", "TFRecord"])
def test_binary_framings_refuse_an_object_that_ends_inside_a_record(split_type: SplitType) -> None:
    data = b"".join(FRAMINGS[split_type](p) for p in PAYLOADS)
    with pytest.raises(RecordError, match="incomplete record"):
        SPLITTERS[split_type].records(data[:-2], final=True)


def test_recordio_with_a_bad_magic_is_not_recordio() -> None:
    with pytest.raises(RecordError, match="not RecordIO"):
        SPLITTERS["RecordIO"].records(frame(b"abc") + b"\0" * 12, final=True)


def test_lines_skip_blank_ones_and_keep_a_last_line_without_newline() -> None:
    assert SPLITTERS["Line"].records(b"a\n\nb\r\n\r\nc", final=True) == ([b"a\n", b"b\r\n", b"c"], 9)


@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_multi_record_packs_whole_lines_up_to_the_limit_whatever_the_chunking(chunk_size: int) -> None:
    data = b"".join(b"%d,%s\n" % (n, b"x" * (n % 13)) for n in range(200))
    bodies = [p.body for p in payloads(chunked(data, chunk_size), SPLITTERS["Line"], "MultiRecord", 100)]
    assert b"".join(bodies) == data
    assert all(len(body) <= 100 and body.endswith(b"\n") for body in bodies)
    # Each request is as full as it can be: the next line would not have fitted.
    for body, following in itertools.pairwise(bodies):
        assert len(body) + len(following.split(b"\n", 1)[0]) + 1 > 100


def test_multi_record_cuts_recordio_at_record_boundaries_and_keeps_padding() -> None:
    data = b"".join(frame(p) for p in PAYLOADS * 5)
    bodies = [p.body for p in payloads(chunked(data, 10), SPLITTERS["RecordIO"], "MultiRecord", 96)]
    assert b"".join(bodies) == data and all(len(body) <= 96 for body in bodies)
    for body in bodies:
        assert SPLITTERS["RecordIO"].records(body, final=True)[1] == len(body)


def test_single_record_sends_each_record_alone_framing_and_all() -> None:
    data = b"".join(frame(p) for p in PAYLOADS)
    bodies = [p.body for p in payloads(chunked(data, 3), SPLITTERS["RecordIO"], "SingleRecord", 1000)]
    assert bodies == [frame(p) for p in PAYLOADS]
    lines = [p.body for p in payloads([b"a,1\n\nb,2\nc,3"], SPLITTERS["Line"], "SingleRecord", 1000)]
    assert lines == [b"a,1\n", b"b,2\n", b"c,3"]


@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_a_record_over_the_limit_fails_the_object(strategy: BatchStrategy) -> None:
    data = b"short\n" + b"x" * 300 + b"\nshort\n"
    with pytest.raises(RecordError, match="a record is larger than the maximum payload size"):
        list(payloads(chunked(data, 16), SPLITTERS["Line"], strategy, 200))


def test_split_type_none_sends_the_object_whole_or_fails_without_reading_it_all() -> None:
    assert [p.body for p in payloads(chunked(b"a\nb\n", 1), SPLITTERS["None"], "MultiRecord", 10)] == [b"a\nb\n"]
    endless = itertools.repeat(b"0123456789")
    with pytest.raises(RecordError, match="the object is larger than the maximum payload size"):
        next(payloads(endless, SPLITTERS["None"], "MultiRecord", 1000))


def test_no_limit_sends_each_object_whole() -> None:
    data = b"".join(line(p) for p in PAYLOADS) * 50
    assert [p.body for p in payloads(chunked(data, 64), SPLITTERS["Line"], "MultiRecord", None)] == [data]


def test_blank_lines_alone_make_no_request() -> None:
    assert list(payloads([b"\n\n\r\n"], SPLITTERS["Line"], "MultiRecord", 100)) == []
