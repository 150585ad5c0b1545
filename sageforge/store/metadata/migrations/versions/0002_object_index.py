"""The filesystem object store's index: buckets, objects, multipart uploads and parts.

Revision ID: 0002_object_index
Revises: 0001_records
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_object_index"
down_revision = "0001_records"
branch_labels = None
depends_on = None


def _key() -> sa.String:
    # Keys list in UTF-8 byte order: SQLite's BINARY collation, PostgreSQL's "C".
    return sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "object_buckets",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "object_entries",
        sa.Column("bucket", sa.String(63), sa.ForeignKey("object_buckets.name"), primary_key=True),
        sa.Column("key", _key(), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.Float, nullable=False),
        sa.Column("file", sa.String(64), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("checksums", sa.Text, nullable=False),
        sa.Column("parts_count", sa.Integer, nullable=True),
    )
    op.create_table(
        "object_uploads",
        sa.Column("upload_id", sa.String(64), primary_key=True),
        sa.Column("bucket", sa.String(63), sa.ForeignKey("object_buckets.name"), nullable=False),
        sa.Column("key", _key(), nullable=False),
        sa.Column("initiated", sa.Float, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("checksum_algorithm", sa.String(16), nullable=True),
        sa.Column("checksum_type", sa.String(16), nullable=False),
    )
    op.create_index("ix_object_uploads_bucket_key", "object_uploads", ["bucket", "key", "upload_id"])
    op.create_table(
        "object_parts",
        sa.Column(
            "upload_id",
            sa.String(64),
            sa.ForeignKey("object_uploads.upload_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("part_number", sa.Integer, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.Float, nullable=False),
        sa.Column("file", sa.String(64), nullable=False),
        sa.Column("checksums", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("object_parts")
    op.drop_index("ix_object_uploads_bucket_key", "object_uploads")
    op.drop_table("object_uploads")
    op.drop_table("object_entries")
    op.drop_table("object_buckets")
