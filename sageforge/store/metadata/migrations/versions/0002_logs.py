"""CloudWatch Logs: log groups, log streams and log events.

Revision ID: 0002_logs
Revises: 0001_records
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_logs"
down_revision = "0001_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("log_group_class", sa.String(32), nullable=False),
        sa.Column("kms_key_id", sa.String(256), nullable=True),
        sa.UniqueConstraint("name", name="uq_log_groups_name"),
    )
    op.create_table(
        "log_streams",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("log_groups.id", name="fk_log_streams_group"), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("first_event_timestamp", sa.BigInteger, nullable=True),
        sa.Column("last_event_timestamp", sa.BigInteger, nullable=True),
        sa.Column("last_ingestion_time", sa.BigInteger, nullable=True),
        sa.Column("stored_bytes", sa.BigInteger, nullable=False),
        sa.Column("upload_sequence", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("group_id", "name", name="uq_log_streams_name"),
    )
    op.create_index("ix_log_streams_last_event", "log_streams", ["group_id", "last_event_timestamp"])
    op.create_table(
        "log_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column(
            "stream_id", sa.Integer, sa.ForeignKey("log_streams.id", name="fk_log_events_stream"), nullable=False
        ),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("ingestion_time", sa.BigInteger, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_log_events_stream_position", "log_events", ["stream_id", "timestamp", "id"])
    op.create_index("ix_log_events_group_position", "log_events", ["group_id", "timestamp", "id"])


def downgrade() -> None:
    op.drop_index("ix_log_events_group_position", "log_events")
    op.drop_index("ix_log_events_stream_position", "log_events")
    op.drop_table("log_events")
    op.drop_index("ix_log_streams_last_event", "log_streams")
    op.drop_table("log_streams")
    op.drop_table("log_groups")
