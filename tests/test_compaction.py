"""Compaction: the hub prunes its log and tombstones only behind every active node; a stale node re-bootstraps."""
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import event

from hub.cli import hub_app
from menwei.cli import main
from menwei.runtime import runtime
from sync.compaction import compact
from test_bootstrap import state

DAY = 86_400_000


def hub_compact(c, retention_days=30, dry_run=False):
    rt = c.hub.rt
    return compact(rt.store, rt.catalog, rt.wall(), retention_days * DAY, 180 * DAY, dry_run=dry_run)


def live(node):
    """Every row but tombstones, with its versions."""
    return {t: {i: r for i, r in rows.items() if not (isinstance(r, list) and r[0].get("_deleted"))}
            for t, rows in state(node).items()}


def count(replica, sql, args=()):
    with replica.rt.store.read() as tx:
        return tx.rows(sql, args)[0][0]


def residents(c, n=4):
    hub = c.hub.replica
    hh = str(uuid.uuid4())
    hub.insert("households", hh, {"compound_id": c.compound_id, "building_id": "b", "room": "101"})
    ids = [str(uuid.uuid4()) for _ in range(n)]
    hub.write([("residents", r, {"compound_id": c.compound_id, "household_id": hh, "name": f"居民{i}"})
               for i, r in enumerate(ids)])
    return hh, ids


def test_nothing_a_node_has_not_pulled_is_pruned(cluster):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    _, ids = residents(cluster)
    cluster.sync_all()
    cluster.hub.replica.delete("residents", ids[0])
    east.sync()  # east has the delete; building 20, seen recently, has not pulled it yet
    report = hub_compact(cluster)
    assert report.log_entries > 0 and report.tombstones == {} and report.stale_nodes == []
    assert count(cluster.hub, "SELECT COUNT(*) FROM residents WHERE id = ?", (ids[0],)) == 1
    b20.sync()  # an ordinary pull, no re-bootstrap: nothing it needed was pruned
    b20.sync()  # a pull tells the hub the cursor it starts from: this one says the delete is in
    assert b20.replica.get_state("bootstrap") is None
    assert count(b20, "SELECT COUNT(*) FROM residents WHERE id = ? AND _deleted = ?", (ids[0], True)) == 1
    east.sync()
    dry = hub_compact(cluster, dry_run=True)
    assert dry.tombstones == {"residents": 1}
    assert count(cluster.hub, "SELECT COUNT(*) FROM residents WHERE id = ?", (ids[0],)) == 1  # a dry run keeps it
    assert hub_compact(cluster).tombstones == {"residents": 1}
    assert count(cluster.hub, "SELECT COUNT(*) FROM residents WHERE id = ?", (ids[0],)) == 0
    with cluster.hub.rt.store.read() as tx:
        low = tx.rows("SELECT MIN(seq) FROM sync_log")[0][0]
        assert low is None or low > min(east.replica.get_state("cursor"), b20.replica.get_state("cursor"))
    cluster.hub.replica.update("residents", ids[1], {"notes": "之后的修改"})
    cluster.sync_all()  # both keep pulling from where they were
    assert state(east) == state(b20)


