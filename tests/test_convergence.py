"""Property: whatever the writes, clock offsets, sync orders and partitions, every replica converges to the
value of the write with the highest (stamp, origin) for every row and field, and every concurrent overwrite is
in the hub's conflict log (hub + three nodes over real HTTP). The oracle is the test's own record of every
write a replica answered (value, stamp, origin); a mutant merge that keeps the lower stamp must be caught.
"""
import inspect
import tempfile
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings, strategies as st

from conftest import Cluster
from sync import merge
from sync.http_client import SyncFailed

NODES = ("east-gate", "west-gate", "building-20")
FIELDS = {"name": st.sampled_from(["张三", "李四", "王五"]),
          "phone": st.sampled_from(["13800000001", "13800000002", None]),
          "notes": st.sampled_from(["", "隔离", "出差", "发热"]),
          "party_member": st.booleans()}
CHECKED = tuple(sorted(FIELDS)) + ("_deleted",)

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
#: Each example runs on the module's cluster with rows of its own (a fresh cluster per example would take
#: ten times as long); every check below looks only at the example's own rows, so examples stay independent.
EXAMPLES = settings(max_examples=200, deadline=15_000)


def _field_version(rep, row_id, field):
    with rep.rt.store.read() as tx:
        row = tx.load_rows("residents", [row_id]).get(row_id)
    return tuple(row[1].get(field, ())) if row else ()


def _plain(value):
    """A stored value as the test wrote it (SQLite hands booleans back as 0/1)."""
    return bool(value) if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1) else value


def run_example(c, ops, offsets):
    """Play ``ops`` on cluster ``c`` with node clocks ``offsets`` off the hub's, sync everything, then check
    every replica against the record of answered writes."""
    reps = [c.hub] + [c.nodes[n] for n in NODES]
    for n, off in zip(NODES, offsets):
        c.nodes[n].clock.offset_ms = off
    hh = c.hub.api("POST", "/rows/households", json={"compound_id": c.compound_id, "building_id": "b",
                                                     "room": "1702"}).get_json()["id"]
    writes = []  # (row, field, value, hlc, origin, version the writer had seen) of every answered write
    rows = []
    for i in range(4):
        got = c.hub.api("POST", "/rows/residents", json={"compound_id": c.compound_id, "household_id": hh,
                                                         "name": f"居民{i}"})
        rows.append(got.get_json()["id"])
        writes.append((rows[-1], "name", f"居民{i}", got.get_json()["hlc"], c.hub.replica.id, ()))
    c.sync_all(rounds=1)
    events = set()
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
            else:
                assert resp.status_code == 404  # deleted here already, or not arrived yet
        elif kind == "insert":
            _, r, name = op
            body = {"household_id": hh, "name": name}
            if r == 0:
                body["compound_id"] = c.compound_id
            resp = reps[r].api("POST", "/rows/residents", json=body)
            assert resp.status_code == 201
            rows.append(resp.get_json()["id"])
            writes.append((rows[-1], "name", name, resp.get_json()["hlc"], reps[r].replica.id, ()))
        elif kind == "event":
            resp = reps[op[1]].api("POST", "/rows/gate_events", json={
                "compound_id": c.compound_id, "gate": reps[op[1]].replica.id, "direction": "out",
                "at": "2020-02-04T09:00:00", "decision": "allowed"})
            assert resp.status_code == 201
            events.add(resp.get_json()["id"])
        elif kind == "tick":
            c.base.advance(op[1])
        else:
            client = reps[op[1]].rt.sync_client()
            try:
                {"sync": client.sync_once, "push": client.push, "pull": client.pull}[kind]()
            except SyncFailed as e:
                assert e.code == "clock_skew"  # the only refusal a healthy cluster may see
    c.base.advance(20 * 60_000)  # time passes: no node's clock is beyond the bound any more
    c.sync_all(rounds=2)
    assert all(rep.rt.sync_client().pending() == 0 for rep in reps[1:])

    # The oracle: per row and field, the value of the answered write with the highest (stamp, origin).
    winner = {}
    for row_id, field, value, hlc, origin, _ in writes:
        if (row_id, field) not in winner or (hlc, origin) > winner[(row_id, field)][1]:
            winner[(row_id, field)] = (value, (hlc, origin))
    marks = ", ".join("?" * len(rows))
    for rep in reps:
        with rep.rt.store.read() as tx:
            stored = {r[0]: dict(zip(CHECKED, map(_plain, r[1:]))) for r in tx.rows(
                f"SELECT id, {', '.join(CHECKED)} FROM residents WHERE id IN ({marks})", rows)}
            got_events = {r[0] for r in tx.rows(f"SELECT id FROM gate_events WHERE id IN "
                                                 f"({', '.join('?' * len(events)) or 'NULL'})", sorted(events))}
        assert set(stored) == set(rows), f"{rep.replica.id} misses rows"
        assert got_events == events, f"{rep.replica.id} misses gate events"
        for row_id in rows:
            for field in CHECKED:
                want = winner.get((row_id, field), (False if field == "_deleted" else None, None))[0]
                assert stored[row_id][field] == want, (
                    f"{rep.replica.id}: {field} of row {rows.index(row_id)} is {stored[row_id][field]!r}, "
                    f"the highest-stamped write was {want!r}")

    # Every concurrent overwrite is in the hub's conflict log; a sequential one is not.
    with c.hub.rt.store.read() as tx:
        logged = tx.rows(f"SELECT row_id, field, winner_hlc, winner_origin, loser_hlc, loser_origin "
                         f"FROM sync_conflicts WHERE tbl = 'residents' AND row_id IN ({marks})", rows)
    losers = {(x[0], x[1], (x[4], x[5])) for x in logged}
    seen_by_later = {(w[0], w[1], w[5]) for w in writes if w[5]}
    for row_id, field, value, hlc, origin, _ in writes:
        stamp = (hlc, origin)
        if winner[(row_id, field)][1] == stamp or (row_id, field, stamp) in seen_by_later:
            continue  # it is the value, or a later writer saw it and overwrote it on purpose
        assert (row_id, field, stamp) in losers, f"write {value!r} to {field} lost without a conflict"
    by_stamp = {(w[0], w[1], (w[3], w[4])): w for w in writes}
    for x in logged:
        w = by_stamp.get((x[0], x[1], (x[2], x[3])))
        if w is not None:  # a sequential overwrite is never reported as a conflict
            assert w[5] != (x[4], x[5])


