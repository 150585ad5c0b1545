"""CloudWatch metrics: metrics, their dimensions, and per-second datapoints.

Revision ID: 0003_metrics
Revises: 0001_records
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_metrics"
down_revision = "0001_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("dimensions", sa.Text, nullable=False),
        sa.UniqueConstraint("key", name="uq_metrics_key"),
    )
    op.create_index("ix_metrics_namespace_name", "metrics", ["namespace", "name"])
    op.create_table(
        "metric_dimensions",
        sa.Column(
            "metric_id",
            sa.Integer,
            sa.ForeignKey("metrics.id", name="fk_metric_dimensions_metric"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.String(1024), nullable=False),
    )
    op.create_index("ix_metric_dimensions_name", "metric_dimensions", ["name", "metric_id"])
    op.create_table(
        "metric_datapoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column(
            "metric_id", sa.Integer, sa.ForeignKey("metrics.id", name="fk_metric_datapoints_metric"), nullable=False
        ),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("sample_count", sa.Float, nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("minimum", sa.Float, nullable=False),
        sa.Column("maximum", sa.Float, nullable=False),
        sa.Column("distribution", sa.Text, nullable=True),
    )
    op.create_index("ix_metric_datapoints_metric_time", "metric_datapoints", ["metric_id", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_metric_datapoints_metric_time", "metric_datapoints")
    op.drop_table("metric_datapoints")
    op.drop_index("ix_metric_dimensions_name", "metric_dimensions")
    op.drop_table("metric_dimensions")
    op.drop_index("ix_metrics_namespace_name", "metrics")
    op.drop_table("metrics")
