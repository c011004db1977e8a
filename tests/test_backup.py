"""Backups while the node works, restores, and a restored node recovering what the hub already had from it."""
import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from conftest import ADMIN, Replica
from menwei.store.backup import BackupError, backup, describe, restore
from menwei.cli import main
from node import create_app as create_node
from sync import recovery
from sync.http_client import SyncClient, SyncFailed


def _data_dir(cluster, node_id):
    """The node's data folder, with a menwei.cfg naming the database the cluster gave it (for the CLI)."""
    d = cluster.tmp / node_id
    d.mkdir(exist_ok=True)
    (d / "menwei.cfg").write_text(f"DATABASE_URL = 'sqlite:///{cluster.tmp}/{node_id}.db'\n")
    return str(d)


def _reopen(cluster, node_id):
    """Stop the node's app and start a new one on its database (as after `menwei node restore`)."""
    old = cluster.nodes[node_id]
    old.rt.store.engine.dispose()
    app = create_node({"DATABASE_URL": f"sqlite:///{cluster.tmp}/{node_id}.db", "CLOCK": old.clock,
                       "ADMIN_TOKEN": ADMIN, "SQLITE_SYNCHRONOUS": "NORMAL", "SYNC_TIMEOUT_S": 20},
                      instance_path=str(cluster.tmp / node_id))
    cluster.nodes[node_id] = Replica(app, old.clock)
    return cluster.nodes[node_id]


def _history(replica, origin):
    """Every change of ``origin`` a replica holds: {sequence number: (table, row id, stamp)}, checking none repeats."""
    with replica.rt.store.read() as tx:
        rows = tx.rows("SELECT oseq, tbl, row_id, hlc FROM sync_log WHERE origin = ?", (origin,))
        rows += tx.rows("SELECT _oseq, 'gate_events', id, _hlc FROM gate_events WHERE _origin = ?", (origin,))
    out = {r[0]: tuple(r[1:]) for r in rows}
    assert len(out) == len(rows), "a sequence number is used twice"
    return out


def _checks(gate, n, direction="in"):
    return [gate.check(resident_id=gate.li, direction=direction, health_code="green")["event_id"] for _ in range(n)]


@pytest.mark.parametrize("after_restore", [2, 9], ids=["fewer-than-lost", "more-than-lost"])
def test_a_node_restored_from_an_old_backup_loses_nothing_and_reuses_no_number(gate, runner, after_restore):
    cluster, hub = gate.cluster, gate.hub
    d = _data_dir(cluster, "east-gate")
    first = _checks(gate, 3)
    gate.sync()
    made = runner.invoke(main, ["node", "backup", "--to", str(cluster.tmp / "east.bak"), "--data-dir", d])
    assert made.exit_code == 0 and "backed up node east-gate" in made.output, made.output
    lost = _checks(gate, 5)
    gate.east.api("PATCH", f"/rows/residents/{gate.li}", json={"notes": "written after the backup"})
    gate.sync()
    assert len(_history(hub, "east-gate")) == 9
    # The laptop dies; a new one gets the old backup.
    gate.east.rt.store.engine.dispose()
    put = runner.invoke(main, ["node", "restore", "--from", str(cluster.tmp / "east.bak"), "--data-dir", d])
    assert put.exit_code == 0 and "restored node east-gate" in put.output, put.output
    east = gate.east = _reopen(cluster, "east-gate")
    assert len(_history(east, "east-gate")) == 3
    later = _checks(gate, after_restore)  # the gate works on before it syncs
    st = east.sync()
    assert st.pending == 0 and st.last_error is None
    pushed = st.pushed
    # Nothing lost, nothing twice, and every number means the same change on both sides.
    events = set(first + lost + later)
    assert set(hub.table("gate_events")) == events == set(east.table("gate_events"))
    theirs, ours = _history(hub, "east-gate"), _history(east, "east-gate")
    assert theirs == ours and sorted(theirs) == list(range(1, 10 + after_restore))
    notes = east.rt.catalog["residents"].field_names.index("notes")
    assert east.table("residents")[gate.li][notes] == "written after the backup"
    assert east.sync().pushed == pushed  # a second round has nothing to do
    assert _history(hub, "east-gate") == theirs


