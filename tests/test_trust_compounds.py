"""At the hub every read and write keeps to the compounds the signed-in account serves (issue 17, finding 3)."""
from trust_fixtures import two_fixture  # noqa: F401  (the fixture "two")

from conftest import PASSWORD


def _session(hub, username, role, compound_id):
    r = hub.api("POST", "/accounts", json={"username": username, "password": PASSWORD, "role": role,
                                           "compound_id": compound_id})
    assert r.status_code == 201, r.get_json()
    client = hub.app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    return client, {"X-CSRF-Token": r.get_json()["csrf_token"]}, r.get_json()["id"]


def test_an_account_of_compound_a_reads_none_of_bs_rows_at_the_hub(two):
    hub = two.hub
    client, _, _ = _session(hub, "op-a", "operator", two.compound_id)
    r = client.get(f"/api/v1/rows/residents?compound_id={two.b_id}")
    assert r.status_code == 403 and r.get_json()["fields"] == {"compound_id": "not a compound this account serves"}
    names = {row["name"] for row in client.get("/api/v1/rows/residents").get_json()["rows"]}
    assert names == {"居民A"}
    assert client.get(f"/api/v1/rows/residents/{two.residents['B']}").status_code == 404
    assert client.get(f"/api/v1/rows/residents/{two.residents['A']}").status_code == 200
    compounds = {row["id"] for row in client.get("/api/v1/rows/compounds").get_json()["rows"]}
    assert compounds == {two.compound_id}


def test_an_account_of_compound_a_writes_nothing_of_b_at_the_hub(two):
    hub = two.hub
    op, op_h, _ = _session(hub, "op-a", "operator", two.compound_id)
    before = hub.table("incidents")
    r = op.post("/api/v1/rows/incidents", headers=op_h, json={"compound_id": two.b_id, "kind": "other",
                                                               "status": "open", "title": "x"})
    assert r.status_code == 403 and "compound_id" in r.get_json()["fields"]
    assert hub.table("incidents") == before
    vol, vol_h, _ = _session(hub, "vol-a", "volunteer", two.compound_id)
    r = vol.post("/api/v1/rows/orders", headers=vol_h, json={"compound_id": two.b_id, "household_id": two.households["B"],
                                                             "delivery_date": "2020-02-04", "status": "requested"})
    assert r.status_code == 403
    coord, coord_h, _ = _session(hub, "co-a", "coordinator", two.compound_id)
    r = coord.patch(f"/api/v1/rows/residents/{two.residents['B']}", headers=coord_h, json={"name": "改"})
    assert r.status_code == 403 and hub.table("residents")[two.residents["B"]][2] == "居民B"
    r = coord.post("/api/v1/accounts", headers=coord_h, json={"username": "evil", "password": PASSWORD,
                                                              "role": "coordinator", "compound_id": two.b_id})
    assert r.status_code in (400, 403) and all(v[1] != "evil" for v in hub.table("accounts").values())
    r = coord.get(f"/api/v1/export/residents.csv?compound_id={two.b_id}")
    assert r.status_code == 403
    exported = coord.get("/api/v1/export/residents.csv").get_data(as_text=True)
    assert "居民A" in exported and "居民B" not in exported
    assert r.status_code == 403
    r = coord.get(f"/api/v1/dashboard?compound_id={two.b_id}")
    assert r.status_code == 403
    assert coord.get("/api/v1/dashboard").get_json()["filters"]["compound_ids"] == [two.compound_id]


def test_an_account_that_serves_two_compounds_lists_them_and_reaches_both(two):
    hub = two.hub
    _, _, acct_id = _session(hub, "co-ab", "coordinator", two.compound_id)
    r = hub.api("PATCH", f"/accounts/{acct_id}", json={"compounds": [two.b_id]})
    assert r.status_code == 200, r.get_json()
    listed = next(a for a in hub.api("GET", "/accounts").get_json()["accounts"] if a["id"] == acct_id)
    assert listed["compounds"] == sorted([two.compound_id, two.b_id])
    client = hub.app.test_client()
    client.post("/api/v1/auth/login", json={"username": "co-ab", "password": PASSWORD})
    names = {row["name"] for row in client.get("/api/v1/rows/residents").get_json()["rows"]}
    assert names == {"居民A", "居民B"}
    assert client.get(f"/api/v1/rows/residents?compound_id={two.b_id}").status_code == 200


def test_the_hub_desk_shows_an_account_only_the_households_it_serves(two):
    client, _, _ = _session(two.hub, "op-a", "operator", two.compound_id)
    assert client.get(f"/api/v1/gate/households/{two.households['B']}").status_code == 404
    assert client.get(f"/api/v1/gate/households/{two.households['A']}").status_code == 200
    found = client.get("/api/v1/gate/search?q=1-101").get_json()["results"]
    assert {r["household_id"] for r in found} == {two.households["A"]}


def test_the_audit_trail_and_the_node_register_show_an_account_only_its_compounds(two):
    hub = two.hub
    viewer, _, _ = _session(hub, "view-a", "viewer", two.compound_id)
    rows = {e["row_id"] for e in viewer.get("/api/v1/audit?table=residents").get_json()["entries"]}
    assert two.residents["A"] in rows and two.residents["B"] not in rows
    nodes = {n["id"] for n in viewer.get("/api/v1/nodes").get_json()["nodes"]}
    assert nodes == {"east-gate", "building-20"}
    assert viewer.get("/api/v1/reconcile/nodes/north-gate").status_code == 404
    coord, coord_h, _ = _session(hub, "co-a", "coordinator", two.compound_id)
    assert coord.post("/api/v1/nodes/north-gate/revoke", headers=coord_h).status_code == 404
    r = coord.post("/api/v1/nodes", headers=coord_h, json={"id": "north-gate", "compound_id": two.compound_id})
    assert r.status_code == 403  # registering it again would void B's token
    two.north.sync()  # north-gate's token still works


def test_the_roster_and_the_pass_sheet_at_the_hub_show_an_account_only_its_compound(two):
    hub = two.hub
    for cid, name in ((two.compound_id, "东门"), (two.b_id, "北门")):
        hub.api("POST", "/rows/posts", json={"compound_id": cid, "name": name, "kind": "gate"})
    code_b = hub.api("POST", "/gate/passes", json={"kind": "outing", "household_id": two.households["B"]}).get_json()
    viewer, _, _ = _session(hub, "view-a", "viewer", two.compound_id)
    posts = {p["post"]["name"] for p in viewer.get("/api/v1/roster/coverage").get_json()["posts"]}
    assert posts == {"东门"}
    coord, _, _ = _session(hub, "co-a", "coordinator", two.compound_id)
    sheet = coord.get(f"/passes/print?id={code_b['id']}").get_data(as_text=True)
    assert code_b["code"] not in sheet