def test_a_node_offline_past_retention_rebootstraps_learns_the_delete_and_keeps_its_outbox(cluster):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    hh, ids = residents(cluster)
    cluster.sync_all()
    cluster.base.advance(40 * DAY)  # building 20 is offline for 40 days
    cluster.hub.replica.delete("residents", ids[0])
    cluster.hub.replica.update("residents", ids[1], {"notes": "集中隔离"})
    east.sync()
    east.sync()
    # Meanwhile building 20 works offline: a new resident, edits of a live row and of the deleted one.
    new = str(uuid.uuid4())
    b20.replica.insert("residents", new, {"compound_id": cluster.compound_id, "household_id": hh, "name": "新住户"})
    b20.replica.update("residents", ids[1], {"phone": "13900000000"})
    b20.replica.update("residents", ids[0], {"notes": "不知道已删除"})
    report = hub_compact(cluster)
    assert report.stale_nodes == ["building-20"] and report.tombstones == {"residents": 1}

    with b20.app.app_context():
        client = runtime().sync_client()
        client.pull()  # HTTP 410 rebootstrap, then a snapshot, with the outbox still unsent
        assert client.pending() == 3
    assert count(b20, "SELECT COUNT(*) FROM residents WHERE id = ?", (ids[0],)) == 0  # the delete is learnt
    assert count(b20, "SELECT COUNT(*) FROM residents WHERE id = ?", (new,)) == 1  # its own new row stays
    assert b20.replica.get_state("bootstrap") is None

    b20.sync()  # the outbox goes up: the edit of the vanished row is dropped, not raised as a headless row
    assert count(cluster.hub, "SELECT COUNT(*) FROM residents WHERE id = ?", (ids[0],)) == 0
    east.sync()
    assert state(b20) == state(cluster.hub)  # the hub holds no tombstone of the pruned row either
    assert live(east) == live(b20)  # east still keeps its tombstone: nodes never prune
    row = state(east)["residents"][ids[1]][0]
    assert (row["notes"], row["phone"]) == ("集中隔离", "13900000000")
    assert new in state(east)["residents"]


def test_a_never_synced_node_after_compaction_is_told_to_rebootstrap(cluster):
    residents(cluster)
    cluster.sync_all()
    assert hub_compact(cluster).log_entries > 0
    late = cluster.add_node("late")  # enrolled without a snapshot: its first pull starts at 0
    with late.app.app_context():
        client = runtime().sync_client()
    r = requests.get(f"{cluster.server.url}/sync/v1/pull", headers=client._headers(), timeout=10,
                     params={"cursor": 0, "schema_version": client.schema_version})
    assert r.status_code == 410 and r.json()["code"] == "rebootstrap"
    late.sync()
    assert state(late) == state(cluster.nodes["east-gate"])


def test_compact_command_prunes_the_log_tombstones_and_old_visits(runner, tmp_path):
    d = str(tmp_path / "hub")
    app = hub_app(d)
    with app.app_context():
        rt = runtime()
        cid = str(uuid.uuid4())
        rt.replica.insert("compounds", cid, {"name": "x"})
        rt.replica.insert("buildings", "b-1", {"compound_id": cid, "number": "1"})
        rt.replica.delete("buildings", "b-1")
        rt.registry.add("east-gate", cid)
        rt.registry.record_contact("east-gate", "push", None, 3, 0)
        with rt.store.write() as tx:
            tx.execute("UPDATE sync_contacts SET at_ms = 1, until_ms = 1")
    dry = runner.invoke(main, ["hub", "compact", "--dry-run", "--data-dir", d])
    assert dry.exit_code == 0, dry.output
    assert "would prune 3 change-log entries, 1 tombstones (1 buildings) and 1 node visits" in dry.output
    real = runner.invoke(main, ["hub", "compact", "--contacts-days", "1", "--data-dir", d])
    assert "pruned 3 change-log entries, 1 tombstones (1 buildings) and 1 node visits" in real.output
    again = runner.invoke(main, ["hub", "compact", "--data-dir", d])
    assert "pruned 0 change-log entries, 0 tombstones and 0 node visits" in again.output
    bad = runner.invoke(main, ["hub", "compact", "--retention-days", "-1", "--data-dir", d])
    assert bad.exit_code != 0 and "--retention-days" in bad.output
    helptext = runner.invoke(main, ["hub", "compact", "--help"]).output
    for opt in ("--retention-days", "--contacts-days", "--dry-run", "--data-dir"):
        assert opt in helptext


