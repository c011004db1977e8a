"""The floors' SQLite set up as Menwei's own: the role's synchronous, page cache, WAL thresholds and the
background checkpointer, so a ratio to a floor measures Menwei's work, not a difference in settings."""
import tempfile

from flask import Flask
from sqlalchemy import create_engine

from menwei.config import load_config
from sync.sql_checkpoint import WalCheckpointer
from sync.sql_store import configure_sqlite

KEYS = ("SQLITE_SYNCHRONOUS", "SQLITE_CACHE_KB", "SQLITE_WAL_AUTOCHECKPOINT", "SQLITE_CHECKPOINT_ROWS")


def role_settings(role):
    """The SQLite settings a hub or node runs with (defaults, then MENWEI_* from the environment)."""
    config = load_config(Flask("floor", instance_path=tempfile.mkdtemp(prefix="menwei-floor-")), role)
    return {k: config[k] for k in KEYS}


class FloorDB:
    """An sqlite3 connection configured as the role's store is, with the same background checkpointer."""

    def __init__(self, path, settings):
        self.engine = create_engine(f"sqlite:///{path}")
        configure_sqlite(self.engine, settings["SQLITE_SYNCHRONOUS"], settings["SQLITE_CACHE_KB"],
                         settings["SQLITE_WAL_AUTOCHECKPOINT"])
        rows = settings["SQLITE_CHECKPOINT_ROWS"]
        self.checkpointer = WalCheckpointer(self.engine, rows) if rows else None
        self.raw = self.engine.raw_connection()
        self.con = self.raw.driver_connection  # autocommit (configure_sqlite): BEGIN and COMMIT are ours

    def commit_batch(self, groups):
        """Run ``{sql: rows}`` in one write transaction, then tell the checkpointer as the store does."""
        self.con.execute("BEGIN IMMEDIATE")
        n = 0
        for sql, rows in groups.items():
            self.con.executemany(sql, rows)
            n += len(rows)
        self.con.execute("COMMIT")
        if self.checkpointer:
            self.checkpointer.wrote(n)

    def close(self):
        """Close the connection and the engine."""
        self.raw.close()
        self.engine.dispose()


def describe(settings):
    """The settings as printed next to a floor."""
    return (f"synchronous={settings['SQLITE_SYNCHRONOUS']}, cache {settings['SQLITE_CACHE_KB']} KiB, "
            f"wal_autocheckpoint {settings['SQLITE_WAL_AUTOCHECKPOINT']} pages, background checkpoint every "
            f"{settings['SQLITE_CHECKPOINT_ROWS']} rows")
