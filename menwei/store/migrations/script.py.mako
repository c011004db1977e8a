"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}
#: menwei.tables.SCHEMA_VERSION once this revision is applied (bump it when replicated tables change).
schema_version = None  # set it: the test of the head checks it


def upgrade():
    """Apply this revision."""
    ${upgrades if upgrades else "pass"}


def downgrade():
    """Undo this revision."""
    ${downgrades if downgrades else "pass"}
