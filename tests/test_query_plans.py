"""The hub's sync reads walk gate events in log order: a pull or snapshot page never sorts a compound's history.

Planned the other way (the dashboard's index for ``compound_id = ?``, then a sort), every page reads and
sorts every event of the compound: a new gate bootstrapping a million events would take hours.
"""
import sqlite3

import pytest
from sqlalchemy import event

from test_bootstrap import SMALL_PAGES, bootstrap


def _trace(replica):
    """Record every statement the replica's database runs from now on (SQL with its values)."""
    statements = []
    engine = replica.rt.store.engine
    engine.dispose()  # connections opened from here on are traced

    @event.listens_for(engine, "connect")
    def _traced(dbapi_conn, _record):
        dbapi_conn.set_trace_callback(statements.append)
    return statements


def _plans(replica, statements):
    """The query plan of each page (a SELECT … LIMIT) the replica read."""
    con = sqlite3.connect(replica.rt.store.engine.url.database)
    try:
        return {sql: " / ".join(r[-1] for r in con.execute("EXPLAIN QUERY PLAN " + sql))
                for sql in statements if sql.lstrip().upper().startswith("SELECT") and " LIMIT " in sql}
    finally:
        con.close()


@pytest.mark.sqlite_only("SQLite's plans; PostgreSQL plans by its statistics")
def test_pull_and_snapshot_pages_walk_their_key_and_never_sort_a_table(gate):
    cluster, hub = gate.cluster, gate.hub
    for _ in range(3):
        gate.check(resident_id=gate.zhang, direction="out")
    gate.sync()
    statements = _trace(hub)
    cluster.nodes["building-20"].sync()  # a pull page of east gate's events
    bootstrap(cluster.add_node("west-gate", config=SMALL_PAGES))  # a new gate: the compound as a snapshot, in pages
    plans = _plans(hub, statements)
    assert any("FROM gate_events" in sql and "_seq >" in sql for sql in plans), "no page of gate events was read"
    assert any("FROM residents" in sql for sql in plans), "no page of residents was read"
    for sql, plan in plans.items():  # every page is a walk along the key it is ordered by
        assert "TEMP B-TREE" not in plan and "ix_gate_events_dashboard" not in plan, (sql, plan)



@pytest.mark.sqlite_only("SQLite's plans; PostgreSQL plans by its statistics")
@pytest.mark.parametrize("query", ["", "?from=2020-02-01&to=2020-02-29"], ids=["all", "a-month"])
def test_a_compound_s_export_walks_the_table_s_key_page_by_page(gate, monkeypatch, query):
    import menwei.reports.exports
    monkeypatch.setattr(menwei.reports.exports, "PAGE", 2)  # many pages
    for _ in range(5):
        gate.check(resident_id=gate.zhang, direction="out")
    gate.sync()
    statements = _trace(gate.hub)
    for table in ("gate_events", "residents"):
        sep = "&" if query else "?"
        r = gate.hub.api("GET", f"/export/{table}.csv{query if table == 'gate_events' else ''}"
                                f"{sep if table == 'gate_events' else '?'}compound_id={gate.cluster.compound_id}")
        assert r.status_code == 200 and len(r.data.decode().splitlines()) > 3
    plans = _plans(gate.hub, statements)
    assert any("FROM gate_events" in sql for sql in plans) and any("FROM residents" in sql for sql in plans)
    for sql, plan in plans.items():
        assert "TEMP B-TREE" not in plan, (sql, plan)


@pytest.mark.sqlite_only("SQLite's plans; PostgreSQL plans by its statistics")
def test_listing_a_compound_s_rows_walks_the_ids_page_by_page(gate):
    for _ in range(3):
        gate.check(resident_id=gate.zhang, direction="out")
    gate.sync()
    statements = _trace(gate.hub)
    after, seen = None, 0
    while True:
        r = gate.hub.api("GET", f"/rows/gate_events?compound_id={gate.cluster.compound_id}&limit=1"
                                + (f"&after={after}" if after else ""))
        rows = r.get_json()["rows"]
        if not rows:
            break
        seen, after = seen + 1, rows[-1]["id"]
    assert seen == 3
    plans = _plans(gate.hub, statements)
    assert any("FROM gate_events" in sql for sql in plans)
    for sql, plan in plans.items():
        assert "TEMP B-TREE" not in plan, (sql, plan)
