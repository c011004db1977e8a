"""The background WAL checkpoint: big writes reach the database file without a commit waiting for the copy."""
import shutil
import sqlite3
import time
import uuid

from hub import create_app as create_hub
from sync.compaction import compact
from sync.sql_checkpoint import WalCheckpointer


def _events(compound_id, n):
    return [("gate_events", str(uuid.uuid4()), {"compound_id": compound_id, "gate": "east-gate", "direction": "out",
                                                 "at": "2020-02-04T08:30:00", "decision": "allowed"})
            for _ in range(n)]


def _hub(tmp_path, **config):
    return create_hub({"DATABASE_URL": f"sqlite:///{tmp_path}/hub.db", "ADMIN_TOKEN": "t", **config},
                      instance_path=str(tmp_path / "hub"))


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_big_write_reaches_the_database_file_in_the_background(tmp_path):
    # SQLite's own checkpoint would wait for 100,000 pages: only the background one can have copied these.
    app = _hub(tmp_path, SQLITE_CHECKPOINT_ROWS=300, SQLITE_WAL_AUTOCHECKPOINT=100_000)
    rt = app.extensions["menwei"]
    cid = rt.replica.insert("compounds", str(uuid.uuid4()), {"name": "绿景水岸小区"})["id"]
    rt.replica.write(_events(cid, 500))
    _wait(lambda: rt.store.checkpointer.runs >= 1)
    shutil.copy(tmp_path / "hub.db", tmp_path / "copy.db")  # the main file alone, without its WAL
    con = sqlite3.connect(tmp_path / "copy.db")
    assert con.execute("SELECT count(*) FROM gate_events").fetchone()[0] == 500
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_small_writes_wait_for_the_threshold_or_a_quiet_moment(tmp_path):
    app = _hub(tmp_path, SQLITE_CHECKPOINT_ROWS=1000, SQLITE_WAL_AUTOCHECKPOINT=100_000)
    rt = app.extensions["menwei"]
    quick = rt.store.checkpointer = WalCheckpointer(rt.store.engine, rows=1000, idle_s=0.3)
    cid = rt.replica.insert("compounds", str(uuid.uuid4()), {"name": "绿景水岸小区"})["id"]
    rt.replica.write(_events(cid, 10))
    assert quick.runs == 0  # ten rows: no copy right after the commit
    _wait(lambda: quick.runs == 1)  # … but once writes go quiet
    _wait(lambda: quick._thread is None)  # and the thread ends until the next write
    rt.replica.write(_events(cid, 1000))
    _wait(lambda: quick.runs == 2)


def test_compaction_deletes_reach_the_database_file_in_the_background(tmp_path):
    # Pruning the log writes as many WAL pages as filling it did: the checkpointer hears of deleted rows too.
    app = _hub(tmp_path, SQLITE_CHECKPOINT_ROWS=1000, SQLITE_WAL_AUTOCHECKPOINT=100_000)
    rt = app.extensions["menwei"]
    cid = rt.replica.insert("compounds", str(uuid.uuid4()), {"name": "绿景水岸小区"})["id"]
    rt.replica.write([("buildings", str(uuid.uuid4()), {"compound_id": cid, "number": str(i), "name": f"{i}栋"})
                      for i in range(600)])
    quiet = rt.store.checkpointer = WalCheckpointer(rt.store.engine, rows=500, idle_s=600)  # the threshold only
    report = compact(rt.store, rt.catalog, rt.replica.clock.wall(), 0, 0)
    assert report.log_entries >= 600
    _wait(lambda: quiet.runs == 1)
    shutil.copy(tmp_path / "hub.db", tmp_path / "copy.db")  # the main file alone, without its WAL
    con = sqlite3.connect(tmp_path / "copy.db")
    assert con.execute("SELECT count(*) FROM sync_log").fetchone()[0] == 0
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_no_checkpoint_thread_when_switched_off(tmp_path):
    app = _hub(tmp_path, SQLITE_CHECKPOINT_ROWS=0)
    assert app.extensions["menwei"].store.checkpointer is None
