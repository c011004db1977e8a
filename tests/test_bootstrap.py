"""Bootstrap by snapshot: a new node gets its compound's current rows, field versions and a cursor, not the history."""
import uuid

import pytest
import requests

from menwei.cli import main
from menwei.runtime import runtime
from sync.http_client import SyncFailed

SMALL_PAGES = {"PULL_LIMIT": 7}  # many pages per table: paging and its key ranges are exercised


def build_history(c):
    """Buildings, households and residents made at the hub, edited at both gates (a conflict), one deleted,
    gate events at the east gate, and a second compound the nodes must not receive."""
    hub, east, b20 = c.hub.replica, c.nodes["east-gate"].replica, c.nodes["building-20"].replica
    cid = c.compound_id
    other = c.hub.api("POST", "/rows/compounds", json={"name": "另一个小区"}).get_json()["id"]
    b = str(uuid.uuid4())
    hub.insert("buildings", b, {"compound_id": cid, "number": "20"})
    hh = [str(uuid.uuid4()) for _ in range(5)]
    hub.write([("households", h, {"compound_id": cid, "building_id": b, "room": f"{i}01"}) for i, h in enumerate(hh)])
    res = [str(uuid.uuid4()) for _ in range(30)]
    hub.write([("residents", r, {"compound_id": cid, "household_id": hh[i % 5], "name": f"居民{i}",
                                 "phone": f"1380000{i:04d}", "party_member": i % 3 == 0}) for i, r in enumerate(res)])
    hub.insert("residents", str(uuid.uuid4()), {"compound_id": other, "household_id": "x", "name": "外人"})
    c.sync_all()
    c.base.advance(1000)
    east.update("residents", res[0], {"notes": "东门说"})
    b20.update("residents", res[0], {"notes": "20栋说"})  # concurrent with east's: a conflict
    b20.update("households", hh[1], {"notes": "有老人\t需要照顾"})
    east.write([("gate_events", str(uuid.uuid4()), {"compound_id": cid, "gate": "east", "direction": "out",
                                                    "at": f"2020-02-04T08:{i:02d}:00", "decision": "allowed",
                                                    "household_id": hh[i % 5], "reasons": ["ok", i],
                                                    "temperature": 36.5}) for i in range(25)])
    hub.delete("residents", res[1])
    c.base.advance(1000)
    c.sync_all()
    return {"residents": res, "households": hh, "other": other}


def state(node):
    """Every row of every table with its field versions (mutable) or its origin, sequence and stamp (append-only)."""
    out = {}
    with node.rt.store.read() as tx:
        for t in node.rt.catalog:
            if t.append_only:
                rows = tx.rows(f"SELECT id, _origin, _oseq, _hlc, {', '.join(t.field_names)} FROM {t.name}")
                out[t.name] = {r[0]: tuple(r[1:]) for r in rows}
            else:
                out[t.name] = tx.load_rows(t.name, [r[0] for r in tx.rows(f"SELECT id FROM {t.name}")])
    return out


def bootstrap(node):
    with node.app.app_context():
        return runtime().sync_client().bootstrap()


