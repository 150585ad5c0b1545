"""The HTTP response the pipeline hands back to the ASGI layer: bytes, or an iterator that streams."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass
class HttpResponse:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Bytes for small bodies; an iterator streams (and is closed when the response ends).
    body: bytes | Iterable[bytes] = b""

    def header(self, name: str, value: str) -> None:
        self.headers.append((name, value))

    def chunks(self) -> Iterator[bytes]:
        if isinstance(self.body, bytes):
            yield self.body
        else:
            yield from self.body
