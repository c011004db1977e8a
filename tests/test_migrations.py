"""Schema revisions: the head matches the declarations, an old database keeps every row, an old node is told."""
import dataclasses
import os
import uuid

import pytest
import requests
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from conftest import ADMIN, PG_URL, LiveServer, hub_database_url
from hub import create_app as create_hub
from menwei.store import maintenance
from menwei.store import migrate
from menwei.cli import main
from menwei.store.db import db
from menwei.tables import CATALOG, SCHEMA_VERSION
from node import create_app as create_node
from sync.clock import HybridClock
from sync.http_client import SyncFailed
from sync.replica import Replica
from sync.sql_store import SqlStore, configure_sqlite
from sync.tables import Catalog

PREVIOUS = migrate.scripts().get_revision(migrate.head()).down_revision


def _engine(url):
    engine = create_engine(url)
    configure_sqlite(engine)
    return engine


def _migrated(url, target="head"):
    engine = _engine(url)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), target)
    return engine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_head_matches_the_declarations(tmp_path, backend):
    if backend == "postgresql" and not PG_URL:
        pytest.skip("MENWEI_TEST_PG_URL is not set: no PostgreSQL to check the migrations on (scripts/test.sh sets it)")
    url = hub_database_url(tmp_path, fresh=True) if backend == "postgresql" else f"sqlite:///{tmp_path}/m.db"
    engine = _migrated(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    engine.dispose()
    assert diff == [], ("menwei/tables.py or sync/sql_store.py changed without a revision: "
                        f"run `python -m menwei.store.migrate \"what changed\"` ({diff[:5]})")


def test_revisions_form_one_numbered_chain_ending_at_the_schema_version():
    revs = list(migrate.scripts().walk_revisions())
    assert [r.revision for r in reversed(revs)] == [f"{i:04d}" for i in range(1, len(revs) + 1)]
    assert migrate.schema_version_of(migrate.head()) == SCHEMA_VERSION
    assert all(isinstance(r.module.schema_version, int) for r in revs)


def _old_catalog(engine):
    """The declarations as the previous release had them: only the columns the old database has."""
    cols = {t: {c["name"] for c in inspect(engine).get_columns(t)} for t in CATALOG.tables}
    return Catalog([dataclasses.replace(t, fields=[f for f in t.fields if f.name in cols[t.name]]) for t in CATALOG],
                   migrate.schema_version_of(PREVIOUS))


def _snapshot(engine, catalog):
    with engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(text(
            f"SELECT * FROM (SELECT {', '.join(('_seq', '_origin', '_oseq', '_hlc', 'id') if t.append_only else ('id', '_deleted', '_v'))}"
            f"{''.join(', ' + n for n in t.field_names)} FROM {t.name}) AS s"))) for t in catalog}


def _fill_old_node(cluster, url):
    """An enrolled node database at the previous revision with a day of the old release's writes."""
    engine = _migrated(url, PREVIOUS)
    old = _old_catalog(engine)
    code = cluster.hub.api("POST", "/nodes", json={"id": "old-gate", "compound_id": cluster.compound_id}).get_json()
    answer = requests.post(cluster.server.url + "/sync/v1/enroll", json={"code": code["code"]}, timeout=10).json()
    store = SqlStore(engine, old)
    with store.write() as tx:
        for key, value in (("replica_id", answer["node_id"]), ("compound_id", answer["compound_id"]),
                           ("token", answer["token"]), ("hub_url", cluster.server.url), ("hub_id", answer["hub_id"])):
            tx.set_state(key, value)
    rep = Replica(store, old, "old-gate", HybridClock(cluster.base))
    cid = cluster.compound_id
    b, h = str(uuid.uuid4()), str(uuid.uuid4())
    rep.write([("buildings", b, {"compound_id": cid, "number": "7"}),
               ("households", h, {"compound_id": cid, "building_id": b, "room": "301", "label": "7-301"})])
    people = [str(uuid.uuid4()) for _ in range(5)]
    rep.write([("residents", p, {"compound_id": cid, "household_id": h, "name": f"住户{i}", "phone": "1380000000"})
               for i, p in enumerate(people)])
    rep.update("residents", people[0], {"notes": "腿脚不便"})
    rep.delete("residents", people[1])
    rep.write([("gate_events", str(uuid.uuid4()), {
        "compound_id": cid, "gate": "old-gate", "direction": "out" if i % 2 else "in", "at": f"2020-02-03T08:{i:02d}:00",
        "household_id": h, "decision": "allowed", "purpose": "outing", "temperature": 36.5, "reasons": []})
        for i in range(30)], create=True)
    return engine, old