def test_snapshot_gives_exactly_the_rows_and_versions_replay_gives_and_later_edits_merge(cluster):
    ids = build_history(cluster)
    replayed = cluster.add_node("late-replay", config=SMALL_PAGES)
    replayed.sync()
    snap = cluster.add_node("late-snapshot", config=SMALL_PAGES)
    got = bootstrap(snap)
    assert got == sum(len(rows) for rows in state(replayed).values())
    assert state(snap) == state(replayed)
    assert state(snap) == state(cluster.nodes["east-gate"])
    assert ids["other"] not in state(snap)["compounds"]
    with snap.rt.store.read() as tx, cluster.hub.rt.store.read() as hub_tx:
        assert tx.get_state("cursor") == hub_tx.log_end()
        assert tx.rows("SELECT COUNT(*) FROM sync_log")[0][0] == 0  # no history was replayed
    assert snap.sync().pulled == 0  # the cursor is where the log ends: nothing is delivered twice

    res = ids["residents"]
    before = len(cluster.hub.conflicts())
    snap.replica.update("residents", res[0], {"notes": "后来的"})  # it knew the current version: no conflict
    cluster.hub.replica.update("residents", res[2], {"phone": "13900000000"})
    snap.replica.update("residents", res[2], {"name": "改名"})
    replayed.replica.update("residents", res[3], {"notes": "replay"})
    snap.replica.update("residents", res[3], {"notes": "snapshot"})  # concurrent: one conflict
    for _ in range(2):
        for n in (snap, replayed, *cluster.nodes.values()):
            n.sync()
    after = cluster.hub.conflicts()
    assert len(after) == before + 1 and sum(c["row_id"] == res[3] for c in after) == 1
    final = state(snap)
    for n in (replayed, cluster.nodes["east-gate"], cluster.nodes["building-20"]):
        assert state(n) == final
    row = final["residents"][res[2]][0]
    assert (row["name"], row["phone"], final["residents"][res[0]][0]["notes"]) == ("改名", "13900000000", "后来的")


def test_an_interrupted_bootstrap_resumes_where_it_stopped(cluster, monkeypatch):
    build_history(cluster)
    replayed = cluster.add_node("late-replay")
    replayed.sync()
    snap = cluster.add_node("late-snapshot", config=SMALL_PAGES)
    with snap.app.app_context():
        client = runtime().sync_client()
    real_get, calls = client.http.get, []

    def flaky(url, **kw):
        params = kw.get("params", {})
        calls.append((params.get("table"), params.get("after")))
        if len(calls) == 5:
            raise requests.ConnectionError("cable pulled")
        return real_get(url, **kw)

    monkeypatch.setattr(client.http, "get", flaky)
    with pytest.raises(requests.ConnectionError):
        client.bootstrap()
    saved = snap.replica.get_state("bootstrap")
    assert (saved["table"], saved["after"]) == calls[4] and saved["cursor"] > 0
    snap.sync()  # the next round finishes the snapshot, then pulls
    assert snap.replica.get_state("bootstrap") is None
    assert state(snap) == state(replayed)
    assert calls[5] == calls[4]  # it resumed where it stopped, not from the start


def test_enroll_command_bootstraps_by_snapshot(cluster, runner, tmp_path):
    build_history(cluster)
    code = cluster.hub.api("POST", "/nodes", json={"id": "west-gate", "compound_id": cluster.compound_id}).get_json()
    d = str(tmp_path / "west")
    r = runner.invoke(main, ["node", "enroll", "--hub", cluster.server.url, "--code", code["code"], "--data-dir", d])
    assert r.exit_code == 0, r.output
    assert "took in" in r.output
    from node import create_app as create_node
    rt = create_node(instance_path=d).extensions["menwei"]
    with rt.store.read() as tx:
        assert tx.rows("SELECT COUNT(*) FROM residents")[0][0] == 30
        assert tx.rows("SELECT COUNT(*) FROM gate_events")[0][0] == 25
        assert tx.rows("SELECT COUNT(*) FROM sync_log")[0][0] == 0
        assert tx.get_state("bootstrap") is None and tx.get_state("cursor") > 0


@pytest.mark.parametrize("query, field", [
    ("table=nope", "table"), ("after=abc", "after"), ("table=gate_events&after=abc", "after"),
    ("limit=0", "limit"), ("", "schema_version"),
])
def test_bad_snapshot_requests_get_400_naming_the_field(cluster, query, field):
    with cluster.nodes["east-gate"].app.app_context():
        client = runtime().sync_client()
    sv = f"schema_version={client.schema_version}&" if field != "schema_version" else ""
    r = requests.get(f"{cluster.server.url}/sync/v1/snapshot?{sv}{query}", headers=client._headers(), timeout=10)
    assert r.status_code == 400 and field in r.json()["fields"], r.text
    anon = requests.get(f"{cluster.server.url}/sync/v1/snapshot?schema_version=1", timeout=10)
    assert anon.status_code == 401


