"""The database extension, created once and bound to each app in its factory."""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Column, String, Table, Text, text

from sync.sql_store import build_metadata

from .tables import CATALOG

db = SQLAlchemy(metadata=build_metadata(CATALOG))

#: Local, not replicated: the version each import wrote per field, so a later import of the same
#: spreadsheet overwrites only what no one has edited in Menwei since.
import_marks = Table("import_marks", db.metadata,
                     Column("tbl", String(64), primary_key=True),
                     Column("row_id", String(64), primary_key=True),
                     Column("field", String(64), primary_key=True),
                     Column("hlc", BigInteger, nullable=False),
                     Column("origin", String(64), nullable=False))

#: Local: failed sign-ins by username and by address, for rate limiting (pruned as they age).
login_failures = Table("login_failures", db.metadata,
                       Column("key", String(120), nullable=False, index=True),
                       Column("at", BigInteger, nullable=False))

#: Local: who was signed in when this replica wrote its own changes numbered first_oseq..last_oseq. The
#: change log knows where and when a change was made; this adds by whom, for the audit trail.
write_actors = Table("write_actors", db.metadata,
                     Column("origin", String(64), primary_key=True),
                     Column("first_oseq", BigInteger, primary_key=True),
                     Column("last_oseq", BigInteger, nullable=False),
                     Column("actor", String(64), nullable=False),
                     Column("at_ms", BigInteger, nullable=False))

#: Local: whole local days of gate-event aggregates for the dashboard (menwei/dashboard_cache.py), each
#: valid as of the log position it was read at.
dashboard_days = Table("dashboard_days", db.metadata,
                       Column("compound_id", String(64), primary_key=True),
                       Column("tz", String(64), primary_key=True),
                       Column("day", String(10), primary_key=True),
                       Column("log_seq", BigInteger, nullable=False),
                       Column("payload", Text, nullable=False))

#: Local indexes for the dashboard and the audit trail, kept out of the replicated declarations (they
#: change no wire format). Created IF NOT EXISTS at every start, so databases made before them get them.
LOCAL_INDEXES = (
    # A period's crossings; it holds every column the dashboard counts by, so its queries never read the table.
    ("ix_gate_events_dashboard", "gate_events", ("compound_id", "at", "gate", "household_id", "direction", "decision",
                                                 "purpose", "temperature")),
    # Who is out right now: each resident's last allowed crossing, read from the index alone.
    ("ix_gate_events_resident_last", "gate_events", ("resident_id", "at", "decision", "direction", "gate")),
    ("ix_sync_log_row", "sync_log", ("row_id",)),  # one row's history, whichever its table
)


def create_local_indexes(engine):
    """Create the local indexes missing from this database (a first start after an upgrade builds them once)."""
    with engine.begin() as conn:
        for name, table, cols in LOCAL_INDEXES:
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(cols)})"))