def test_an_edit_made_before_a_delete_and_pushed_after_compaction_does_not_raise_the_row_again(cluster):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    hh, ids = residents(cluster)
    cluster.sync_all()
    # East rewrites the whole record (every required field), but its push fails: the hub is away.
    east.replica.update("residents", ids[0], {"compound_id": cluster.compound_id, "household_id": hh,
                                               "name": "居民0", "notes": "整条重填"})
    cluster.hub.replica.delete("residents", ids[0])
    with east.app.app_context():
        runtime().sync_client().pull()  # east takes the delete in (its edit still queued) …
    b20.sync()
    b20.sync()
    with east.app.app_context():
        runtime().sync_client().pull()  # … and its cursor says so: compaction removes the tombstone
    assert hub_compact(cluster).tombstones == {"residents": 1}
    east.sync()  # the old edit arrives: dropped, not a resident raised from the dead
    assert count(cluster.hub, "SELECT COUNT(*) FROM residents WHERE id = ?", (ids[0],)) == 0
    cluster.sync_all()
    for node in (east, b20):
        assert ids[0] not in live(node)["residents"]
    assert live(east) == live(b20) == live(cluster.hub)


def test_a_stale_node_keeps_only_the_rows_it_created_itself_when_the_snapshot_lacks_them(cluster):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    hh, ids = residents(cluster)
    cluster.sync_all()
    cluster.base.advance(40 * DAY)  # building 20 is offline for 40 days
    cluster.hub.replica.delete("residents", ids[0])
    east.sync()
    east.sync()
    full = {"compound_id": cluster.compound_id, "household_id": hh, "name": "居民0", "notes": "整条重填"}
    b20.replica.update("residents", ids[0], full)  # a full rewrite of a row deleted meanwhile
    new = str(uuid.uuid4())
    b20.replica.insert("residents", new, {**full, "name": "新住户"})  # and a row of its own
    assert hub_compact(cluster).tombstones == {"residents": 1}
    b20.sync()  # 410, snapshot, then its outbox goes up
    b20.sync()
    east.sync()
    assert ids[0] not in live(b20)["residents"] and new in live(b20)["residents"]
    assert live(east) == live(b20) == live(cluster.hub)


