"""Volunteers can be deactivated (volunteers.inactive) and a post names the building whose door it is
(posts.building_id).

- volunteers.inactive: a basket volunteer who stopped is no longer offered as payer or deliverer, while the
  orders and repayments naming them keep their name;
- posts.building_id: a desk at one building's door reads a bare room number (``1702``) as that building's
  room, and the basket page of that node takes its building from it.
Two nullable columns added in place. Schema version 6: nodes still at 5 are refused by the hub until upgraded.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
#: menwei.tables.SCHEMA_VERSION once this revision is applied (bump it when replicated tables change).
schema_version = 6


def present(inspector):
    """Whether a database made without migrations already has this revision (created by create_all at 6)."""
    return "inactive" in {c["name"] for c in inspector.get_columns("volunteers")}


def upgrade():
    """Add volunteers.inactive and posts.building_id."""
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inactive", sa.Boolean(), nullable=True))
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("building_id", sa.String(length=36), nullable=True))


def downgrade():
    """Drop both columns (SQLite copies the tables to do it)."""
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("building_id")
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_column("inactive")
