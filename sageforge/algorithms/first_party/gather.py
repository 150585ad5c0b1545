"""Multi-instance jobs of the first-party algorithms: every host's shard reaches the first host, which trains.

SageMaker's 1P algorithms train data-parallel; sageforge's train on one host, so that no shard of a
`ShardedByS3Key` channel is lost the other hosts send theirs to the first host over TCP (the address
`SAGEFORGE_HOSTS` gives it, port `SAGEFORGE_COLLECTIVE_PORT`, both set by the engine) and exit 0 once it has
acknowledged them. The first host writes each file it receives into its own channel folder under the file's own
relative path: shards are disjoint, so the folder then holds what one host would have had with the whole
channel, in the same path order, and the algorithm trains on the union. A Pipe channel's shard is its
epoch-0 stream, received as the file `<host>` in the channel's folder, which `channels` reads after the FIFO.
`FullyReplicated` channels are whole on every host and are not sent.

Wire format, per sending host: a 4-byte big-endian length, a JSON header `{"host", "files": [{"channel",
"path", "size"}]}`, the files' bytes in that order; the first host answers `ok` when all are written.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sageforge.algorithms.formats import data_files

if TYPE_CHECKING:  # the container runs the gather, so it cannot be imported from here at run time
    from sageforge.algorithms.first_party.container import Container

logger = logging.getLogger("sageforge.algorithms.first_party")

_ACK = b"ok"
_CONNECT_SECONDS = 600.0  # the first host may still be starting (importing numpy, ...)
_RETRY_SECONDS = 0.2
_LENGTH = struct.Struct(">I")


def gather_shards(container: Container) -> bool:
    """Send this host's shards to the first host, or receive every other host's; True when this host trains."""
    channels = _sharded_channels(container)
    if container.is_first_host:
        _receive(container, len(container.hosts) - 1)
        return True
    _send(container, channels)
    logger.info("host %s: sent its shards to %s, which trains", container.current_host, container.hosts[0])
    return False


def _sharded_channels(container: Container) -> list[str]:
    config = container.input_data_config
    return sorted(name for name, channel in config.items() if channel.get("S3DistributionType") == "ShardedByS3Key")


def _address(container: Container) -> tuple[str, int]:
    addresses: dict[str, str] = json.loads(os.environ.get("SAGEFORGE_HOSTS", "{}"))
    port = os.environ.get("SAGEFORGE_COLLECTIVE_PORT")
    if container.hosts[0] not in addresses or not port:
        raise RuntimeError("multi-instance training needs SAGEFORGE_HOSTS and SAGEFORGE_COLLECTIVE_PORT")
    return addresses[container.hosts[0]], int(port)


def _shards(container: Container, channels: list[str]) -> Iterator[tuple[str, str, bytes | Path]]:
    """(channel, relative path, content or file) for every piece of this host's shards."""
    for channel in channels:
        if container.input_data_config[channel].get("TrainingInputMode") == "Pipe":
            yield channel, container.current_host, container.pipe_path(channel, 0).read_bytes()
            continue
        folder = container.channel_dir(channel)
        for path in data_files(folder):
            yield channel, path.relative_to(folder).as_posix(), path


def _send(container: Container, channels: list[str]) -> None:
    pieces = list(_shards(container, channels))
    files = [
        {"channel": channel, "path": name, "size": len(body) if isinstance(body, bytes) else body.stat().st_size}
        for channel, name, body in pieces
    ]
    header = json.dumps({"host": container.current_host, "files": files}).encode()
    with _connect(_address(container)) as connection:
        connection.sendall(_LENGTH.pack(len(header)) + header)
        for _, _, body in pieces:
            if isinstance(body, bytes):
                connection.sendall(body)
            else:
                with body.open("rb") as source:
                    connection.sendfile(source)
        if _read_exactly(connection, len(_ACK)) != _ACK:
            raise RuntimeError(f"{container.hosts[0]} did not acknowledge the shards")


def _connect(address: tuple[str, int]) -> socket.socket:
    deadline = time.monotonic() + _CONNECT_SECONDS
    while True:
        try:
            return socket.create_connection(address)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(_RETRY_SECONDS)


def _receive(container: Container, senders: int) -> None:
    if senders == 0:
        return
    with socket.create_server(_address(container)) as server:
        for _ in range(senders):
            connection, _ = server.accept()
            with connection:
                host = _receive_one(container, connection)
                connection.sendall(_ACK)
            logger.info("received the shards of host %s", host)


def _receive_one(container: Container, connection: socket.socket) -> str:
    (length,) = _LENGTH.unpack(_read_exactly(connection, _LENGTH.size))
    header = json.loads(_read_exactly(connection, length))
    for entry in header["files"]:
        relative = PurePosixPath(entry["path"])
        unsafe = relative.is_absolute() or ".." in relative.parts
        if unsafe or entry["channel"] not in container.input_data_config:
            raise RuntimeError(f"host {header['host']} sent a file outside its channel: {entry['path']}")
        destination = container.channel_dir(entry["channel"]) / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        with destination.open("wb") as out:
            remaining = int(entry["size"])
            while remaining:
                chunk = connection.recv(min(remaining, 1 << 20))
                if not chunk:
                    raise RuntimeError(f"host {header['host']} closed the connection mid-file")
                out.write(chunk)
                remaining -= len(chunk)
    return str(header["host"])


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise RuntimeError("the connection closed early")
        data += chunk
    return bytes(data)