def test_compaction_prunes_a_chunk_per_transaction_and_reports_progress(cluster):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    _, ids = residents(cluster, n=10)
    for r in ids[:4]:
        cluster.hub.replica.delete("residents", r)
    cluster.sync_all(rounds=3)
    dry = hub_compact(cluster, dry_run=True)
    rt, seen = cluster.hub.rt, []
    report = compact(rt.store, rt.catalog, rt.wall(), 30 * DAY, 180 * DAY, chunk=3,
                     progress=lambda done, total: seen.append((done, total)))
    assert (report.log_entries, report.tombstones, report.horizons) == (dry.log_entries, dry.tombstones, dry.horizons)
    assert len(seen) == -(-report.log_entries // 3) and seen[-1] == (report.log_entries, report.log_entries)
    assert [d for d, _ in seen] == sorted({d for d, _ in seen})  # one step per chunk, always forward
    with rt.store.read() as tx:
        assert tx.get_state(f"pruned:{cluster.compound_id}") == report.horizons[cluster.compound_id]
    cluster.hub.replica.update("residents", ids[5], {"notes": "压缩之后"})
    cluster.sync_all()
    assert live(east) == live(b20) == live(cluster.hub) and b20.replica.get_state("bootstrap") is None


class Paused:
    """A store whose first query inside a transaction calls ``during()`` first, the transaction open."""

    def __init__(self, store, during):
        self.store, self.during, self.fired = store, during, False

    @contextmanager
    def _hooked(self, opened):
        with opened as tx:
            yield _HookedTxn(tx, self)

    def read(self, *args, **kw):
        return self._hooked(self.store.read(*args, **kw))

    def write(self):
        return self._hooked(self.store.write())


class _HookedTxn:
    def __init__(self, tx, owner):
        self._tx, self._owner = tx, owner

    def __getattr__(self, name):
        return getattr(self._tx, name)

    def rows(self, sql, params=()):
        if not self._owner.fired:
            self._owner.fired = True
            self._owner.during()
        return self._tx.rows(sql, params)


def test_a_dry_run_takes_no_write_lock_so_a_node_pushes_during_it(cluster):
    east = cluster.nodes["east-gate"]
    _, ids = residents(cluster)
    cluster.hub.replica.delete("residents", ids[0])
    cluster.sync_all()
    east.replica.update("residents", ids[1], {"notes": "演练时推送"})
    rt, pushed, statements, main = cluster.hub.rt, [], [], threading.get_ident()

    def push_meanwhile():
        t = threading.Thread(target=east.sync)
        t0 = time.monotonic()
        t.start()
        t.join(10)  # a push takes well under a second; one waiting for the write lock hangs on
        pushed.append((not t.is_alive(), time.monotonic() - t0))
        push_meanwhile.thread = t

    def record(conn, cursor, statement, *args):
        if threading.get_ident() == main:
            statements.append(statement.split(None, 1)[0].upper())

    event.listen(rt.store.engine, "before_cursor_execute", record)
    try:
        dry = compact(Paused(rt.store, push_meanwhile), rt.catalog, rt.wall(), 30 * DAY, 180 * DAY, dry_run=True)
    finally:
        event.remove(rt.store.engine, "before_cursor_execute", record)
        push_meanwhile.thread.join()
    assert len(pushed) == 1, "the dry run ran no query"
    assert pushed[0][0], f"the push waited {pushed[0][1]:.1f} s for the dry run's write lock"
    assert not {"DELETE", "INSERT", "UPDATE", "SAVEPOINT"} & set(statements), statements
    assert dry.log_entries > 0 and dry.tombstones == {"residents": 1}
    assert count(cluster.hub, "SELECT COUNT(*) FROM residents WHERE id = ? AND notes = ?", (ids[1], "演练时推送")) == 1


def _all_pulled(c, ids, _hh):
    for r in ids[:3]:
        c.hub.replica.delete("residents", r)
    c.sync_all(rounds=3)


def _a_node_behind(c, ids, _hh):
    c.hub.replica.delete("residents", ids[0])
    c.sync_all(rounds=3)
    c.hub.replica.delete("residents", ids[1])  # only east pulls this delete and that edit
    c.hub.replica.update("residents", ids[2], {"notes": "之后"})
    east = c.nodes["east-gate"]
    east.sync()
    east.sync()


def _a_stale_node_and_old_visits(c, ids, _hh):
    c.sync_all()
    c.base.advance(40 * DAY)  # building 20 stays away past retention; its visits age out of the diary
    c.hub.replica.delete("residents", ids[0])
    east = c.nodes["east-gate"]
    east.sync()
    east.sync()


def _two_compounds_and_shared_rows(c, ids, hh):
    other = c.hub.api("POST", "/rows/compounds", json={"name": "第二小区"}).get_json()["id"]
    _a_node_behind(c, ids, hh)
    c.hub.replica.insert("buildings", "b-2", {"compound_id": other, "number": "2"})  # a compound no node serves
    c.hub.replica.delete("buildings", "b-2")
    c.hub.replica.delete("residents", ids[3])
    with c.hub.rt.store.write() as tx:  # histories in the shared scope, as an unscoped table's would be
        tx.execute("UPDATE sync_log SET scope = NULL WHERE row_id IN (?, ?)", (ids[0], ids[3]))


@pytest.mark.parametrize("shape", [_all_pulled, _a_node_behind, _a_stale_node_and_old_visits,
                                   _two_compounds_and_shared_rows], ids=lambda f: f.__name__.strip("_"))
def test_a_dry_run_reports_what_the_real_run_after_it_prunes(cluster, shape):
    hh, ids = residents(cluster, n=6)
    shape(cluster, ids, hh)
    rt = cluster.hub.rt
    for _ in range(2):  # then again, with what the first run left
        args = (rt.store, rt.catalog, rt.wall(), 30 * DAY, DAY)
        dry = compact(*args, dry_run=True)
        assert compact(*args, chunk=2) == dry
