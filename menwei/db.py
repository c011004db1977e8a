"""The database extension, created once and bound to each app in its factory."""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Column, String, Table

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
