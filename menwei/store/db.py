"""The database extension, created once and bound to each app in its factory."""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from sync.sql_store import build_metadata

from menwei.tables import CATALOG

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

#: Local: whole local days of gate-event aggregates for the dashboard (menwei/reports/dashboard_cache.py), each
#: valid as of the log position it was read at.
dashboard_days = Table("dashboard_days", db.metadata,
                       Column("compound_id", String(64), primary_key=True),
                       Column("tz", String(64), primary_key=True),
                       Column("day", String(10), primary_key=True),
                       Column("log_seq", BigInteger, nullable=False),
                       Column("payload", Text, nullable=False))

#: Local indexes for the dashboard and the audit trail, kept out of the replicated declarations (they
#: change no wire format); created by the migrations like every table.
# A period's crossings; it holds every column the dashboard counts by, so its queries never read the table.
Index("ix_gate_events_dashboard", *(db.metadata.tables["gate_events"].c[c] for c in (
    "compound_id", "at", "gate", "household_id", "direction", "decision", "purpose", "temperature")))
# Who is out right now: each resident's last allowed crossing, read from the index alone.
Index("ix_gate_events_resident_last", *(db.metadata.tables["gate_events"].c[c] for c in (
    "resident_id", "at", "decision", "direction", "gate")))
Index("ix_sync_log_row", db.metadata.tables["sync_log"].c.row_id)  # one row's history, whichever its table
