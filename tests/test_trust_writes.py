"""What a node may write (sync.policy, declared per table in menwei/tables.py), attacked as issue 17 did.

Accounts are made and changed only at the hub, and a row may only name rows of its own compound: on push,
on the generic rows API and on the dedicated routes alike. A node holding a refused change parks it.
"""
from trust_fixtures import change, push, two_fixture  # noqa: F401  (the fixture "two")
from sync.replica import Replica as CoreReplica

from conftest import PASSWORD

EVIL = {"username": "eviladmin", "role": "coordinator", "active": True,
        "password_hash": "scrypt:32768:8:1$abcdefgh$" + "0" * 128}


def _login(replica, username, password=PASSWORD):
    return replica.app.test_client().post("/api/v1/auth/login", json={"username": username, "password": password})


def test_a_pushed_account_is_refused_and_named_and_never_signs_in(two):
    from werkzeug.security import generate_password_hash
    hub, north = two.hub, two.north
    data = dict(EVIL, compound_id=two.b_id, password_hash=generate_password_hash(PASSWORD))
    ch = change(two, north, "accounts", data)
    r = push(hub, two.tokens["north-gate"], "north-gate", [ch])
    assert r.status_code == 200
    refused = r.get_json()["refused"]
    assert [(x["seq"], x["table"], x["id"], x["code"]) for x in refused] == [(ch["seq"], "accounts", ch["id"], "hub_only")]
    assert "hub" in refused[0]["fields"]["accounts"] and "总台" in refused[0]["fields"]["accounts"]
    assert all(v[1] != "eviladmin" for v in hub.table("accounts").values())
    assert _login(hub, "eviladmin").status_code == 401
    # acknowledged all the same: the node's next change is not held behind it
    nxt = change(two, north, "residents", {"compound_id": two.b_id, "household_id": two.households["B"],
                                           "name": "新居民"}, offset=2)
    r = push(hub, two.tokens["north-gate"], "north-gate", [nxt])
    assert r.status_code == 200 and r.get_json()["applied"] == 1 and r.get_json()["refused"] == []


def test_a_node_refuses_to_make_or_change_an_account_and_says_to_do_it_at_the_hub(two):
    north = two.north
    r = north.api("POST", "/accounts", json={"username": "evil2", "password": PASSWORD, "role": "coordinator"})
    assert r.status_code == 403 and r.get_json()["code"] == "hub_only"
    assert two.server.url in r.get_json()["error"] and "总台" in r.get_json()["error"]
    hub_acct = two.hub.api("POST", "/accounts", json={"username": "op-b", "password": PASSWORD, "role": "operator",
                                                      "compound_id": two.b_id}).get_json()
    north.sync()
    r = north.api("PATCH", f"/accounts/{hub_acct['id']}", json={"role": "coordinator"})
    assert r.status_code == 403 and r.get_json()["code"] == "hub_only"
    assert north.table("accounts")[hub_acct["id"]][3] == "operator"
    assert north.api("POST", "/rows/accounts", json={"username": "evil3"}).status_code == 403
    assert _login(north, "op-b").status_code == 200  # made at the hub, it signs in at the gate


def test_a_pushed_row_naming_another_compounds_rows_is_refused_and_the_rest_applied(two):
    hub, north = two.hub, two.north
    before = {t: hub.table(t) for t in ("residents", "gate_events", "households")}
    bad_resident = change(two, north, "residents", {"compound_id": two.b_id, "household_id": two.households["A"],
                                                    "name": "注入"})
    bad_event = change(two, north, "gate_events", {
        "compound_id": two.b_id, "gate": "north-gate", "direction": "out", "decision": "allowed",
        "at": "2020-02-03T08:00:00+00:00", "household_id": two.households["A"], "resident_id": two.residents["A"]},
        offset=2)
    moved = change(two, north, "residents", {"household_id": two.households["A"]}, row_id=two.residents["B"], offset=3)
    good = change(two, north, "gate_events", {
        "compound_id": two.b_id, "gate": "north-gate", "direction": "out", "decision": "allowed",
        "at": "2020-02-03T08:01:00+00:00", "household_id": two.households["B"]}, offset=4)
    r = push(hub, two.tokens["north-gate"], "north-gate", [bad_resident, bad_event, moved, good])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["acked_seq"] == good["seq"] and body["applied"] == 1
    assert {(x["seq"], x["code"], tuple(sorted(x["fields"]))) for x in body["refused"]} == {
        (bad_resident["seq"], "foreign_reference", ("household_id",)),
        (bad_event["seq"], "foreign_reference", ("household_id", "resident_id")),
        (moved["seq"], "foreign_reference", ("household_id",))}
    assert hub.table("residents") == before["residents"] and hub.table("households") == before["households"]
    assert set(hub.table("gate_events")) - set(before["gate_events"]) == {good["id"]}


