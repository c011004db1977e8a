"""Reconciliation: households merged into another, acknowledgement columns renamed, the hub's diary of visits.

- households.merged_into (+ index): a duplicate household merged into the surviving one;
- violation_acks.by/at renamed acked_by/acked_at (renamed, so acknowledgements already made are kept);
- sync_contacts: the hub's diary of node visits (outages are its gaps).
Schema version 3.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
#: menwei.tables.SCHEMA_VERSION once this revision is applied (bump it when replicated tables change).
schema_version = 3


def present(inspector):
    """Whether a database made without migrations already has this revision (created by create_all at 3)."""
    return "merged_into" in {c["name"] for c in inspector.get_columns("households")}


def upgrade():
    """Add households.merged_into and sync_contacts; rename the acknowledgement columns."""
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_households_merged_into", ["merged_into"], unique=False)
    with op.batch_alter_table("violation_acks", schema=None) as batch_op:
        batch_op.alter_column("by", new_column_name="acked_by", existing_type=sa.String(length=40),
                              existing_nullable=True)
        batch_op.alter_column("at", new_column_name="acked_at", existing_type=sa.String(), existing_nullable=True)
    op.create_table("sync_contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("until_ms", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("first_oseq", sa.BigInteger(), nullable=True),
        sa.Column("last_oseq", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_sync_contacts_node_id", "sync_contacts", ["node_id"], unique=False)


def downgrade():
    """Undo it (SQLite copies the tables it alters)."""
    op.drop_table("sync_contacts")
    with op.batch_alter_table("violation_acks", schema=None) as batch_op:
        batch_op.alter_column("acked_by", new_column_name="by", existing_type=sa.String(length=40),
                              existing_nullable=True)
        batch_op.alter_column("acked_at", new_column_name="at", existing_type=sa.String(), existing_nullable=True)
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index("ix_households_merged_into")
        batch_op.drop_column("merged_into")
