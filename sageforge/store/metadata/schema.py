"""Every table sageforge keeps, on one ``MetaData``; migrations create them and a test keeps the two equal.

Resource records are JSON bodies plus the columns we filter and sort on; each store that needs its own
tables (object index, logs) declares them in its own module on this ``metadata``.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

# One row per API resource (training job, model, endpoint, ...). ``body`` is the record as JSON;
# ``version`` increases on every update so concurrent writers detect each other.
records = Table(
    "records",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(256), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("kind", "account", "region", "name", name="uq_records_name"),
    Index("ix_records_kind_created", "kind", "created_at"),
)

tags = Table(
    "tags",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)
