"""Node tokens as an attacker would use them: two compounds on one hub, and one node trying the other's data.

A node's sync token reads only its own compound, cannot push as another node or into another compound,
is useless once revoked (API or hub CLI), and opens no /api/v1 route on hub or node.
"""
import uuid

import pytest

from conftest import ADMIN, Replica
from hub.cli import hub_cli
from node import create_app as create_node
from node.cli import enroll_node
from sync.http_client import SyncFailed
from menwei.tables import SCHEMA_VERSION as SCHEMA

AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def two(cluster, tmp_path):
    """Compound A (east-gate, building-20) and compound B (its own gate, north-gate), each with residents."""
    hub = cluster.hub
    cluster.b_id = hub.api("POST", "/rows/compounds", json={"name": "江北花园", "city": "新余市"}).get_json()["id"]
    for cid, tag in ((cluster.compound_id, "A"), (cluster.b_id, "B")):
        hh = hub.api("POST", "/rows/households", json={"compound_id": cid, "building_id": str(uuid.uuid4()),
                                                        "room": "101", "label": f"{tag}-101"}).get_json()["id"]
        for i in range(3):
            r = hub.api("POST", "/rows/residents", json={"compound_id": cid, "household_id": hh,
                                                         "name": f"居民{tag}{i}", "id_number": f"36050219800101{i:03d}X"})
            assert r.status_code == 201, r.get_json()
    code = hub.api("POST", "/nodes", json={"id": "north-gate", "compound_id": cluster.b_id}).get_json()["code"]
    app = create_node({"DATABASE_URL": f"sqlite:///{tmp_path}/north-gate.db", "CLOCK": cluster.base,
                       "ADMIN_TOKEN": ADMIN, "SQLITE_SYNCHRONOUS": "NORMAL"}, instance_path=str(tmp_path / "north"))
    enroll_node(app, cluster.server.url, code)
    cluster.north = Replica(app, cluster.base)
    cluster.sync_all()
    cluster.north.sync()
    cluster.tokens = {n: r.rt.state("token") for n, r in [*cluster.nodes.items(), ("north-gate", cluster.north)]}
    return cluster


def _pull(hub, token, cursor=0):
    return hub.http.get("/sync/v1/pull", query_string={"cursor": cursor, "schema_version": SCHEMA, "limit": 20000},
                        headers={"Authorization": f"Bearer {token}"})


def _push(hub, token, node_id, changes):
    return hub.http.post("/sync/v1/push", headers={"Authorization": f"Bearer {token}"}, json={
        "node_id": node_id, "schema_version": SCHEMA, "clock_ms": hub.clock(), "pending": 0, "changes": changes})


def _scope(change, hub):
    table = hub.rt.catalog[change["table"]]
    return change["id"] if table.scope == "id" else change["data"].get(table.scope)


def test_a_node_token_reads_only_its_own_compound(two):
    hub = two.hub
    for node, own in (("east-gate", two.compound_id), ("north-gate", two.b_id)):
        r = _pull(hub, two.tokens[node])
        assert r.status_code == 200
        changes = r.get_json()["changes"]
        assert changes and not r.get_json()["more"]
        scopes = {_scope(c, hub) for c in changes}
        assert scopes == {own}, (node, scopes)  # the other compound's rows never leave the hub
    north_names = {v[2] for v in two.north.table("residents").values()}
    east_names = {v[2] for v in two.nodes["east-gate"].table("residents").values()}
    assert north_names == {"居民B0", "居民B1", "居民B2"} and east_names == {"居民A0", "居民A1", "居民A2"}
    assert set(two.north.table("compounds")) == {two.b_id}