@pytest.mark.parametrize("writes_first", [True, False], ids=["writes-before-syncing", "nothing-to-send"])
def test_an_empty_database_under_a_reused_enrolment_does_not_resend_number_one(gate, runner, writes_first):
    cluster, hub = gate.cluster, gate.hub
    blank = cluster.tmp / "enrolled.bak"
    backup(str(cluster.tmp / "east-gate.db"), str(blank))  # no change of its own yet: only the enrolment
    with sqlite3.connect(blank) as conn:
        conn.execute("DELETE FROM sync_origins WHERE origin = 'east-gate'")
    before = _checks(gate, 4)
    gate.sync()
    gate.east.rt.store.engine.dispose()
    restore(str(blank), str(cluster.tmp / "east-gate.db"))
    east = gate.east = _reopen(cluster, "east-gate")
    assert east.replica.own_seq() == 0
    after = _checks(gate, 2) if writes_first else []
    east.sync()
    if not writes_first:  # the pull told it the hub has more of its changes than it knows of
        assert set(east.table("gate_events")) >= set(before)
        east.sync()
    theirs = _history(hub, "east-gate")
    assert sorted(theirs) == list(range(1, 5 + len(after))) and theirs == _history(east, "east-gate")
    assert set(hub.table("gate_events")) == set(before + after) == set(east.table("gate_events"))


def test_the_hub_refuses_a_push_that_reuses_a_number(gate):
    _checks(gate, 2)
    gate.sync()
    token = gate.east.rt.state("token")
    body = {"node_id": "east-gate", "schema_version": gate.hub.rt.catalog.schema_version, "clock_ms": gate.cluster.base(),
            "changes": [{"seq": 2, "hlc": 1, "table": "gate_events", "id": "00000000-0000-4000-8000-000000000001",
                         "data": {"compound_id": gate.cluster.compound_id, "gate": "east-gate", "direction": "in",
                                  "at": "2020-02-03T08:00:00", "decision": "allowed"}}]}
    r = requests.post(gate.cluster.server.url + "/sync/v1/push", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 409 and r.json()["code"] == "sequence_reused" and r.json()["hub_seq"] == 2
    assert len(gate.hub.table("gate_events")) == 2
    own = requests.get(gate.cluster.server.url + "/sync/v1/own", timeout=10, headers={"Authorization": f"Bearer {token}"},
                       params={"after": 1, "schema_version": body["schema_version"]}).json()
    assert [c["seq"] for c in own["changes"]] == [2] and own["node_seq"] == 2 and own["more"] is False
    bad = requests.get(gate.cluster.server.url + "/sync/v1/own", timeout=10, headers={"Authorization": f"Bearer {token}"},
                       params={"after": "-1", "schema_version": body["schema_version"]})
    assert bad.status_code == 400 and "after" in bad.json()["fields"]


# Writes until the test closes its stdin (a fixed count could end before the backups on a fast machine).
WRITER = textwrap.dedent("""
    import sys, threading, uuid
    from node import create_app
    app = create_app({"DATABASE_URL": sys.argv[1]}, instance_path=sys.argv[2])
    rep = app.extensions["menwei"].replica
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print("ready", flush=True)
    while not stop.is_set():
        rep.write([("gate_events", str(uuid.uuid4()), {"compound_id": "c", "gate": "g", "direction": "in",
                   "at": "2020-02-03T08:00:00", "decision": "allowed", "notes": "x" * 200}) for _ in range(50)],
                  create=True)
""")


def test_a_backup_taken_while_another_process_writes_is_whole_and_consistent(tmp_path):
    url, db = f"sqlite:///{tmp_path}/node.db", str(tmp_path / "node.db")
    app = create_node({"DATABASE_URL": url}, instance_path=str(tmp_path / "n"))
    with app.app_context():
        app.extensions["menwei"].save_enrolment("http://hub", {"node_id": "g", "compound_id": "c", "token": "t",
                                                               "hub_id": "hub"})
    app.extensions["menwei"].store.engine.dispose()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, url, str(tmp_path / "n")], stdout=subprocess.PIPE,
                              stdin=subprocess.PIPE, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        seen = []
        for i in range(6):
            time.sleep(0.15)
            info = backup(db, str(tmp_path / f"b{i}.bak"))
            with sqlite3.connect(tmp_path / f"b{i}.bak") as conn:
                events = conn.execute("SELECT COUNT(*), COALESCE(MAX(_oseq), 0) FROM gate_events").fetchone()
            assert events == (info["own_seq"], info["own_seq"])  # a snapshot: the counter and rows agree
            seen.append(info["own_seq"])
        assert writer.poll() is None, "the writer should still be running: the backups ran alongside it"
        writer.stdin.close()  # now it may stop
        assert writer.wait(30) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert seen == sorted(seen) and len(set(seen)) > 2  # taken at different moments while it wrote
    assert describe(str(tmp_path / "b5.bak"))["node_id"] == "g"


