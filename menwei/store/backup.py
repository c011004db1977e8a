"""Backups of a node's SQLite database with SQLite's online backup API, and restoring one.

The backup copies one consistent snapshot of every page while the node keeps serving: in WAL mode
the node's writers do not wait for it, nor it for them. A restored node may be behind what the
hub already has from it; its next sync notices and recovers (sync/recovery.py).
"""
import json
import os
import sqlite3
import time

from sqlalchemy.engine import make_url

from menwei.store.file_modes import private_file, secure_database


class BackupError(Exception):
    """A backup or restore could not be done; the message says why."""


def sqlite_path(database_url):
    """The file of an SQLite database URL; anything else cannot be backed up this way."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(f"only an SQLite database file can be backed up here, not {url.get_backend_name()} "
                          "(a PostgreSQL hub: use pg_dump)")
    return os.path.abspath(url.database)


def _connect(path):
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def describe(path):
    """What a database file holds: its node id, compound, schema revision and own change count."""
    if not os.path.isfile(path):
        raise BackupError(f"no such file: {path}")
    conn = _connect(path)
    try:
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{path} is damaged (SQLite's quick_check failed)")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "sync_state" not in tables:
            raise BackupError(f"{path} is not a Menwei database")
        state = {k: json.loads(v) for k, v in conn.execute(
            "SELECT key, value FROM sync_state WHERE key IN ('replica_id', 'compound_id')")}
        node = state.get("replica_id")
        seen = conn.execute("SELECT max_oseq FROM sync_origins WHERE origin = ?", (node,)).fetchone()
        rev = conn.execute("SELECT version_num FROM alembic_version").fetchone() \
            if "alembic_version" in tables else None
        return {"node_id": node, "compound_id": state.get("compound_id"),
                "own_seq": seen[0] if seen else 0, "revision": rev[0] if rev else "0001",
                "bytes": os.path.getsize(path)}
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path} is not a readable SQLite database: {e}") from None
    finally:
        conn.close()


def backup(db_path, to_path):
    """Copy the live database at ``db_path`` to ``to_path`` (a new file) and return describe() of it.

    Written to a temporary name first and renamed at the end, so a file at ``to_path`` is always a
    whole backup. The copy is switched out of WAL mode: it is one self-contained file.
    """
    if not os.path.isfile(db_path):
        raise BackupError(f"no database at {db_path}")
    to_path = os.path.abspath(to_path)
    if os.path.abspath(db_path) == to_path:
        raise BackupError("the backup cannot overwrite the database itself")
    os.makedirs(os.path.dirname(to_path), exist_ok=True)
    part = to_path + ".part"
    if os.path.exists(part):
        os.remove(part)
    src, dst = _connect(db_path), sqlite3.connect(part)
    try:
        src.backup(dst)  # pages=-1: every page in one step, so one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    private_file(part)  # a copy of the database holds what it holds: the same secrets
    os.replace(part, to_path)
    return describe(to_path)


def restore(from_path, db_path, force=False):
    """Replace the database at ``db_path`` by the backup ``from_path``; return (backup info, kept copy).

    The node must be stopped. The database replaced is kept next to it (``…replaced-<time>``).
    A backup of another node is refused unless ``force``: its identity would be taken over.
    """
    info = describe(from_path)
    if info["node_id"] is None:
        raise BackupError(f"{from_path} is of a node that was never enrolled: nothing to restore")
    kept = None
    if os.path.isfile(db_path):
        current = describe(db_path)
        if current["node_id"] not in (None, info["node_id"]) and not force:
            raise BackupError(f"this data directory holds node {current['node_id']} but the backup is of node "
                              f"{info['node_id']}: use an empty data directory, or --force to replace it")
        kept = f"{db_path}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
        backup(db_path, kept)
    os.makedirs(os.path.dirname(os.path.abspath(db_path)), exist_ok=True)
    src, dst = _connect(from_path), _connect(db_path)
    try:
        # Through SQLite, not a file copy: a -wal file left beside the old database cannot replay into the new one.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()
    secure_database(db_path)  # a restored database is as private as the one it replaces
    return info, kept