def test_a_node_database_at_the_previous_revision_keeps_every_row_and_syncs(cluster, tmp_path):
    url = f"sqlite:///{tmp_path}/old-gate.db"
    engine, old = _fill_old_node(cluster, url)
    before = _snapshot(engine, old)
    engine.dispose()
    # The new release starts on it: a node upgrades itself, after a backup copy.
    app = create_node({"DATABASE_URL": url, "CLOCK": cluster.base, "ADMIN_TOKEN": ADMIN},
                      instance_path=str(tmp_path / "old-gate"))
    assert os.path.exists(f"{tmp_path}/old-gate.db.rev{PREVIOUS}.bak")
    rt = app.extensions["menwei"]
    after = _snapshot(rt.store.engine, old)
    assert after == before and sum(map(len, after.values())) == 1 + 1 + 5 + 30
    with rt.store.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head()
    with app.app_context():
        st = rt.sync_client().sync_once()
    assert st.pending == 0
    hub = cluster.hub
    assert len(hub.table("gate_events")) == 30
    residents = hub.table("residents")
    assert len(residents) == 5 and sum(r[-1] for r in residents.values()) == 1  # one deleted
    assert any(r[hub.rt.catalog["residents"].field_names.index("notes")] == "腿脚不便" for r in residents.values())


def test_a_hub_at_the_previous_revision_is_refused_until_upgraded(tmp_path, runner):
    url = hub_database_url(tmp_path, fresh=True)
    engine = _migrated(url, PREVIOUS)
    old = _old_catalog(engine)
    rep = Replica(SqlStore(engine, old), old, "hub", HybridClock())
    cid = rep.insert("compounds", str(uuid.uuid4()), {"name": "绿景水岸小区"})["id"]
    rep.write([("gate_events", str(uuid.uuid4()), {"compound_id": cid, "gate": "g", "direction": "in",
                                                  "at": "2020-02-03T08:00:00", "decision": "allowed"})], create=True)
    before = _snapshot(engine, old)
    engine.dispose()
    cfg = {"DATABASE_URL": url, "ADMIN_TOKEN": ADMIN}
    with pytest.raises(migrate.SchemaError, match="run `menwei hub upgrade`"):
        create_hub(cfg, instance_path=str(tmp_path / "hub"))
    d = tmp_path / "hubdir"
    d.mkdir()
    (d / "menwei.cfg").write_text(f"DATABASE_URL = {url!r}\n")
    refused = runner.invoke(main, ["hub", "nodes", "--data-dir", str(d)])
    assert refused.exit_code != 0 and "menwei hub upgrade" in refused.output
    done = runner.invoke(main, ["hub", "upgrade", "--data-dir", str(d)])
    assert done.exit_code == 0 and f"from revision {PREVIOUS} to {migrate.head()}" in done.output, done.output
    again = runner.invoke(main, ["hub", "upgrade", "--data-dir", str(d)])
    assert "nothing to do" in again.output
    app = create_hub(cfg, instance_path=str(tmp_path / "hub"))
    assert _snapshot(app.extensions["menwei"].store.engine, old) == before


