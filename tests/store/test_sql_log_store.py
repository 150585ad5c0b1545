"""``SqlLogStore`` against the log-store contract, on a migrated SQLite database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sageforge.store.logs.base import QueryableLogStore
from sageforge.store.logs.sql import SqlLogStore
from sageforge.store.metadata.database import open_database
from sageforge.testing.contracts.log_store import LogStoreContract


class TestSqlLogStore(LogStoreContract):
    @pytest.fixture
    def store(self, database_url: str) -> Iterator[QueryableLogStore]:
        engine = open_database(database_url)
        yield SqlLogStore(engine)
        engine.dispose()
