"""A fleet: the replicas that serve one deployment of an endpoint, grouped by variant.

Blue/green updates build a second fleet beside the first and swap them at the router, so a fleet never
changes its variants; only weights and the replicas in each variant change (scaling, replacing the dead).
The routable replicas of a variant are an immutable tuple swapped under a lock, so the router reads them
without locking.
"""

from __future__ import annotations

import random
import shutil
import threading
from dataclasses import replace
from pathlib import Path

from sageforge.serving.replica import Replica
from sageforge.serving.spec import VariantSpec


class VariantFleet:
    def __init__(self, spec: VariantSpec, directory: Path) -> None:
        self.spec = spec
        # Holds model/ (shared read-only by the variant's replicas); each replica runs in it.
        self.directory = directory
        self._replicas: tuple[Replica, ...] = ()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def weight(self) -> float:
        return self.spec.weight

    @property
    def replicas(self) -> tuple[Replica, ...]:
        return self._replicas

    def set_weight(self, weight: float) -> None:
        self.spec = replace(self.spec, weight=weight)

    def set_instance_count(self, count: int) -> None:
        self.spec = replace(self.spec, instance_count=count)

    def add(self, replica: Replica) -> None:
        with self._lock:
            self._replicas = (*self._replicas, replica)

    def discard(self, replica: Replica) -> bool:
        """Take ``replica`` out of routing; whether it was in."""
        with self._lock:
            if replica not in self._replicas:
                return False
            self._replicas = tuple(r for r in self._replicas if r is not replica)
            return True

    def acquire(self, exclude: set[Replica]) -> Replica | None:
        """A replica counted in for one request: the least busy, ties broken at random (so idle replicas
        share the load); None when none can take it."""
        candidates = [r for r in self._replicas if r not in exclude]
        random.shuffle(candidates)
        for replica in sorted(candidates, key=lambda r: r.in_flight):
            if replica.acquire():
                return replica
        return None


class Fleet:
    def __init__(self, key: str, variants: dict[str, VariantFleet], directory: Path) -> None:
        self.key = key
        self.variants = variants
        self.directory = directory
        # Set when the fleet stops serving: replacements stop, late replica exits are ignored.
        self.retired = threading.Event()
        # Every replica started for the fleet, routable or not (starting, replaced, scaled in), until it is gone.
        self._members: set[Replica] = set()
        self._lock = threading.Lock()

    def track(self, replica: Replica) -> bool:
        """Count ``replica`` as the fleet's; False (and not counted) once the fleet is retired."""
        with self._lock:
            if self.retired.is_set():
                return False
            self._members.add(replica)
            return True

    def forget(self, replica: Replica) -> None:
        with self._lock:
            self._members.discard(replica)

    def retire(self) -> list[Replica]:
        """Mark the fleet retired and hand back every replica it still has."""
        with self._lock:
            self.retired.set()
            return list(self._members)

    def variant(self, name: str) -> VariantFleet | None:
        return self.variants.get(name)

    def pick_variant(self) -> VariantFleet | None:
        """A variant drawn in proportion to the weights; None when every weight is zero."""
        weighted = [(variant, variant.weight) for variant in self.variants.values() if variant.weight > 0]
        if not weighted:
            return None
        return random.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]

    def remove_files(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
