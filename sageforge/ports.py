"""The free-port probe: how the server, a job's instances and a pipeline replica's containers pick a port."""

from __future__ import annotations

import socket


def free_port(interface: str = "127.0.0.1") -> int:
    """A port nobody listens on now on ``interface`` ("" for every interface); the caller binds it soon after."""
    with socket.socket() as probe:
        probe.bind((interface, 0))
        return int(probe.getsockname()[1])
