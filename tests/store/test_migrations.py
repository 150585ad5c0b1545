"""The migrations build exactly the schema the code declares, and running them again changes nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import sageforge.store.logs.schema
import sageforge.store.metrics.schema  # noqa: F401  (declares its tables on the shared metadata)
import sageforge.store.objects.index  # noqa: F401  (declares its tables on the shared metadata)
from sageforge.store.metadata.database import migrate, open_database
from sageforge.store.metadata.schema import metadata


def test_migrated_schema_matches_the_declared_tables(database_url: str) -> None:
    engine = open_database(database_url)
    migrate(engine)  # a second run is a no-op
    assert {"records", "tags"} <= set(metadata.tables)
    assert sageforge.store.logs.schema is not None
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    engine.dispose()