def test_a_refused_creation_takes_the_later_edits_of_its_row_with_it(two):
    hub, north = two.hub, two.north
    made = change(two, north, "residents", {"compound_id": two.b_id, "household_id": two.households["A"], "name": "注入"})
    edit = change(two, north, "residents", {"name": "改名"}, row_id=made["id"], offset=2)
    r = push(hub, two.tokens["north-gate"], "north-gate", [made, edit])
    assert [x["seq"] for x in r.get_json()["refused"]] == [made["seq"], edit["seq"]]
    assert made["id"] not in hub.table("residents")


def test_the_hub_rows_api_refuses_a_reference_into_another_compound(two):
    hub = two.hub
    r = hub.api("POST", "/rows/residents", json={"compound_id": two.b_id, "household_id": two.households["A"],
                                                 "name": "注入"})
    assert r.status_code == 403 and set(r.get_json()["fields"]) == {"household_id"}
    r = hub.api("PATCH", f"/rows/residents/{two.residents['B']}", json={"household_id": two.households["A"]})
    assert r.status_code == 403 and "another compound" in r.get_json()["fields"]["household_id"]
    assert hub.table("residents")[two.residents["B"]][1] == two.households["B"]
    r = hub.api("POST", "/rows/orders", json={"compound_id": two.b_id, "household_id": two.households["A"],
                                              "delivery_date": "2020-02-04", "status": "requested"})
    assert r.status_code == 403


def test_a_dedicated_route_refuses_a_reference_into_another_compound(two):
    hub = two.hub
    before = hub.table("passes")
    r = hub.api("POST", "/gate/passes", json={"kind": "outing", "household_id": two.households["B"],
                                              "resident_id": two.residents["A"]})
    assert r.status_code == 403 and set(r.get_json()["fields"]) == {"resident_id"}, r.get_json()
    assert hub.table("passes") == before


def test_a_node_holding_a_refused_change_parks_it_visibly_and_keeps_syncing(two):
    hub, north = two.hub, two.north
    # what an older Menwei let a node write: an account, and a resident naming compound A's household
    old = CoreReplica(north.rt.store, north.rt.catalog, north.replica.id, north.rt.clock, hub=True)
    acct = old.insert("accounts", "a0000000-0000-4000-8000-000000000001", dict(EVIL, compound_id=two.b_id))
    r = north.api("POST", "/rows/residents", json={"household_id": two.households["A"], "name": "注入"})
    assert r.status_code == 201  # the node cannot know A's rows: the hub refuses it on push
    ok = north.api("POST", "/rows/residents", json={"household_id": two.households["B"], "name": "新居民"})
    north.sync()
    status = north.api("GET", "/sync/status").get_json()
    assert status["last_error"] is None and status["pending"] == 0
    parked = {(p["table"], p["id"], p["code"]) for p in status["parked"]}
    assert parked == {("accounts", acct["id"], "hub_only"), ("residents", r.get_json()["id"], "foreign_reference")}
    assert ok.get_json()["id"] in hub.table("residents") and r.get_json()["id"] not in hub.table("residents")
    north.api("POST", "/rows/residents", json={"household_id": two.households["B"], "name": "后来的"})
    north.sync()  # the queue moved on: later changes travel
    assert any(v[2] == "后来的" for v in hub.table("residents").values())


def test_an_honest_node_never_has_a_change_refused(gate):
    gate.check(resident_id=gate.zhang, direction="out")
    gate.check(resident_id=gate.zhang, direction="in")
    gate.east.api("POST", "/rows/incidents", json={"kind": "other", "status": "open", "title": "测试",
                                                   "household_id": gate.h1702})
    gate.cluster.sync_all()
    for node in gate.cluster.nodes.values():
        assert node.api("GET", "/sync/status").get_json()["parked"] == []
