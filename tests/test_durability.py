"""Durability settings: an answered write must survive a power cut, which rests on the database's own
settings, not on the process staying alive (a SIGKILL keeps the OS page cache; see tests/test_crashes.py).
These tests read the settings back from the connections hub and node really use, with their default config."""
import pytest

from conftest import hub_database_url
from hub import create_app as create_hub
from node import create_app as create_node

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def _sqlite_settings(engine):
    """journal_mode and synchronous of two fresh connections from the app's own pool."""
    seen = []
    for _ in range(2):
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            seen.append((cur.execute("PRAGMA journal_mode").fetchone()[0], cur.execute("PRAGMA synchronous").fetchone()[0]))
        finally:
            raw.invalidate()  # the next one is a new connection, configured anew
    return seen


def test_node_database_is_wal_with_full_sync_on_every_connection(tmp_path):
    rt = create_node(instance_path=str(tmp_path / "node")).extensions["menwei"]
    assert _sqlite_settings(rt.store.engine) == [("wal", FULL)] * 2


@pytest.mark.sqlite_only("the default SQLite hub")
def test_sqlite_hub_database_is_wal_with_full_sync_on_every_connection(tmp_path):
    rt = create_hub(instance_path=str(tmp_path / "hub")).extensions["menwei"]
    assert _sqlite_settings(rt.store.engine) == [("wal", FULL)] * 2


def test_hub_database_commits_durably(tmp_path):
    """The test hub's database (PostgreSQL in that pass): commits wait for the disk."""
    rt = create_hub({"DATABASE_URL": hub_database_url(tmp_path)}, instance_path=str(tmp_path / "hub")).extensions["menwei"]
    if rt.store.engine.dialect.name == "sqlite":
        assert _sqlite_settings(rt.store.engine) == [("wal", FULL)] * 2
        return
    with rt.store.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        assert conn.exec_driver_sql("SHOW fsync").scalar() == "on"
