"""sync_graveyard: ids of rows whose tombstones compaction removed, so a late edit cannot raise them again.

A local bookkeeping table: nothing a node sends or receives changes, so the schema version stays 4.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 07:31:58.480371
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None
#: menwei.tables.SCHEMA_VERSION once this revision is applied (bump it when replicated tables change).
schema_version = 4


def upgrade():
    """Apply this revision."""
    op.create_table('sync_graveyard',
    sa.Column('tbl', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('tbl', 'row_id')
    )


def downgrade():
    """Undo this revision."""
    op.drop_table('sync_graveyard')
