"""The metric store's tables on the shared ``metadata``: metrics, their dimensions, and their datapoints.

A metric is found by ``key``, a hash of its namespace, name and sorted dimensions (the identity can be tens of
kilobytes, too long for a unique index on PostgreSQL). Dimensions are also kept one per row so ListMetrics
filters by dimension in SQL. A datapoint row is one metric, unit and second: a statistic set with the values'
distribution as JSON ``[[value, count], ...]``, or NULL when the values are not known.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from sageforge.store.metadata.schema import metadata

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere datapoint ids need 64 bits.
_DATAPOINT_ID = BigInteger().with_variant(Integer(), "sqlite")

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),
    Column("namespace", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("dimensions", Text, nullable=False),
    UniqueConstraint("key", name="uq_metrics_key"),
    Index("ix_metrics_namespace_name", "namespace", "name"),
)

metric_dimensions = Table(
    "metric_dimensions",
    metadata,
    Column("metric_id", Integer, ForeignKey("metrics.id", name="fk_metric_dimensions_metric"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("value", String(1024), nullable=False),
    Index("ix_metric_dimensions_name", "name", "metric_id"),
)

metric_datapoints = Table(
    "metric_datapoints",
    metadata,
    Column("id", _DATAPOINT_ID, primary_key=True, autoincrement=True),
    Column("metric_id", Integer, ForeignKey("metrics.id", name="fk_metric_datapoints_metric"), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("unit", String(32), nullable=False),
    Column("sample_count", Float, nullable=False),
    Column("sum", Float, nullable=False),
    Column("minimum", Float, nullable=False),
    Column("maximum", Float, nullable=False),
    Column("distribution", Text, nullable=True),
    Index("ix_metric_datapoints_metric_time", "metric_id", "timestamp"),
)