def test_a_node_cannot_push_as_another_node_or_into_another_compound(two):
    hub = two.hub
    before = {t: hub.table(t) for t in ("residents", "compounds", "gate_events")}
    north_seq = two.north.replica.own_seq()
    resident = next(rid for rid, v in hub.table("residents").items() if v[0] == two.compound_id)
    forged = {"seq": north_seq + 1, "hlc": hub.rt.clock.now(), "table": "gate_events", "id": str(uuid.uuid4()),
              "data": {"compound_id": two.b_id, "gate": "east-gate", "direction": "out", "decision": "allowed",
                       "at": "2020-02-03T08:00:00Z"}}
    r = _push(hub, two.tokens["north-gate"], "east-gate", [forged])
    assert r.status_code == 403 and r.get_json()["code"] == "wrong_origin"
    into_a = dict(forged, data=dict(forged["data"], compound_id=two.compound_id))
    r = _push(hub, two.tokens["north-gate"], "north-gate", [into_a])
    assert r.status_code == 403 and r.get_json()["code"] == "out_of_scope"
    rename_a = {"seq": north_seq + 1, "hlc": hub.rt.clock.now(), "table": "compounds", "id": two.compound_id,
                "data": {"name": "taken over"}}
    assert _push(hub, two.tokens["north-gate"], "north-gate", [rename_a]).get_json()["code"] == "out_of_scope"
    move = {"seq": north_seq + 1, "hlc": hub.rt.clock.now(), "table": "residents", "id": resident,
            "data": {"compound_id": two.b_id}}
    r = _push(hub, two.tokens["north-gate"], "north-gate", [move])
    assert r.status_code in (403, 409), r.get_json()  # moving a row between compounds is no way in either
    r = _push(hub, two.tokens["north-gate"], "north-gate", [dict(forged, origin="east-gate")])
    assert r.status_code == 400 and "origin" in str(r.get_json()["fields"])
    r = _push(hub, ADMIN, "north-gate", [forged])  # the coordinator's API token is no node token either
    assert r.status_code == 401
    assert {t: hub.table(t) for t in before} == before  # nothing of any refused push was applied


def test_a_revoked_token_is_useless_at_once(two):
    hub, north = two.hub, two.north
    assert hub.api("POST", "/nodes/north-gate/revoke").get_json() == {"id": "north-gate", "revoked": True}
    token = two.tokens["north-gate"]
    assert _pull(hub, token).status_code == 403 and _pull(hub, token).get_json()["code"] == "revoked"
    r = _push(hub, token, "north-gate", [])
    assert r.status_code == 403 and r.get_json()["code"] == "revoked"
    with pytest.raises(SyncFailed) as e:
        north.sync()
    assert e.value.code == "revoked"
    r = hub.http.post("/sync/v1/enroll", json={"code": "AAAA-BBBB", "node_id": "north-gate"})
    assert r.status_code == 403  # and no way back in without a fresh code from a coordinator


def test_the_hub_cli_revokes_a_token(two, runner):
    token = two.tokens["building-20"]
    assert _pull(two.hub, token).status_code == 200
    url = two.hub.app.config["DATABASE_URL"]  # the CLI opens the very database the test hub serves
    result = runner.invoke(hub_cli, ["revoke-node", "--data-dir", str(two.tmp / "hub"), "building-20"],
                           env={"MENWEI_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "revoked" in result.output
    assert _pull(two.hub, token).get_json()["code"] == "revoked"
    missing = runner.invoke(hub_cli, ["revoke-node", "--data-dir", str(two.tmp / "hub"), "no-such-node"],
                            env={"MENWEI_DATABASE_URL": url})
    assert missing.exit_code != 0 and "no node" in missing.output


def test_registering_a_node_again_voids_its_old_token(two):
    token = two.tokens["north-gate"]
    two.hub.api("POST", "/nodes", json={"id": "north-gate", "compound_id": two.b_id})
    assert _pull(two.hub, token).status_code == 401


def _urls(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        access = getattr(app.view_functions[rule.endpoint], "menwei_access", None)
        if access == "public":
            continue
        args = {a: 1 if type(rule._converters[a]).__name__ == "IntegerConverter" else "x" for a in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.build(args, append_unknown=False)[1]


@pytest.mark.parametrize("side", ["hub", "east-gate"])
def test_a_node_token_opens_no_api_route(two, side):
    app = two.hub.app if side == "hub" else two.nodes["east-gate"].app
    client = app.test_client()
    calls = list(_urls(app))
    assert len(calls) > 45
    for token in two.tokens.values():
        for method, url in calls:
            r = client.open(url, method=method, json={} if method != "GET" else None,
                            headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, (method, url, r.status_code)
    assert client.get("/api/v1/tables", headers=AUTH).status_code == 200  # the coordinator's token does
