"""Open the metadata database and bring its schema up to date with Alembic migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

_MIGRATIONS = Path(__file__).parent / "migrations"


def open_database(url: str) -> Engine:
    """Create the engine for ``url`` and apply every pending migration."""
    sqlite = url.startswith("sqlite")
    engine = create_engine(
        url,
        # Worker threads (engine, request handlers) share the engine; SQLite needs this to allow it.
        connect_args={"check_same_thread": False, "timeout": 30} if sqlite else {},
        pool_pre_ping=not sqlite,
    )
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while the engine writes logs; NORMAL sync is durable at checkpoints.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