def test_restore_refuses_another_nodes_backup_and_damaged_files(tmp_path, runner):
    a = create_node({"DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}, instance_path=str(tmp_path / "a"))
    b = create_node({"DATABASE_URL": f"sqlite:///{tmp_path}/b.db"}, instance_path=str(tmp_path / "b"))
    for app, nid in ((a, "gate-a"), (b, "gate-b")):
        with app.app_context():
            app.extensions["menwei"].save_enrolment("http://hub", {"node_id": nid, "compound_id": "c", "token": "t",
                                                                   "hub_id": "hub"})
    backup(str(tmp_path / "a.db"), str(tmp_path / "a.bak"))
    with pytest.raises(BackupError, match="holds node gate-b but the backup is of node gate-a"):
        restore(str(tmp_path / "a.bak"), str(tmp_path / "b.db"))
    (tmp_path / "junk.bak").write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match="not a readable SQLite database|damaged"):
        restore(str(tmp_path / "junk.bak"), str(tmp_path / "b.db"))
    with pytest.raises(BackupError, match="only an SQLite"):
        from menwei.store.backup import sqlite_path
        sqlite_path("postgresql+psycopg://u@h/db")
    r = runner.invoke(main, ["node", "backup", "--to", str(tmp_path / "x.bak"), "--data-dir", str(tmp_path / "empty")])
    assert r.exit_code != 0 and "no database" in r.output


def test_a_recovery_cut_off_half_way_resumes_at_the_next_sync(gate):
    cluster, hub = gate.cluster, gate.hub
    backup(str(cluster.tmp / "east-gate.db"), str(cluster.tmp / "early.bak"))
    lost = _checks(gate, 7)
    gate.sync()
    gate.east.rt.store.engine.dispose()
    restore(str(cluster.tmp / "early.bak"), str(cluster.tmp / "east-gate.db"))
    east = gate.east = _reopen(cluster, "east-gate")
    later = _checks(gate, 8)
    with east.app.app_context():
        client = east.rt.sync_client()
    client.pull_limit = 2  # pages of two lost changes
    real, calls = client.own_changes, []

    def flaky(after, cursor):
        calls.append(after)
        if len(calls) == 3:
            raise requests.ConnectionError("the hub went away")
        return real(after, cursor)
    client.own_changes = flaky
    with pytest.raises(SyncFailed, match="unreachable"):
        east.sync()
    state = east.rt.state("recovery")
    assert state is not None and 0 < state["after"] < state["upto"] == 7  # some pages in, the rest to do
    assert len(_history(hub, "east-gate")) == 7  # nothing pushed meanwhile
    more = _checks(gate, 1)  # the gate still works mid-recovery
    east.sync()
    assert east.rt.state("recovery") is None
    theirs = _history(hub, "east-gate")
    assert sorted(theirs) == list(range(1, 17)) and theirs == _history(east, "east-gate")
    assert set(hub.table("gate_events")) == set(lost + later + more) == set(east.table("gate_events"))


@pytest.mark.parametrize("after_restore, cut", [(4, False), (7, False), (4, True)],
                         ids=["fewer-than-lost", "more-than-lost", "cut-after-its-snapshot"])
def test_a_node_restored_after_the_hub_compacted_its_lost_changes_recovers_from_a_snapshot(gate, runner, monkeypatch,
                                                                                          after_restore, cut):
    # With 7 new checks every number the hub holds is reused, and the change its reuse check would
    # compare was pruned: the push must still be refused, not taken as a resend and dropped.
    # Cut off after its snapshot, the recovery resumes past it: one snapshot, not a second.
    from test_compaction import hub_compact
    cluster, hub = gate.cluster, gate.hub
    d = _data_dir(cluster, "east-gate")
    first = _checks(gate, 2)
    gate.sync()
    assert runner.invoke(main, ["node", "backup", "--to", str(cluster.tmp / "east.bak"), "--data-dir", d]).exit_code == 0
    lost = _checks(gate, 3)
    for i in range(3):  # edits whose log entries the hub will prune: only its rows will remember them
        gate.east.api("PATCH", f"/rows/residents/{gate.li}", json={"notes": f"backup后第{i}次修改"})
    cluster.sync_all(rounds=3)  # every node pulls past them, so compaction may prune them
    assert hub_compact(cluster).log_entries > 0
    with hub.rt.store.read() as tx:
        assert tx.rows("SELECT COUNT(*) FROM sync_log WHERE origin = 'east-gate'")[0][0] == 0
    gate.east.rt.store.engine.dispose()
    assert runner.invoke(main, ["node", "restore", "--from", str(cluster.tmp / "east.bak"), "--data-dir", d]).exit_code == 0
    east = gate.east = _reopen(cluster, "east-gate")
    later = _checks(gate, after_restore)  # the restored gate works on before it syncs, reusing numbers the hub has
    gate.east.api("PATCH", f"/rows/residents/{gate.wang}", json={"notes": "恢复后的修改"})
    snapshots, real_bootstrap = [], SyncClient.bootstrap
    monkeypatch.setattr(SyncClient, "bootstrap", lambda client: snapshots.append(1) or real_bootstrap(client))
    if cut:
        def power_cut(*args):
            raise RuntimeError("power cut")
        with monkeypatch.context() as m:
            m.setattr(recovery, "move_to_log_end", power_cut)
            with pytest.raises(RuntimeError, match="power cut"):
                east.sync()
        assert snapshots == [1] and east.rt.state("recovery") is not None  # to be resumed
    st = east.sync()
    assert st.last_error is None and st.pending == 0
    assert snapshots == [1]
    pushed = east.sync().pushed
    cluster.sync_all()
    events = set(first + lost + later)
    for replica in (hub, east, cluster.nodes["building-20"]):
        assert set(replica.table("gate_events")) == events
        _history(replica, "east-gate")  # no number of east-gate's means two changes
        notes = replica.rt.catalog["residents"].field_names.index("notes")
        assert replica.table("residents")[gate.li][notes] == "backup后第2次修改"
        assert replica.table("residents")[gate.wang][notes] == "恢复后的修改"
    assert east.sync().pushed == pushed  # a further round has nothing to do


def test_a_restored_node_drops_a_row_of_its_own_the_hub_deleted_and_compacted(gate, runner):
    # The backup still holds the unsent create of a resident the hub later deleted and compacted away:
    # the hub refuses to raise it again and says so, and the node lets it go too.
    from test_compaction import hub_compact, live
    cluster, hub = gate.cluster, gate.hub
    d = _data_dir(cluster, "east-gate")
    r = gate.east.api("POST", "/rows/residents", json={"compound_id": cluster.compound_id,
                                                       "household_id": gate.h1702, "name": "新住户"})
    rid = r.get_json()["id"]
    assert runner.invoke(main, ["node", "backup", "--to", str(cluster.tmp / "east.bak"), "--data-dir", d]).exit_code == 0
    _checks(gate, 2)
    gate.sync()
    assert hub.api("DELETE", f"/rows/residents/{rid}").status_code == 200
    cluster.sync_all(rounds=3)
    assert hub_compact(cluster).tombstones == {"residents": 1}
    gate.east.rt.store.engine.dispose()
    assert runner.invoke(main, ["node", "restore", "--from", str(cluster.tmp / "east.bak"), "--data-dir", d]).exit_code == 0
    east = gate.east = _reopen(cluster, "east-gate")
    assert east.sync().last_error is None
    east.sync()
    cluster.sync_all()
    assert rid not in live(east)["residents"] and rid not in live(hub)["residents"]
    assert live(east)["residents"] == live(cluster.nodes["building-20"])["residents"] == live(hub)["residents"]


def test_a_page_of_own_changes_never_steps_over_one_committed_while_it_is_read(gate, monkeypatch):
    # On PostgreSQL each statement of a read sees a newer snapshot: were the page's end read after its
    # rows, a change committed between the two would lie behind the cursor and never be fetched back.
    from sync.ids import new_id
    hub, cid = gate.hub, gate.cluster.compound_id
    before = _checks(gate, 3)
    gate.sync()
    late, real = [], recovery.origin_log_rows

    def a_push_lands(tx, *args):
        rows = real(tx, *args)
        if not late:  # another push of east-gate's commits while the page is read
            late.append(new_id())
            hub.replica.apply_remote([{
                "seq": hub.replica.seen_seq("east-gate") + 1, "hlc": hub.replica.clock.now(),
                "table": "gate_events", "id": late[0],
                "data": {"compound_id": cid, "gate": "east-gate", "direction": "in", "at": "2020-02-10T08:00:00",
                         "resident_id": gate.li, "household_id": gate.h1702, "decision": "allowed"}}],
                origin="east-gate", contiguous=True)
        return rows
    monkeypatch.setattr(recovery, "origin_log_rows", a_push_lands)
    with gate.east.app.app_context():
        client = gate.east.rt.sync_client()
    first = client.own_changes(0, 0)
    assert [ch["id"] for ch in first["changes"]] == before and not first["more"]
    assert late, "no push landed: the page no longer reads through origin_log_rows"
    second = client.own_changes(0, first["cursor"])
    assert [ch["id"] for ch in second["changes"]] == late
