"""Gate events record the colour of the health code (健康码) the person showed: green, yellow or red.

A nullable column added in place (no table copy, even on SQLite): events recorded before the
upgrade simply have none. Schema version 4: nodes still at 3 are refused by the hub until upgraded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
#: menwei.tables.SCHEMA_VERSION once this revision is applied (bump it when replicated tables change).
schema_version = 4


def upgrade():
    """Add gate_events.health_code."""
    with op.batch_alter_table("gate_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health_code", sa.String(length=6), nullable=True))


def downgrade():
    """Drop gate_events.health_code (SQLite copies the table to do it)."""
    with op.batch_alter_table("gate_events", schema=None) as batch_op:
        batch_op.drop_column("health_code")
