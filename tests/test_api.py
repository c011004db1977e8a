"""The shared JSON API: writes validated field by field, personal data masked, conflicts listed and resolved."""
import pytest

from conftest import ADMIN, AUTH
from menwei.tables import CATALOG


def _compound(client):
    return client.post("/api/v1/rows/compounds", json={"name": "绿景水岸小区"}, headers=AUTH).get_json()["id"]


@pytest.mark.parametrize("body, field", [
    ({"name": 123}, "name"),
    ({"name": "x" * 51}, "name"),
    ({"birth_date": "2020-13-45"}, "birth_date"),
    ({"party_member": "yes"}, "party_member"),
    ({"shoe_size": 42}, "shoe_size"),
    ({"household_id": None}, "household_id"),
])
def test_invalid_resident_gets_400_naming_the_field_and_nothing_is_written(client, body, field):
    cid = _compound(client)
    base = {"compound_id": cid, "household_id": "h1", "name": "张三"}
    r = client.post("/api/v1/rows/residents", json={**base, **body}, headers=AUTH)
    assert r.status_code == 400
    assert field in r.get_json()["fields"]
    assert client.get("/api/v1/rows/residents", headers=AUTH).get_json()["count"] == 0


def test_missing_required_field_is_named(client):
    r = client.post("/api/v1/rows/residents", json={"compound_id": _compound(client), "name": "张三"}, headers=AUTH)
    assert r.status_code == 400 and r.get_json()["fields"] == {"household_id": "is required"}


def test_body_that_is_not_an_object_gets_400(client):
    r = client.post("/api/v1/rows/residents", data="[1]", content_type="application/json", headers=AUTH)
    assert r.status_code == 400 and "JSON object" in r.get_json()["error"]


def test_unknown_table_and_row_get_404(client):
    assert client.get("/api/v1/rows/passwords", headers=AUTH).status_code == 404
    assert client.get("/api/v1/rows/residents/nope", headers=AUTH).status_code == 404
    assert client.patch("/api/v1/rows/residents/nope", json={"name": "x"}, headers=AUTH).status_code == 404


def test_id_number_and_phone_are_masked_in_answers(client):
    cid = _compound(client)
    rid = client.post("/api/v1/rows/residents", headers=AUTH, json={
        "compound_id": cid, "household_id": "h", "name": "张三", "phone": "13812345678",
        "id_number": "360502199001011234"}).get_json()["id"]
    row = client.get(f"/api/v1/rows/residents/{rid}", headers=AUTH).get_json()
    assert row["phone"] == "138****5678" and row["id_number"] == "3605**********1234"
    assert client.get("/api/v1/rows/residents?phone=13812345678", headers=AUTH).status_code == 400


def test_deleted_row_disappears_from_lists_and_cannot_be_edited(client):
    cid = _compound(client)
    rid = client.post("/api/v1/rows/residents", json={"compound_id": cid, "household_id": "h", "name": "张三"},
                      headers=AUTH).get_json()["id"]
    assert client.delete(f"/api/v1/rows/residents/{rid}", headers=AUTH).status_code == 200
    assert client.get("/api/v1/rows/residents", headers=AUTH).get_json()["count"] == 0
    assert client.patch(f"/api/v1/rows/residents/{rid}", json={"name": "李四"}, headers=AUTH).status_code == 404


def test_gate_events_are_never_changed_or_deleted(client):
    eid = client.post("/api/v1/rows/gate_events", headers=AUTH, json={
        "compound_id": _compound(client), "gate": "east", "direction": "in", "at": "2020-02-04T08:00:00",
        "decision": "allowed"}).get_json()["id"]
    assert client.patch(f"/api/v1/rows/gate_events/{eid}", json={"gate": "x"}, headers=AUTH).status_code == 405
    assert client.delete(f"/api/v1/rows/gate_events/{eid}", headers=AUTH).status_code == 405
    kept = client.get(f"/api/v1/rows/gate_events/{eid}", headers=AUTH)
    assert kept.status_code == 200 and (kept.get_json()["gate"], kept.get_json()["decision"]) == ("east", "allowed")


@pytest.mark.parametrize("method, path", [("GET", "/api/v1/rows/residents"), ("GET", "/api/v1/conflicts"),
                                          ("POST", "/api/v1/nodes"), ("GET", "/api/v1/sync/status")])
