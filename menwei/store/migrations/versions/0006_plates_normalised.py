"""Vehicle plates stored in one spelling (menwei.gate.labels.normalise_plate): 赣K·12345 → 赣K12345.

The gate looks a plate up in that spelling and desk search matches it; a plate registered as typed
(with a middle dot, a space, lower case) was never found. Every replica rewrites its own rows the same
way, without new stamps, so replicas still agree; new writes are normalised by the table declaration.
Schema version 5: a node still at 4 would store plates as typed, so the hub refuses it until upgraded.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

from menwei.gate.labels import normalise_plate

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
#: menwei.tables.SCHEMA_VERSION once this revision is applied (bump it when replicated tables change).
schema_version = 5


def upgrade():
    """Rewrite every stored plate in its normalised spelling."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, plate FROM vehicles WHERE plate IS NOT NULL")).all()
    fixed = [{"id": rid, "plate": normalise_plate(plate)} for rid, plate in rows if normalise_plate(plate) != plate]
    if fixed:
        conn.execute(sa.text("UPDATE vehicles SET plate = :plate WHERE id = :id"), fixed)


def downgrade():
    """Nothing to undo: the spelling a plate was typed in is not kept."""
