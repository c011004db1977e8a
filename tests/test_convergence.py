"""Property: whatever the writes, clock offsets, sync orders and partitions, every replica converges
and every concurrent overwrite is in the hub's conflict log (hub + three nodes over real HTTP)."""
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import Cluster
from sync.http_client import SyncFailed

NODES = ("east-gate", "west-gate", "building-20")
FIELDS = {"name": st.sampled_from(["张三", "李四", "王五"]),
          "phone": st.sampled_from(["13800000001", "13800000002", None]),
          "notes": st.sampled_from(["", "隔离", "出差", "发热"]),
          "party_member": st.booleans()}

replica_ix = st.integers(0, len(NODES))  # 0 is the hub
row_ix = st.integers(0, 5)
update = st.sampled_from(sorted(FIELDS)).flatmap(
    lambda f: st.tuples(st.just("update"), replica_ix, row_ix, st.just(f), FIELDS[f]))
ops = st.lists(st.one_of(
    update, update, update,
    st.tuples(st.just("insert"), replica_ix, st.sampled_from(["赵六", "钱七"])),
    st.tuples(st.just("delete"), replica_ix, row_ix),
    st.tuples(st.just("event"), replica_ix),
    st.tuples(st.sampled_from(["sync", "push", "pull"]), st.integers(1, len(NODES))),
    st.tuples(st.just("tick"), st.integers(0, 120_000)),
), min_size=5, max_size=40)
offsets = st.lists(st.integers(-600_000, 600_000), min_size=len(NODES), max_size=len(NODES))


def _field_version(rep, row_id, field):
    with rep.rt.store.read() as tx:
        row = tx.load_rows("residents", [row_id]).get(row_id)
    return tuple(row[1].get(field, ())) if row else ()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=ops, offsets=offsets)
def test_replicas_converge_and_no_concurrent_write_is_lost_silently(ops, offsets):
    tmp = Path(tempfile.mkdtemp(prefix="menwei-conv-"))
    c = Cluster(tmp, node_ids=NODES, offsets_ms=dict(zip(NODES, offsets)))
    try:
        reps = [c.hub] + [c.nodes[n] for n in NODES]
        hh = c.hub.api("POST", "/rows/households", json={"compound_id": c.compound_id, "building_id": "b",
                                                         "room": "1702"}).get_json()["id"]
        rows = [c.hub.api("POST", "/rows/residents", json={"compound_id": c.compound_id, "household_id": hh,
                                                           "name": f"居民{i}"}).get_json()["id"] for i in range(4)]
        c.sync_all(rounds=1)
        writes = []  # (row, field, value, hlc, origin, version the writer had seen)
        for op in ops:
            kind = op[0]
            if kind == "update":
                _, r, i, field, value = op
                rep, row_id = reps[r], rows[i % len(rows)]
                seen = _field_version(rep, row_id, field)
                resp = rep.api("PATCH", f"/rows/residents/{row_id}", json={field: value})
                if resp.status_code == 200:
                    writes.append((row_id, field, value, resp.get_json()["hlc"], rep.replica.id, seen))
                else:
                    assert resp.status_code == 404  # deleted here, or not arrived yet
            elif kind == "delete":
                _, r, i = op
                rep, row_id = reps[r], rows[i % len(rows)]
                seen = _field_version(rep, row_id, "_deleted")
                resp = rep.api("DELETE", f"/rows/residents/{row_id}")
                if resp.status_code == 200:
                    writes.append((row_id, "_deleted", True, resp.get_json()["hlc"], rep.replica.id, seen))
            elif kind == "insert":
                _, r, name = op
                body = {"household_id": hh, "name": name}
                if r == 0:
                    body["compound_id"] = c.compound_id
                resp = reps[r].api("POST", "/rows/residents", json=body)
                assert resp.status_code == 201
                rows.append(resp.get_json()["id"])
            elif kind == "event":
                resp = reps[op[1]].api("POST", "/rows/gate_events", json={
                    "compound_id": c.compound_id, "gate": reps[op[1]].replica.id, "direction": "out",
                    "at": "2020-02-04T09:00:00", "decision": "allowed"})
                assert resp.status_code == 201
            elif kind == "tick":
                c.base.advance(op[1])
            else:
                node = reps[op[1]]
                client = node.rt.sync_client()
                try:
                    {"sync": client.sync_once, "push": client.push, "pull": client.pull}[kind]()
                except SyncFailed as e:
                    assert e.code == "clock_skew"  # the only refusal a healthy cluster may see
        c.base.advance(20 * 60_000)  # time passes: no node's clock is beyond the bound any more
        c.sync_all(rounds=2)

        for table in ("residents", "households", "compounds", "gate_events"):
            expected = c.hub.table(table)
            for rep in reps[1:]:
                assert rep.table(table) == expected, f"{rep.replica.id} differs in {table}"
        assert all(rep.rt.sync_client().pending() == 0 for rep in reps[1:])

        final = {}
        for row_id in rows:
            v = c.hub.table_versions(row_id)
            for field, stamp in v.items():
                final[(row_id, field)] = tuple(stamp)
        seen_by_later = {(w[0], w[1], w[5]) for w in writes if w[5]}
        losers = {(x["row_id"], x["field"], (x["loser_hlc"], x["loser_origin"])) for x in c.hub.conflicts()}
        for row_id, field, value, hlc, origin, _ in writes:
            stamp = (hlc, origin)
            if final[(row_id, field)] == stamp or (row_id, field, stamp) in seen_by_later:
                continue  # it is the value, or a later writer saw it and overwrote it on purpose
            assert (row_id, field, stamp) in losers, f"write {value!r} to {field} lost without a conflict"
        by_stamp = {(w[0], w[1], (w[3], w[4])): w for w in writes}
        for x in c.hub.conflicts():
            winner = by_stamp.get((x["row_id"], x["field"], (x["winner_hlc"], x["winner_origin"])))
            if winner is not None:  # a sequential overwrite is never reported as a conflict
                assert winner[5] != (x["loser_hlc"], x["loser_origin"])
    finally:
        c.close()
