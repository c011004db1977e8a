"""The audit trail followed forwards (?after=) as well as backwards, by period, and at a gate node."""
import pytest

from conftest import PASSWORD


def _audit(replica, status=200, **params):
    r = replica.http.get("/api/v1/audit", query_string=params)
    assert r.status_code == status, r.get_json()
    return r.get_json()


@pytest.fixture
def trail(gate):
    """A few edits at the hub and crossings at east gate on 3 February 2020, synced."""
    for i in range(4):
        gate.hub.api("PATCH", f"/rows/residents/{gate.wang}", json={"notes": f"第{i}次"})
    gate.check(resident_id=gate.wang, direction="out")
    gate.check(resident_id=gate.zhang, direction="out")
    gate.sync()
    return gate


def test_following_forwards_sees_what_paging_backwards_sees_in_the_other_order(trail):
    newest_first = [e["seq"] for e in _audit(trail.hub, limit=500)["entries"]]
    forward, after, pages = [], 0, 0
    while after is not None:
        page = _audit(trail.hub, limit=4, after=after)
        assert "next_before" not in page
        forward += [e["seq"] for e in page["entries"]]
        after, pages = page["next_after"], pages + 1
    assert forward == newest_first[::-1] and pages > 2
    last = forward[-1]
    assert _audit(trail.hub, after=last)["entries"] == []  # nothing new yet …
    trail.hub.api("PATCH", f"/rows/residents/{trail.li}", json={"notes": "新"})
    news = _audit(trail.hub, after=last)["entries"]  # … then exactly the new change
    assert [(e["table"], e["row_id"], e["values"]) for e in news] == [("residents", trail.li, {"notes": "新"})]
    assert news[0]["row_label"] == "李四"  # named from the row as it is now: the change wrote only notes


def test_periods_and_tables_narrow_the_trail(trail):
    events = _audit(trail.hub, table="gate_events", **{"from": "2020-02-03", "to": "2020-02-03"})["entries"]
    assert len(events) == 2 and {e["origin"] for e in events} == {"east-gate"}
    assert {e["row_label"] for e in events} == {"王五", "张三"}
    assert _audit(trail.hub, **{"from": "2020-02-04"})["entries"] == []
    assert _audit(trail.hub, **{"to": "2020-02-02"})["entries"] == []
    notes = _audit(trail.hub, table="residents", row_id=trail.wang, after=0)["entries"]
    assert [e["values"].get("notes") for e in notes] == [None, "第0次", "第1次", "第2次", "第3次"]


def test_a_gate_node_names_who_was_signed_in_there(trail):
    east = trail.east
    trail.hub.api("POST", "/accounts", json={"username": "gate-zhou", "password": PASSWORD, "role": "coordinator"})
    trail.sync()
    client = east.app.test_client()
    csrf = client.post("/api/v1/auth/login", json={"username": "gate-zhou", "password": PASSWORD}).get_json()["csrf_token"]
    r = client.post("/api/v1/rows/incidents", headers={"X-CSRF-Token": csrf}, json={
        "kind": "dispute", "status": "open", "title": "不戴口罩 no mask"})
    assert r.status_code == 201, r.get_json()
    entry = _audit(east, table="incidents")["entries"][0]
    assert entry["actor"] == "gate-zhou" and entry["actor_known"] and entry["origin"] == "east-gate"
    trail.sync()  # at the hub the same change shows where it was made; who is known only at the gate
    at_hub = _audit(trail.hub, table="incidents", origin="east-gate")["entries"][0]
    assert at_hub["row_id"] == entry["row_id"] and at_hub["actor"] is None


@pytest.mark.parametrize("params,field", [({"after": "-1"}, "after"), ({"after": "x"}, "after"),
                                          ({"after": "3", "before": "9"}, "after"), ({"to": "later"}, "to")])
def test_bad_cursors_are_refused_naming_the_field(gate, params, field):
    assert field in _audit(gate.hub, 400, **params)["fields"]


def test_the_audit_page_links_to_the_next_page_either_way(trail):
    html = trail.hub.http.get("/audit?limit=2").get_data(as_text=True)
    assert html.count("<tr data-seq=") == 2 and "before=" in html and "更早 Older" in html
    assert "张三" in html  # the newest change is 张三's crossing, named
    html = trail.hub.http.get("/audit?limit=2&after=0").get_data(as_text=True)
    assert html.count("<tr data-seq=") == 2 and "after=" in html and "更新 Newer" in html
    assert "/assets/page.js" in html


def test_a_page_followed_forwards_misses_nothing_committed_while_it_is_read(trail, monkeypatch):
    # The log and each append-only table are separate queries: read in one snapshot, or a change
    # committed between them (PostgreSQL's default gives each query its own) is left out of the page
    # and lies behind its cursor.
    from conftest import after_statement
    from sync.ids import new_id
    hub = trail.hub
    last = _audit(hub, limit=1)["entries"][0]["seq"]

    def two_commits():
        hub.replica.write([("residents", trail.li, {"notes": "查询之间"})])
        hub.replica.write([("gate_events", new_id(), {
            "compound_id": trail.cluster.compound_id, "gate": "west-gate", "direction": "in",
            "at": "2020-02-03T09:00:00", "decision": "allowed", "resident_id": trail.li})])
    landed = after_statement(monkeypatch, "FROM sync_log WHERE", two_commits)
    page = _audit(hub, after=last)
    monkeypatch.undo()
    assert landed
    followed = [e["seq"] for e in page["entries"]]
    followed += [e["seq"] for e in _audit(hub, after=followed[-1] if followed else last)["entries"]]
    assert followed == [last + 1, last + 2]
