"""A minimal HTTP/1.1 client over asyncio streams: the router's keep-alive connections to one replica.

A request goes out in one write; a response is read with a Content-Length, in chunks, or to the end of the
connection. Idle connections are kept per event loop (a connection belongs to the loop that opened it) and
reused while the server keeps them alive. A kept connection the server has closed meanwhile fails before any
byte of the answer; the request is then sent once more on a new connection. Anything else that breaks the
exchange is ``ConnectionLost``, and a slow answer ``TimeoutError``; the connection is dropped in both cases.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

_MAX_HEAD_BYTES = 64 * 1024


class ConnectionLost(Exception):
    """No complete answer came: the server could not be reached, or the connection broke."""


class _Stale(Exception):
    """A kept connection the server had closed: nothing of the request was answered."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class ConnectionPool:
    def __init__(self, host: str, port: int, max_idle: int = 32) -> None:
        self._host = host
        self._port = port
        self._max_idle = max_idle
        self._idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_Connection]] = (
            weakref.WeakKeyDictionary()
        )

    async def request(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Response:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\nContent-Length: {len(body)}\r\n"
        data = (head + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n").encode(
            "latin-1"
        ) + body
        idle = self._idle.setdefault(asyncio.get_running_loop(), [])
        while idle:
            connection = idle.pop()
            try:
                return await self._exchange(connection, data, timeout, idle)
            except _Stale:
                continue
        connection = await self._connect()
        try:
            return await self._exchange(connection, data, timeout, idle)
        except _Stale:
            raise ConnectionLost(f"{self._host}:{self._port} closed the connection without answering") from None

    def close(self) -> None:
        """Close the idle connections of every loop, on that loop (callable from any thread); connections in use
        close when their request ends, on a replica that has gone away."""
        for loop, connections in list(self._idle.items()):
            writers = [writer for _, writer in connections]
            connections.clear()
            for writer in writers:
                try:
                    loop.call_soon_threadsafe(writer.close)
                except RuntimeError:
                    break  # the loop has closed, and its transports with it

    async def _connect(self) -> _Connection:
        try:
            return await asyncio.open_connection(self._host, self._port)
        except OSError as error:
            raise ConnectionLost(f"cannot connect to {self._host}:{self._port}: {error}") from None

    async def _exchange(
        self, connection: _Connection, data: bytes, timeout: float, idle: list[_Connection]
    ) -> Response:
        reader, writer = connection
        try:
            async with asyncio.timeout(timeout):
                writer.write(data)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as error:
                    if not error.partial:
                        raise _Stale() from None
                    raise
                response, keep = await _read_response(reader, head)
        except (_Stale, TimeoutError):
            writer.close()
            raise
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError) as error:
            writer.close()
            raise ConnectionLost(f"{self._host}:{self._port}: {error!r}") from None
        if keep and len(idle) < self._max_idle:
            idle.append(connection)
        else:
            writer.close()
        return response


async def _read_response(reader: asyncio.StreamReader, head: bytes) -> tuple[Response, bool]:
    """The response whose head was read, and whether the connection can carry another request."""
    if len(head) > _MAX_HEAD_BYTES:
        raise ValueError("response head too large")
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body, keep = await reader.read(), False
    return Response(int(status), headers, body), keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    pieces: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            # Trailer fields, if any, end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(pieces)
        pieces.append(await reader.readexactly(size))
        await reader.readexactly(2)