@pytest.mark.parametrize("made_at", ["0001", "0002"])
def test_a_database_from_before_migrations_is_recognised_and_upgraded_keeping_its_rows(tmp_path, made_at):
    url = f"sqlite:///{tmp_path}/legacy.db"
    engine = _migrated(url, made_at)
    by, at = ("by", "at") if made_at == "0001" else ("acked_by", "acked_at")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))  # as create_all left it before there were revisions
        conn.execute(text(f"INSERT INTO violation_acks (id, compound_id, kind, key, note, {by}, {at}, _deleted, _v) "
                          "VALUES ('a1', 'c', 'quota', 'k', '已核实', '王老师', '2020-02-03T08:00:00Z', false, '[]')"))
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == made_at
    before, after = migrate.upgrade(engine, db.metadata)
    assert (before, after) == (made_at, migrate.head())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT acked_by, acked_at, note FROM violation_acks")).all() == [
            ("王老师", "2020-02-03T08:00:00Z", "已核实")]
    engine.dispose()


def test_a_database_newer_than_this_menwei_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/new.db"
    create_node({"DATABASE_URL": url}, instance_path=str(tmp_path / "n"))
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(migrate.SchemaError, match="newer Menwei"):
        create_node({"DATABASE_URL": url}, instance_path=str(tmp_path / "n"))


def test_a_node_one_schema_version_behind_works_offline_and_is_told_to_upgrade(gate):
    east, hub = gate.east, gate.hub
    client = east.rt.sync_client()
    client.schema_version = SCHEMA_VERSION - 1  # what the previous release announces
    checks = [gate.check(resident_id=gate.zhang, direction=d, health_code="green") for d in ("out", "in")]
    assert [c["decision"] for c in checks] == ["allowed", "allowed"]  # gate checks need no hub
    with pytest.raises(SyncFailed) as refused:
        east.sync()
    assert refused.value.status == 409 and refused.value.code == "schema_mismatch"
    status = east.api("GET", "/sync/status").get_json()
    assert status["upgrade_required"] is True and "upgrade Menwei on this node" in status["last_error"]
    assert status["pending"] == 2
    node = next(n for n in hub.api("GET", "/sync/status").get_json()["nodes"] if n["id"] == "east-gate")
    assert node["schema_version"] == SCHEMA_VERSION - 1 and "upgrade" in node["last_error"]
    client.schema_version = SCHEMA_VERSION + 1  # a node upgraded before its hub is told the other way round
    with pytest.raises(SyncFailed, match="newer Menwei than the hub: upgrade the hub"):
        east.sync()
    client.schema_version = SCHEMA_VERSION  # upgraded: everything queued goes through
    assert east.sync().pending == 0
    events = hub.table("gate_events")
    code_at = hub.rt.catalog["gate_events"].field_names.index("health_code")
    assert [events[c["event_id"]][code_at] for c in checks] == ["green", "green"]
    assert east.api("GET", "/sync/status").get_json()["upgrade_required"] is False


def test_upgrade_commands_create_a_new_database_and_report_it(runner, tmp_path):
    d = str(tmp_path / "node")
    r = runner.invoke(main, ["node", "upgrade", "--data-dir", d])
    assert r.exit_code == 0 and f"created at revision {migrate.head()}" in r.output
    cfg = maintenance.offline_config("node", d)
    assert cfg["AUTO_UPGRADE"] is True and maintenance.offline_config("hub", d)["AUTO_UPGRADE"] is False


def test_the_desk_says_to_upgrade_when_the_hub_refuses_the_schema(gate, browser):
    from playwright.sync_api import expect
    gate.east.make_account("operator")  # accounts are made at the hub: while this node still syncs
    gate.east.rt.sync_client().schema_version = SCHEMA_VERSION - 1
    with pytest.raises(SyncFailed):
        gate.east.sync()
    server = LiveServer(gate.east.app)
    page = browser.new_page()
    try:
        gate.east.sign_in(page, server.url, "operator")
        expect(page.locator("#sync")).to_have_class("sync alarm")
        expect(page.locator("#sync")).to_contain_text("需升级门卫软件")
    finally:
        page.close()
        server.stop()
