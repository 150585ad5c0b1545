"""How IP Insights turns its two inputs into table rows: entities by hash, IPv4 addresses by prefix.

An entity is an opaque string hashed (BLAKE2b, 8 bytes, so every process agrees) into one of
`num_entity_vectors` rows. An IPv4 address is encoded by its four prefixes -- /8, /16, /24 and /32 --
each hashed with its length into one of the IP table's rows; the address's input vector is the sum of the
four rows, so addresses of one subnet share most of their encoding and the model generalises from seen
addresses to their neighbours [INF: SageMaker documents an IP encoder network, not its input features].
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

PREFIX_LENGTHS = (8, 16, 24, 32)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing's odd multiplier

Indices = npt.NDArray[np.int64]


def entity_rows(entities: Sequence[str], num_entity_vectors: int) -> Indices:
    """The embedding row of each entity."""
    unique, inverse = np.unique(np.asarray(entities, dtype=object).astype(str), return_inverse=True)
    hashed = np.array(
        [int.from_bytes(hashlib.blake2b(entity.encode(), digest_size=8).digest(), "little") for entity in unique],
        dtype=np.uint64,
    )
    rows: Indices = (hashed % np.uint64(num_entity_vectors)).astype(np.int64)[inverse.ravel()]
    return rows


def parse_ipv4(addresses: Sequence[str]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_]]:
    """Each dotted-quad address as a 32-bit integer, and which of them are valid IPv4 addresses."""
    values = np.zeros(len(addresses), dtype=np.uint32)
    valid = np.zeros(len(addresses), dtype=np.bool_)
    for index, address in enumerate(addresses):
        parts = str(address).strip().split(".")
        if len(parts) == 4 and all(part.isdigit() and int(part) <= 255 for part in parts):
            values[index] = (int(parts[0]) << 24) | (int(parts[1]) << 16) | (int(parts[2]) << 8) | int(parts[3])
            valid[index] = True
    return values, valid


def ip_rows(addresses: npt.NDArray[np.uint32], num_ip_vectors: int) -> Indices:
    """(n, 4) IP-table rows of the /8, /16, /24 and /32 prefixes of each address."""
    ips = addresses.astype(np.uint64)[:, None]
    lengths = np.array(PREFIX_LENGTHS, dtype=np.uint64)
    prefixes = ips >> (np.uint64(32) - lengths)
    with np.errstate(over="ignore"):  # the multiplications wrap around on purpose
        mixed = (prefixes + (lengths << np.uint64(32))) * _MIX
    mixed ^= mixed >> np.uint64(29)
    rows: Indices = (mixed % np.uint64(num_ip_vectors)).astype(np.int64)
    return rows
