"""The schema at SCHEMA_VERSION 2, as every database made before migrations has it.

Frozen (generated once by Alembic from the declarations of the time, then only tidied): a later
change of menwei/tables.py or sync/sql_store.py is a new revision, never an edit here.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
#: menwei.tables.SCHEMA_VERSION once this revision is applied (bump it when replicated tables change).
schema_version = 2
TABLES = ('accounts', 'buildings', 'compounds', 'control_rules', 'gate_events', 'handovers',
          'households', 'import_marks', 'incidents', 'login_failures', 'order_lines', 'orders',
          'passes', 'posts', 'receipts', 'repayments', 'residents', 'shifts', 'sync_conflicts',
          'sync_counter', 'sync_log', 'sync_nodes', 'sync_origins', 'sync_state', 'vehicles',
          'violation_acks', 'volunteers')


def upgrade():
    """Create every table and index."""
    op.create_table('accounts',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('username', sa.String(length=40), nullable=True),
        sa.Column('display_name', sa.String(length=50), nullable=True),
        sa.Column('role', sa.String(length=200), nullable=True),
        sa.Column('password_hash', sa.String(length=300), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_accounts_compound_id', 'accounts', ['compound_id'])
    op.create_index('ix_accounts_username', 'accounts', ['username'])
    op.create_table('buildings',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('number', sa.String(length=20), nullable=True),
        sa.Column('name', sa.String(length=50), nullable=True),
        sa.Column('floors', sa.BigInteger(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_buildings_compound_id', 'buildings', ['compound_id'])
    op.create_table('compounds',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=True),
        sa.Column('city', sa.String(length=50), nullable=True),
        sa.Column('district', sa.String(length=50), nullable=True),
        sa.Column('address', sa.String(length=200), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table('control_rules',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('building_id', sa.String(length=36), nullable=True),
        sa.Column('effective_from', sa.String(), nullable=True),
        sa.Column('level', sa.String(length=200), nullable=True),
        sa.Column('outing_quota', sa.BigInteger(), nullable=True),
        sa.Column('outing_days', sa.BigInteger(), nullable=True),
        sa.Column('vehicle_policy', sa.String(length=200), nullable=True),
        sa.Column('fever_threshold', sa.Float(), nullable=True),
        sa.Column('work_pass_needs_certificate', sa.Boolean(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_control_rules_building_id', 'control_rules', ['building_id'])
    op.create_table('gate_events',
        sa.Column('_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('gate', sa.String(length=64), nullable=True),
        sa.Column('direction', sa.String(length=200), nullable=True),
        sa.Column('at', sa.String(), nullable=True),
        sa.Column('resident_id', sa.String(length=36), nullable=True),
        sa.Column('household_id', sa.String(length=36), nullable=True),
        sa.Column('vehicle_id', sa.String(length=36), nullable=True),
        sa.Column('pass_id', sa.String(length=36), nullable=True),
        sa.Column('purpose', sa.String(length=200), nullable=True),
        sa.Column('person_name', sa.String(length=50), nullable=True),
        sa.Column('person_id_number', sa.String(length=18), nullable=True),
        sa.Column('person_phone', sa.String(length=20), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('decision', sa.String(length=200), nullable=True),
        sa.Column('reasons', sa.Text(), nullable=True),
        sa.Column('temperature', sa.Float(), nullable=True),
        sa.Column('operator', sa.String(length=50), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('_origin', sa.String(length=64), nullable=False),
        sa.Column('_oseq', sa.BigInteger(), nullable=False),
        sa.Column('_hlc', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('_seq'),
        sa.UniqueConstraint('id'))
    op.create_index('ix_gate_events_household_id_at', 'gate_events', ['household_id', 'at'])
    op.create_table('handovers',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('post_id', sa.String(length=36), nullable=True),
        sa.Column('shift_id', sa.String(length=36), nullable=True),
        sa.Column('volunteer_id', sa.String(length=36), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('written_at', sa.String(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_handovers_post_id', 'handovers', ['post_id'])
    op.create_table('households',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('building_id', sa.String(length=36), nullable=True),
        sa.Column('room', sa.String(length=20), nullable=True),
        sa.Column('label', sa.String(length=40), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_households_building_id', 'households', ['building_id'])
    op.create_index('ix_households_compound_id', 'households', ['compound_id'])
    op.create_index('ix_households_label', 'households', ['label'])
    op.create_table('import_marks',
        sa.Column('tbl', sa.String(length=64), nullable=False),
        sa.Column('row_id', sa.String(length=64), nullable=False),
        sa.Column('field', sa.String(length=64), nullable=False),
        sa.Column('hlc', sa.BigInteger(), nullable=False),
        sa.Column('origin', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('tbl', 'row_id', 'field'))
    op.create_table('incidents',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=200), nullable=True),
        sa.Column('status', sa.String(length=200), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('household_id', sa.String(length=36), nullable=True),
        sa.Column('vehicle_id', sa.String(length=36), nullable=True),
        sa.Column('gate_event_id', sa.String(length=36), nullable=True),
        sa.Column('opened_at', sa.String(), nullable=True),
        sa.Column('opened_by', sa.String(length=50), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table('login_failures',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('at', sa.BigInteger(), nullable=False))
    op.create_index('ix_login_failures_key', 'login_failures', ['key'])
    op.create_table('order_lines',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('order_id', sa.String(length=36), nullable=True),
        sa.Column('position', sa.BigInteger(), nullable=True),
        sa.Column('item', sa.String(length=50), nullable=True),
        sa.Column('quantity', sa.Float(), nullable=True),
        sa.Column('unit', sa.String(length=10), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('bought_quantity', sa.Float(), nullable=True),
        sa.Column('price', sa.Float(), nullable=True),
        sa.Column('missing', sa.Boolean(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_order_lines_order_id', 'order_lines', ['order_id'])
    op.create_table('orders',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('household_id', sa.String(length=36), nullable=True),
        sa.Column('room_text', sa.String(length=40), nullable=True),
        sa.Column('name', sa.String(length=50), nullable=True),
        sa.Column('delivery_date', sa.String(), nullable=True),
        sa.Column('status', sa.String(length=200), nullable=True),
        sa.Column('source_line', sa.Text(), nullable=True),
        sa.Column('pending_line', sa.Text(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('flagged', sa.Boolean(), nullable=True),
        sa.Column('paid_by', sa.String(length=36), nullable=True),
        sa.Column('missing', sa.Text(), nullable=True),
        sa.Column('bags', sa.BigInteger(), nullable=True),
        sa.Column('delivered_by', sa.String(length=50), nullable=True),
        sa.Column('delivered_at', sa.String(), nullable=True),
        sa.Column('refused_reason', sa.String(length=200), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_orders_delivery_date', 'orders', ['delivery_date'])
    op.create_index('ix_orders_household_id', 'orders', ['household_id'])
    op.create_table('passes',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=200), nullable=True),
        sa.Column('code', sa.String(length=12), nullable=True),
        sa.Column('household_id', sa.String(length=36), nullable=True),
        sa.Column('resident_id', sa.String(length=36), nullable=True),
        sa.Column('vehicle_id', sa.String(length=36), nullable=True),
        sa.Column('holder_name', sa.String(length=50), nullable=True),
        sa.Column('employer', sa.String(length=100), nullable=True),
        sa.Column('certificate_checked_by', sa.String(length=50), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('valid_from', sa.String(), nullable=True),
        sa.Column('valid_until', sa.String(), nullable=True),
        sa.Column('revoked', sa.Boolean(), nullable=True),
        sa.Column('revoked_reason', sa.String(length=200), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_passes_code', 'passes', ['code'])
    op.create_index('ix_passes_household_id', 'passes', ['household_id'])
    op.create_table('posts',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('name', sa.String(length=50), nullable=True),
        sa.Column('kind', sa.String(length=200), nullable=True),
        sa.Column('node_id', sa.String(length=64), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table('receipts',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('volunteer_id', sa.String(length=36), nullable=True),
        sa.Column('delivery_date', sa.String(), nullable=True),
        sa.Column('total', sa.Float(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('photo', sa.Text(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table('repayments',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('household_id', sa.String(length=36), nullable=True),
        sa.Column('volunteer_id', sa.String(length=36), nullable=True),
        sa.Column('amount', sa.Float(), nullable=True),
        sa.Column('paid_at', sa.String(), nullable=True),
        sa.Column('received_by', sa.String(length=50), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table('residents',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('household_id', sa.String(length=36), nullable=True),
        sa.Column('name', sa.String(length=50), nullable=True),
        sa.Column('gender', sa.String(length=4), nullable=True),
        sa.Column('birth_date', sa.String(), nullable=True),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('id_number', sa.String(length=18), nullable=True),
        sa.Column('party_member', sa.Boolean(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_residents_household_id', 'residents', ['household_id'])
    op.create_index('ix_residents_id_number', 'residents', ['id_number'])
    op.create_table('shifts',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('post_id', sa.String(length=36), nullable=True),
        sa.Column('volunteer_id', sa.String(length=36), nullable=True),
        sa.Column('starts_at', sa.String(), nullable=True),
        sa.Column('ends_at', sa.String(), nullable=True),
        sa.Column('checked_in_at', sa.String(), nullable=True),
        sa.Column('checked_out_at', sa.String(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_shifts_post_id', 'shifts', ['post_id'])
    op.create_table('sync_conflicts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('detected_hlc', sa.BigInteger(), nullable=False),
        sa.Column('tbl', sa.String(length=64), nullable=False),
        sa.Column('row_id', sa.String(length=64), nullable=False),
        sa.Column('field', sa.String(length=64), nullable=False),
        sa.Column('winner_value', sa.Text(), nullable=True),
        sa.Column('winner_hlc', sa.BigInteger(), nullable=True),
        sa.Column('winner_origin', sa.String(length=64), nullable=True),
        sa.Column('loser_value', sa.Text(), nullable=True),
        sa.Column('loser_hlc', sa.BigInteger(), nullable=True),
        sa.Column('loser_origin', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('resolved_by', sa.String(length=64), nullable=True),
        sa.Column('resolved_hlc', sa.BigInteger(), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tbl', 'row_id', 'field', 'winner_hlc', 'winner_origin', 'loser_hlc', 'loser_origin', name='uq_sync_conflicts_pair'))
    op.create_table('sync_counter',
        sa.Column('name', sa.String(length=16), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'))
    op.create_table('sync_log',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
        sa.Column('origin', sa.String(length=64), nullable=False),
        sa.Column('oseq', sa.BigInteger(), nullable=False),
        sa.Column('hlc', sa.BigInteger(), nullable=False),
        sa.Column('tbl', sa.String(length=64), nullable=False),
        sa.Column('row_id', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.String(length=64), nullable=True),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('prev', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('seq'))
    op.create_table('sync_nodes',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=64), nullable=True),
        sa.Column('label', sa.String(length=200), nullable=True),
        sa.Column('token_hash', sa.String(length=128), nullable=True),
        sa.Column('code_hash', sa.String(length=128), nullable=True),
        sa.Column('code_expires_ms', sa.BigInteger(), nullable=True),
        sa.Column('revoked', sa.Boolean(), nullable=False),
        sa.Column('created_ms', sa.BigInteger(), nullable=True),
        sa.Column('last_seen_ms', sa.BigInteger(), nullable=True),
        sa.Column('last_push_ms', sa.BigInteger(), nullable=True),
        sa.Column('last_pull_ms', sa.BigInteger(), nullable=True),
        sa.Column('skew_ms', sa.BigInteger(), nullable=True),
        sa.Column('schema_version', sa.Integer(), nullable=True),
        sa.Column('pending', sa.BigInteger(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_table('sync_origins',
        sa.Column('origin', sa.String(length=64), nullable=False),
        sa.Column('max_oseq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('origin'))
    op.create_table('sync_state',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('key'))
    op.create_table('vehicles',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('household_id', sa.String(length=36), nullable=True),
        sa.Column('plate', sa.String(length=16), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_vehicles_household_id', 'vehicles', ['household_id'])
    op.create_index('ix_vehicles_plate', 'vehicles', ['plate'])
    op.create_table('violation_acks',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=True),
        sa.Column('key', sa.String(length=300), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('by', sa.String(length=40), nullable=True),
        sa.Column('at', sa.String(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_violation_acks_compound_id', 'violation_acks', ['compound_id'])
    op.create_index('ix_violation_acks_key', 'violation_acks', ['key'])
    op.create_table('volunteers',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('compound_id', sa.String(length=36), nullable=True),
        sa.Column('name', sa.String(length=50), nullable=True),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('organisation', sa.String(length=100), nullable=True),
        sa.Column('party_member', sa.Boolean(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('_deleted', sa.Boolean(), nullable=False),
        sa.Column('_v', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))


def downgrade():
    """Drop every table (and so its indexes)."""
    for name in reversed(TABLES):
        op.drop_table(name)