def test_hub_api_needs_the_coordinator_token(client, method, path):
    assert client.open(path, method=method).status_code == 401
    assert client.open(path, method=method, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_node_cannot_write_rows_of_another_compound(cluster):
    east = cluster.nodes["east-gate"]
    east.sync()
    r = east.api("POST", "/rows/buildings", json={"compound_id": "someone-else", "number": "1"})
    assert r.status_code == 403 and "compound_id" in r.get_json()["fields"]
    assert east.api("POST", "/rows/compounds", json={"name": "new"}).status_code == 403


def test_node_not_yet_enrolled_says_how_to_enrol(tmp_path):
    from node import create_app
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/n.db", "ADMIN_TOKEN": ADMIN}, instance_path=str(tmp_path))
    r = app.test_client().post("/api/v1/rows/buildings", json={"number": "1"}, headers=AUTH)
    assert r.status_code == 409 and "menwei node enroll" in r.get_json()["error"]


def test_same_field_edited_at_two_offline_gates_converges_and_is_listed_then_resolved_everywhere(cluster):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    hh = cluster.hub.api("POST", "/rows/households", json={"compound_id": cluster.compound_id, "building_id": "b",
                                                            "room": "1702"}).get_json()["id"]
    rid = cluster.hub.api("POST", "/rows/residents", json={"compound_id": cluster.compound_id, "household_id": hh,
                                                            "name": "廖志平", "phone": "13900000000"}).get_json()["id"]
    cluster.sync_all(rounds=1)
    east.api("PATCH", f"/rows/residents/{rid}", json={"notes": "东门: 已返回"})
    cluster.base.advance(1000)
    b20.api("PATCH", f"/rows/residents/{rid}", json={"notes": "20栋: 居家隔离"})
    cluster.sync_all()
    values = {n.api("GET", f"/rows/residents/{rid}").get_json()["notes"] for n in (east, b20, cluster.hub)}
    assert values == {"20栋: 居家隔离"}
    (c,) = cluster.hub.api("GET", "/conflicts?status=open").get_json()["conflicts"]
    assert (c["table"], c["row_id"], c["field"]) == ("residents", rid, "notes")
    assert (c["winner_value"], c["winner_origin"]) == ("20栋: 居家隔离", "building-20")
    assert (c["loser_value"], c["loser_origin"]) == ("东门: 已返回", "east-gate")
    assert c["winner_hlc"] > c["loser_hlc"]
    r = cluster.hub.api("POST", f"/conflicts/{c['id']}/resolve", json={"keep": "loser", "by": "何主任"})
    assert r.status_code == 200
    assert cluster.hub.api("POST", f"/conflicts/{c['id']}/resolve", json={"keep": "loser"}).status_code == 409
    cluster.sync_all(rounds=1)
    values = {n.api("GET", f"/rows/residents/{rid}").get_json()["notes"] for n in (east, b20, cluster.hub)}
    assert values == {"东门: 已返回"}
    assert cluster.hub.api("GET", "/conflicts?status=open").get_json()["count"] == 0


@pytest.mark.parametrize("body", [{}, {"keep": "both"}, {"keep": "winner", "extra": 1}])
def test_resolving_with_a_bad_choice_gets_400(client, body):
    assert client.post("/api/v1/conflicts/1/resolve", json=body, headers=AUTH).status_code == 400


def test_node_sync_status_reports_health(cluster):
    east = cluster.nodes["east-gate"]
    east.api("POST", "/rows/buildings", json={"number": "20"})
    before = east.api("GET", "/sync/status").get_json()
    assert before["pending"] == 1 and before["schema_version"] == CATALOG.schema_version and before["replica_id"] == "east-gate"
    assert east.http.post("/api/v1/sync/run").status_code == 200
    after = east.api("GET", "/sync/status").get_json()
    assert after["pending"] == 0 and after["last_success_ms"] and after["last_error"] is None
    assert after["skew_ms"] == 0


def test_a_client_chosen_id_must_be_a_uuid_and_a_retried_create_is_refused(client):
    cid = _compound(client)
    bad = client.post("/api/v1/rows/buildings", json={"id": "b20", "compound_id": cid, "number": "20"}, headers=AUTH)
    assert bad.status_code == 400 and "id" in bad.get_json()["fields"]
    rid = "0b8e4c1e-7a52-4d53-9a55-7f0e6c2d3a10"
    first = client.post("/api/v1/rows/buildings", json={"id": rid, "compound_id": cid, "number": "20"}, headers=AUTH)
    again = client.post("/api/v1/rows/buildings", json={"id": rid, "compound_id": cid, "number": "20"}, headers=AUTH)
    assert (first.status_code, again.status_code) == (201, 409)


def test_a_conflict_resolved_while_the_list_is_read_shows_one_state_not_superseded(cluster, monkeypatch):
    # The list reads the conflicts, then each row's current version: one snapshot, else a resolution
    # committed between the two (PostgreSQL gives each query its own) showed as "superseded".
    from conftest import after_statement
    east, b20, hub = cluster.nodes["east-gate"], cluster.nodes["building-20"], cluster.hub
    hh = hub.api("POST", "/rows/households", json={"compound_id": cluster.compound_id, "building_id": "b",
                                                   "room": "1702"}).get_json()["id"]
    rid = hub.api("POST", "/rows/residents", json={"compound_id": cluster.compound_id, "household_id": hh,
                                                   "name": "廖志平"}).get_json()["id"]
    cluster.sync_all(rounds=1)
    east.api("PATCH", f"/rows/residents/{rid}", json={"notes": "东门: 已返回"})
    cluster.base.advance(1000)
    b20.api("PATCH", f"/rows/residents/{rid}", json={"notes": "20栋: 居家隔离"})
    cluster.sync_all()
    (c,) = hub.api("GET", "/conflicts").get_json()["conflicts"]
    resolved = after_statement(monkeypatch, "FROM sync_conflicts WHERE", lambda: hub.api(
        "POST", f"/conflicts/{c['id']}/resolve", json={"keep": "loser"}).status_code)
    (during,) = hub.api("GET", "/conflicts").get_json()["conflicts"]
    monkeypatch.undo()
    assert resolved == [200] and during["status"] == "open"  # as it was when the list was read
    assert [x["status"] for x in hub.api("GET", "/conflicts").get_json()["conflicts"]] == ["resolved"]