def test_a_snapshot_the_node_cannot_read_is_refused(cluster, monkeypatch):
    build_history(cluster)
    snap = cluster.add_node("late-snapshot")
    with snap.app.app_context():
        client = runtime().sync_client()
    real_get = client.http.get

    def tampered(url, **kw):
        resp = real_get(url, **kw)
        resp._content = resp.content.replace(b'"versions":[[', b'"versions":[["x",', 1)
        return resp

    monkeypatch.setattr(client.http, "get", tampered)
    with pytest.raises(SyncFailed) as e:
        client.bootstrap()
    assert e.value.code == "bad_answer"
    with snap.rt.store.read() as tx:
        assert tx.rows("SELECT COUNT(*) FROM compounds")[0][0] == 0


def test_pure_sync_modules_import_no_framework():
    import subprocess
    import sys
    code = ("import sys; import sync.clock, sync.merge, sync.changelog, sync.tables, sync.replica, sync.snapshot, "
            "sync.compaction, sync.wire; print(sorted(m for m in ('flask', 'requests', 'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class _Future:
    def __init__(self, page=None, error=None, ready=True):
        self.page, self.error, self.ready = page, error, ready

    def exception(self, timeout=None):
        if not self.ready:
            raise TimeoutError
        return self.error

    def result(self):
        if self.error:
            raise self.error
        return self.page


def _grouping(monkeypatch, futures, commit_rows=20_000, tick=0.0):
    """Run apply_snapshot over fake pages; return the transactions as lists of page numbers, and the outcome."""
    from contextlib import contextmanager
    from sync import snapshot
    txns, current = [], []

    @contextmanager
    def write():
        current.clear()
        yield "tx"
        txns.append(list(current))  # reached only when the transaction commits

    def apply_page(replica, tx, page, progress, scope, unsent):
        current.append(page["n"])
        return page["next"] is None

    monkeypatch.setattr(snapshot, "apply_snapshot_page", apply_page)
    monkeypatch.setattr(snapshot, "COMMIT_ROWS", commit_rows)
    replica = type("R", (), {"store": type("S", (), {"write": staticmethod(write)})()})()
    fetch_after = lambda page: futures[page["n"] + 1] if page["next"] is not None else None  # noqa: E731
    try:
        now = iter(i * tick for i in range(1000))
        outcome = snapshot.apply_snapshot(replica, futures[0].page, fetch_after, {}, None, 0, clock=lambda: next(now))
    except Exception as e:  # noqa: BLE001 (compared below)
        outcome = e
    return txns, outcome


def _pages(n, rows=10):
    return [{"n": i, "rows": [None] * rows, "next": {} if i < n - 1 else None} for i in range(n)]


def test_pages_share_a_transaction_until_enough_rows_or_time(monkeypatch):
    pages = _pages(6)
    ready = [_Future(p) for p in pages]
    assert _grouping(monkeypatch, ready) == ([[0, 1, 2, 3, 4, 5]], 60)
    assert _grouping(monkeypatch, ready, commit_rows=25) == ([[0, 1, 2], [3, 4, 5]], 60)
    assert _grouping(monkeypatch, ready, tick=0.3)[0] == [[0, 1, 2, 3], [4, 5]]  # COMMIT_S is 1 s
    late = list(ready)
    late[3] = _Future(pages[3], ready=False)  # page 3 is not here when the commit is due: commit first
    assert _grouping(monkeypatch, late)[0] == [[0, 1, 2], [3, 4, 5]]


def test_a_page_that_fails_to_arrive_leaves_the_pages_before_it_committed(monkeypatch):
    pages = _pages(6)
    futures = [_Future(p) for p in pages]
    futures[3] = _Future(error=requests.ConnectionError("cable pulled"))
    txns, outcome = _grouping(monkeypatch, futures)
    assert txns == [[0, 1, 2]] and isinstance(outcome, requests.ConnectionError)
