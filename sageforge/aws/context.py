"""What one request is: its raw HTTP form and what the pipeline learned about it so far."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl, unquote


class BodyStream(Protocol):
    """A request body read in chunks from a worker thread; ``read()`` with no size reads to the end."""

    def read(self, size: int = -1) -> bytes: ...


class BytesBody:
    """A body already in memory (tests, internal callers)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else min(len(self._data), self._offset + size)
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk


class Headers(Mapping[str, str]):
    """Case-insensitive, last-value-wins request headers (AWS clients never repeat the ones we read)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._map = {name.lower(): value for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def raw(self) -> list[tuple[str, str]]:
        return list(self._items)


@dataclass
class AwsRequest:
    """An HTTP request as it arrived: the raw (still percent-encoded) path and query string."""

    method: str
    raw_path: str
    query_string: str
    headers: Headers
    body: BodyStream
    scheme: str = "http"

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    def query_dict(self) -> dict[str, str]:
        return dict(self.query)


@dataclass
class RequestContext:
    """Facts about a request that handlers may use: who asked, where, and what."""

    request: AwsRequest
    service: str = ""
    operation: str = ""
    region: str = "us-east-1"
    account_id: str = "000000000000"
    access_key: str = ""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
