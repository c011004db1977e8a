"""Dashboard and audit trail: local tables write_actors and dashboard_days, covering indexes on gate_events and sync_log.

Only local tables and indexes: nothing a node sends or receives changes, so the schema version stays 4.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 04:19:52.004618
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None
#: menwei.tables.SCHEMA_VERSION once this revision is applied (bump it when replicated tables change).
schema_version = 4


def upgrade():
    """Apply this revision."""
    op.create_table('dashboard_days',
    sa.Column('compound_id', sa.String(length=64), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('log_seq', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('compound_id', 'tz', 'day')
    )
    op.create_table('write_actors',
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('first_oseq', sa.BigInteger(), nullable=False),
    sa.Column('last_oseq', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('origin', 'first_oseq')
    )
    with op.batch_alter_table('gate_events', schema=None) as batch_op:
        batch_op.create_index('ix_gate_events_dashboard', ['compound_id', 'at', 'gate', 'household_id', 'direction', 'decision', 'purpose', 'temperature'], unique=False)
        batch_op.create_index('ix_gate_events_resident_last', ['resident_id', 'at', 'decision', 'direction', 'gate'], unique=False)

    with op.batch_alter_table('sync_log', schema=None) as batch_op:
        batch_op.create_index('ix_sync_log_row', ['row_id'], unique=False)



def downgrade():
    """Undo this revision."""
    with op.batch_alter_table('sync_log', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_log_row')

    with op.batch_alter_table('gate_events', schema=None) as batch_op:
        batch_op.drop_index('ix_gate_events_resident_last')
        batch_op.drop_index('ix_gate_events_dashboard')

    op.drop_table('write_actors')
    op.drop_table('dashboard_days')
