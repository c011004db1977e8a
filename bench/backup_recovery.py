"""Benchmark: backup, restore, schema upgrade and post-restore recovery of a gate node with a month of events.

Each figure is printed next to a baseline measured in the same run:
- online backup while another thread keeps writing  vs  a plain file copy of the idle database;
- upgrading a database at the previous revision (0002 adds a column to gate_events)  vs  opening one at the head;
- a restored node fetching back K changes it lost and renumbering what it wrote since  vs  a normal pull of
  K other nodes' changes.
Run: .venv/bin/python bench/backup_recovery.py [--events N] [--lost K]
"""
import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

from alembic import command
from sqlalchemy import create_engine

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from conftest import Cluster  # noqa: E402
from menwei.store import migrate  # noqa: E402
from menwei.store.backup import backup, restore  # noqa: E402
from node import create_app as create_node  # noqa: E402
from sync.clock import HybridClock  # noqa: E402
from sync.replica import Replica  # noqa: E402
from sync.sql_store import SqlStore, configure_sqlite  # noqa: E402
from test_migrations import _old_catalog  # noqa: E402
from sync.ids import new_id  # noqa: E402


def events(cid, gate, n, start=0):
    """n gate events of one gate."""
    return [("gate_events", new_id(), {
        "compound_id": cid, "gate": gate, "direction": "out" if i % 2 else "in", "decision": "allowed",
        "at": f"2020-02-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00", "temperature": 36.5, "reasons": [],
        "person_name": f"住户{i}"}) for i in range(start, start + n)]


def write_all(rep, writes, batch=20_000):
    """Write in batches as a busy gate does over a month."""
    for i in range(0, len(writes), batch):
        rep.write(writes[i:i + batch], create=True)


def timed(fn):
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_backup(tmp, n):
    app = create_node({"DATABASE_URL": f"sqlite:///{tmp}/b.db"}, instance_path=f"{tmp}/b")
    app.extensions["menwei"].save_enrolment("http://127.0.0.1:9", {"node_id": "g", "compound_id": "c",
                                                                   "token": "offline", "hub_id": "hub"})
    rep = app.extensions["menwei"].replica
    write_all(rep, events("c", "g", n))
    copy_s, _ = timed(lambda: shutil.copyfile(f"{tmp}/b.db", f"{tmp}/copy.db"))
    stop, written = threading.Event(), []

    def writer():
        while not stop.is_set():
            rep.write(events("c", "g", 50, 10**9 + len(written) * 50), create=True)
            written.append(50)
    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.2)
    backup_s, info = timed(lambda: backup(f"{tmp}/b.db", f"{tmp}/b.bak"))
    stop.set()
    t.join()
    restore_s, _ = timed(lambda: restore(f"{tmp}/b.bak", f"{tmp}/r.db"))
    size = os.path.getsize(f"{tmp}/b.bak") / 1e6
    print(f"backup of {n:,} events ({size:.0f} MB) while writing: {backup_s:.2f} s, {sum(written):,} events written "
          f"meanwhile | baseline: file copy of the idle database {copy_s:.2f} s | restore {restore_s:.2f} s")


def bench_upgrade(tmp, n):
    prev = migrate.scripts().get_revision(migrate.head()).down_revision
    engine = create_engine(f"sqlite:///{tmp}/u.db")
    configure_sqlite(engine)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), prev)
    old = _old_catalog(engine)
    write_all(Replica(SqlStore(engine, old), old, "g", HybridClock()), events("c", "g", n))
    engine.dispose()
    up_s, _ = timed(lambda: create_node({"DATABASE_URL": f"sqlite:///{tmp}/u.db", "AUTO_UPGRADE": True},
                                        instance_path=f"{tmp}/u"))
    again_s, _ = timed(lambda: create_node({"DATABASE_URL": f"sqlite:///{tmp}/u.db"}, instance_path=f"{tmp}/u"))
    print(f"node start upgrading {prev}→{migrate.head()} with {n:,} events (backup copy first, then ADD COLUMN): "
          f"{up_s:.2f} s | baseline: start at the head {again_s:.2f} s")


def bench_recovery(tmp, lost):
    from pathlib import Path
    (Path(tmp) / "cluster").mkdir()
    c = Cluster(Path(tmp) / "cluster", node_ids=("east-gate", "west-gate"), start_ms=None,
                hub_config={"SQLITE_SYNCHRONOUS": "NORMAL"})
    try:
        east, west = c.nodes["east-gate"], c.nodes["west-gate"]
        backup(f"{c.tmp}/east-gate.db", f"{tmp}/east.bak")
        write_all(east.replica, events(c.compound_id, "east-gate", lost))
        write_all(west.replica, events(c.compound_id, "west-gate", lost))
        west.sync()
        pull_s, _ = timed(east.sync)  # pushes its K, pulls west's K: the baseline minus the push below
        east.rt.store.engine.dispose()
        restore(f"{tmp}/east.bak", f"{c.tmp}/east-gate.db")
        from conftest import Replica as R
        app = create_node({"DATABASE_URL": f"sqlite:///{c.tmp}/east-gate.db", "CLOCK": east.clock,
                           "SQLITE_SYNCHRONOUS": "NORMAL"}, instance_path=str(c.tmp / "east-gate"))
        east = R(app, east.clock)
        write_all(east.replica, events(c.compound_id, "east-gate", 100, 10**8))
        rec_s, _ = timed(east.sync)  # fetches back its K, renumbers 100, pushes them, pulls west's K again
        print(f"restored node recovering {lost:,} lost events and renumbering 100 (+ pulling {lost:,} again): "
              f"{rec_s:.2f} s | baseline: a normal round pushing {lost:,} and pulling {lost:,}: {pull_s:.2f} s")
    finally:
        c.close()


def main():
    """Run the three benchmarks on temporary databases."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300_000, help="gate events in the node database")
    ap.add_argument("--lost", type=int, default=20_000, help="events a restored node lost")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_backup(tmp, args.events)
        bench_upgrade(tmp, args.events)
        bench_recovery(tmp, args.lost)


if __name__ == "__main__":
    main()