@pytest.fixture(scope="module")
def shared_cluster():
    """One hub and three nodes for all examples of a test (each example makes rows of its own)."""
    c = Cluster(Path(tempfile.mkdtemp(prefix="menwei-conv-")), node_ids=NODES)
    yield c
    c.close()


def test_replicas_converge_to_the_highest_stamped_write_of_every_field(shared_cluster):
    @EXAMPLES
    @given(ops=ops, offsets=offsets)
    def prop(ops, offsets):
        run_example(shared_cluster, ops, offsets)
    prop()


def _flipped_merge():
    """merge_fields with its comparison reversed: the lower (stamp, origin) wins."""
    src = inspect.getsource(merge.merge_fields)
    right = "if (hlc, origin) > (cur_hlc, cur_origin):"
    assert right in src, "the merge's comparison moved: update the mutant"
    ns = dict(vars(merge))
    exec(compile(src.replace(right, "if (hlc, origin) < (cur_hlc, cur_origin):"), merge.__file__, "exec"), ns)
    return ns["merge_fields"]


@pytest.mark.parametrize("mutant", [_flipped_merge], ids=["merge-keeps-the-lower-stamp"])
def test_the_property_catches_a_broken_merge(monkeypatch, tmp_path, mutant):
    monkeypatch.setattr(merge, "merge_fields", mutant())
    c = Cluster(tmp_path, node_ids=NODES)
    caught = []

    @settings(max_examples=25, deadline=None, phases=[Phase.generate], database=None)
    @given(ops=ops, offsets=offsets)
    def prop(ops, offsets):
        try:
            run_example(c, ops, offsets)
        except AssertionError as e:
            caught.append(e)
    try:
        prop()
    finally:
        c.close()
    assert caught, "the convergence property passed with a merge that keeps the lower stamp"
