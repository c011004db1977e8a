"""Reconciliation after an outage: what arrived late, conflicts, violations no gate could see, and putting it right."""
import datetime
from zoneinfo import ZoneInfo

import pytest

from menwei.times import iso

HOUR = 3_600_000


@pytest.fixture
def outage(gate):
    """Two gates offline for five hours while the rules are broken in every way only the hub can see.

    Returns the gate fixture with ``events`` naming what happened where.
    """
    c, hub = gate.cluster, gate.hub
    east, b20 = c.nodes["east-gate"], c.nodes["building-20"]
    gate.rule(level="closed", outing_quota=1, outing_days=2)
    work_pass = gate.hub_row("passes", kind="work", code="W0001", household_id=gate.h101, resident_id=gate.wang,
                             holder_name="王五", employer="新余市人民医院", certificate_checked_by="王老师",
                             valid_until=iso(c.base() + 30 * 24 * HOUR))
    c.sync_all()
    gate.t0 = c.base()

    def check(node, **body):
        body.setdefault("temperature", 36.5)
        r = node.api("POST", "/gate/checks", json=body)
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["allowed"], r.get_json()  # each gate alone sees nothing wrong
        return r.get_json()["event_id"]

    def node_row(node, table, **data):
        r = node.api("POST", f"/rows/{table}", json={"compound_id": c.compound_id, **data})
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    ev = {}
    c.base.advance(HOUR // 2)  # the hub revokes the work pass; neither gate hears of it
    r = hub.api("PATCH", f"/rows/passes/{work_pass}", json={"revoked": True, "revoked_reason": "单位停工"})
    assert r.status_code == 200, r.get_json()
    c.base.advance(HOUR // 2)
    ev["zhang_out"] = check(east, resident_id=gate.zhang, direction="out")
    gate.dup_east = node_row(east, "households", building_id=gate.b20, room="2301", label="20-2301")
    node_row(east, "residents", household_id=gate.dup_east, name="赵六")
    r = east.api("PATCH", f"/rows/residents/{gate.li}", json={"notes": "在家隔离"})
    assert r.status_code == 200
    c.base.advance(HOUR // 2)
    gate.dup_b20 = node_row(b20, "households", building_id=gate.b20, room="2301", label="20-2301")
    gate.zhao_b20 = node_row(b20, "residents", household_id=gate.dup_b20, name="赵六")
    r = b20.api("PATCH", f"/rows/residents/{gate.li}", json={"notes": "已返岗"})
    assert r.status_code == 200
    c.base.advance(HOUR // 2)
    ev["li_out"] = check(b20, resident_id=gate.li, direction="out")  # same household, other gate: over quota
    c.base.advance(HOUR)
    ev["pass_out"] = check(east, code="w0001", direction="out", id_checked=True)  # the revoked pass
    c.base.advance(HOUR)
    ev["wang_out_again"] = check(b20, resident_id=gate.wang, direction="out")  # never came back in
    c.base.advance(HOUR)
    gate.events, gate.work_pass, gate.b20_node = ev, work_pass, b20
    c.sync_all()  # five hours after the last sync
    return gate


def _violations(hub, **params):
    r = hub.api("GET", "/reconcile/violations", query_string=params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["violations"]


def test_after_an_outage_the_hub_lists_exactly_the_violations_and_conflicts(outage):
    g = outage
    found = {(v["kind"], tuple(e["event_id"] for e in v.get("events", ()))) for v in _violations(g.hub)}
    assert found == {
        ("quota_exceeded", (g.events["zhang_out"], g.events["li_out"])),
        ("pass_misused", (g.events["pass_out"],)),
        ("out_twice", (g.events["pass_out"], g.events["wang_out_again"])),
        ("duplicate_room", ()),
    }
    by_kind = {v["kind"]: v for v in _violations(g.hub)}
    assert by_kind["quota_exceeded"]["gates"] == ["building-20", "east-gate"]
    assert "revoked" in by_kind["pass_misused"]["message"] and "W0001" in by_kind["pass_misused"]["message"]
    assert {h["household_id"] for h in by_kind["duplicate_room"]["households"]} == {g.dup_east, g.dup_b20}
    assert {h["registered_by"] for h in by_kind["duplicate_room"]["households"]} == {"east-gate", "building-20"}
    conflicts = g.hub.api("GET", "/conflicts", query_string={"status": "open"}).get_json()["conflicts"]
    assert [(c["table"], c["row_id"], c["row_label"], c["field"]) for c in conflicts] == [("residents", g.li, "李四", "notes")]
    assert {conflicts[0]["winner_value"], conflicts[0]["loser_value"]} == {"在家隔离", "已返岗"}
    assert {conflicts[0]["winner_origin"], conflicts[0]["loser_origin"]} == {"east-gate", "building-20"}


def test_outage_report_shows_when_each_gate_was_offline_and_what_arrived_late(outage):
    g = outage
    r = g.hub.api("GET", "/reconcile/nodes/east-gate")
    assert r.status_code == 200, r.get_json()
    rep = r.get_json()
    assert len(rep["outages"]) == 1
    out = rep["outages"][0]
    assert out["from"] == iso(g.t0) and out["to"] == iso(g.t0 + 5 * 3_600_000) and not out["ongoing"]
    assert out["events_captured"] == 2
    assert rep["late"]["counts"]["gate_events"] == 2
    assert rep["late"]["counts"]["households"] == 1 and rep["late"]["counts"]["residents"] == 2
    assert {e["id"] for e in rep["late_events"]} == {g.events["zhang_out"], g.events["pass_out"]}
    assert sorted(e["delay_s"] for e in rep["late_events"]) == [2 * 3600, 4 * 3600]
    assert rep["conflicts_total"] == 1 and rep["violations_total"] == 4
    # A quiet period: nothing to report.
    r = g.hub.api("GET", "/reconcile/nodes/east-gate", query_string={"from": "2020-01-01", "to": "2020-01-31"})
    quiet = r.get_json()
    assert quiet["outages"] == [] and quiet["late"]["total"] == 0 and quiet["violations_total"] == 0


def test_choosing_the_other_value_of_a_conflict_reaches_every_node(outage):
    g = outage
    conflict = g.hub.api("GET", "/conflicts", query_string={"status": "open"}).get_json()["conflicts"][0]
    r = g.hub.api("POST", f"/conflicts/{conflict['id']}/resolve", json={"keep": "loser"})
    assert r.status_code == 200, r.get_json()
    assert g.hub.api("POST", f"/conflicts/{conflict['id']}/resolve", json={"keep": "winner"}).status_code == 409
    g.cluster.sync_all()
    for node in [g.hub, *g.cluster.nodes.values()]:
        assert node.api("GET", f"/rows/residents/{g.li}").get_json()["notes"] == conflict["loser_value"]
    assert g.hub.api("GET", "/conflicts", query_string={"status": "open"}).get_json()["count"] == 0
    for node in g.cluster.nodes.values():  # the gates had seen the clash too; the hub's choice settles it there
        assert node.api("GET", "/conflicts", query_string={"status": "open"}).get_json()["count"] == 0
        settled = [c for c in node.conflicts() if c["status"] == "superseded"]
        assert [c["field"] for c in settled] == ["notes"]
        r = node.api("POST", f"/conflicts/{settled[0]['id']}/resolve", json={"keep": "winner"})
        assert r.status_code == 409 and r.get_json()["code"] == "superseded"


def test_merging_duplicate_households_repoints_residents_everywhere_and_counts_their_outings(outage):
    g = outage
    r = g.hub.api("POST", "/households/merge", json={"keep": g.dup_east, "merge": g.dup_b20})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["moved"] == {"residents": 1}
    assert [v["kind"] for v in _violations(g.hub, kind="duplicate_room")] == []
    g.cluster.sync_all()
    for replica in [g.hub, *g.cluster.nodes.values()]:  # everywhere: the hub and both gates
        assert replica.api("GET", f"/rows/residents/{g.zhao_b20}").get_json()["household_id"] == g.dup_east
        assert replica.api("GET", f"/rows/households/{g.dup_b20}").get_json()["merged_into"] == g.dup_east
    b20 = g.b20_node
    # An outing under the merged row counts for the survivor: the next one from the household is refused.
    first = b20.api("POST", "/gate/checks", json={"resident_id": g.zhao_b20, "direction": "out", "temperature": 36.5})
    assert first.get_json()["allowed"]
    again = b20.api("POST", "/gate/checks", json={"room": "20-2301", "direction": "out", "temperature": 36.5})
    assert not again.get_json()["allowed"]
    assert "quota_used" in [x["code"] for x in again.get_json()["reasons"]]


@pytest.mark.parametrize("body, field, status", [
    ({"keep": "a", "merge": "a"}, "merge", 400),
    ({"keep": "nope", "merge": "x"}, "keep", 404),
    ({"keep": "x"}, "merge", 400),
])
def test_bad_merges_are_refused_naming_the_field(outage, body, field, status):
    if body.get("merge") == "x":
        body["merge"] = outage.dup_b20
    r = outage.hub.api("POST", "/households/merge", json=body)
    assert r.status_code == status and field in r.get_json()["fields"]


def test_acknowledging_a_violation_keeps_the_note_and_reaches_the_nodes(outage):
    g = outage
    v = _violations(g.hub, kind="quota_exceeded")[0]
    r = g.hub.api("POST", "/reconcile/violations/ack", json={"kind": v["kind"], "key": v["key"], "note": "已电话提醒"})
    assert r.status_code == 201, r.get_json()
    again = g.hub.api("POST", "/reconcile/violations/ack", json={"kind": v["kind"], "key": v["key"], "note": "x"})
    assert again.status_code == 409
    assert [x["key"] for x in _violations(g.hub, status="open") if x["kind"] == "quota_exceeded"] == []
    acked = _violations(g.hub, status="acknowledged")
    assert [(x["key"], x["ack"]["note"]) for x in acked] == [(v["key"], "已电话提醒")]
    g.cluster.sync_all()
    rows = g.b20_node.api("GET", "/rows/violation_acks").get_json()["rows"]
    assert [(x["key"], x["note"]) for x in rows] == [(v["key"], "已电话提醒")]


@pytest.mark.parametrize("params, field", [
    ({"from": "yesterday"}, "from"), ({"to": "2020-13-01"}, "to"), ({"from": "2020-02-05", "to": "2020-02-01"}, "from"),
    ({"kind": "speeding"}, "kind"), ({"status": "maybe"}, "status"), ({"compound_id": "nope"}, "compound_id"),
])
def test_bad_violation_queries_are_refused_naming_the_field(gate, params, field):
    r = gate.hub.api("GET", "/reconcile/violations", query_string=params)
    assert 400 <= r.status_code < 500 and field in r.get_json()["fields"]


@pytest.mark.parametrize("body, field", [
    ({"kind": "quota_exceeded", "key": "k"}, "note"), ({"kind": "x", "key": "k", "note": "n"}, "kind"),
    ({"kind": "out_twice", "key": "", "note": "n"}, "key"), ({"kind": "out_twice", "key": "k", "note": "   "}, "note"),
])
def test_bad_acknowledgements_are_refused_naming_the_field(gate, body, field):
    r = gate.hub.api("POST", "/reconcile/violations/ack", json=body)
    assert r.status_code == 400 and field in r.get_json()["fields"]


def test_browser_resolve_a_conflict_acknowledge_a_violation_and_merge_households(outage, browser):
    expect = pytest.importorskip("playwright.sync_api").expect
    g = outage
    page = browser.new_page(timezone_id="America/New_York")  # a laptop in another zone: times stay the compound's
    browser_dialogs = []
    page.on("dialog", lambda d: (browser_dialogs.append(d.message), d.dismiss()))
    try:
        g.hub.sign_in(page, g.cluster.server.url, "coordinator", "/reconcile")
        page.wait_for_selector("#nodes tr[data-node=east-gate]")
        assert "min" in page.inner_text("#nodes tr[data-node=east-gate]")  # the outage, in minutes
        seen = g.hub.api("GET", "/reconcile/nodes").get_json()["nodes"]
        seen = datetime.datetime.fromisoformat(next(n for n in seen if n["node_id"] == "east-gate")["last_seen"]
                                               .replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai"))
        expect(page.locator("#nodes tr[data-node=east-gate] td").nth(1)).to_have_text(
            f"{seen.year}/{seen.month}/{seen.day} {seen:%H:%M:%S}")  # last seen, in TIMEZONE
        page.click("#nodes tr[data-node=east-gate] a")
        page.wait_for_selector("#outage-report")
        assert "2 条登记 events captured" in page.inner_text("#outage-report")
        # The conflict, both values side by side; choose the other one.
        row = page.locator("#conflicts tr[data-conflict]")
        assert "在家隔离" in row.inner_text() and "已返岗" in row.inner_text()
        conflict = g.hub.api("GET", "/conflicts", query_string={"status": "open"}).get_json()["conflicts"][0]
        row.locator("button[data-keep=loser]").click()
        page.wait_for_selector("text=无待处理冲突 no open conflicts")
        assert g.hub.api("GET", f"/rows/residents/{g.li}").get_json()["notes"] == conflict["loser_value"]
        # Acknowledge the quota violation with a note.
        quota = page.locator("#violations tr[data-kind=quota_exceeded]")
        quota.locator("input[name=note]").fill("已电话提醒住户")
        quota.locator("button.ack").click()
        page.wait_for_selector("#violations tr[data-kind=quota_exceeded]", state="detached")
        assert [v["ack"]["note"] for v in _violations(g.hub, kind="quota_exceeded")] == ["已电话提醒住户"]
        page.check("#show-acked")
        page.wait_for_selector("#violations tr[data-kind=quota_exceeded] .note")
        # Merge the room registered twice, keeping the one east gate registered.
        dup = page.locator("#violations tr[data-kind=duplicate_room]")
        dup.locator("button.merge", has_text="east-gate").click()
        ask = page.locator("dialog#menwei-ask")
        expect(ask).to_contain_text("building-20")  # what goes, said before it goes
        page.keyboard.press("Escape")  # asked first: not merged
        expect(ask).to_be_hidden()
        assert g.hub.api("GET", f"/rows/households/{g.dup_b20}").get_json()["merged_into"] is None
        dup.locator("button.merge", has_text="east-gate").click()
        ask.locator("button.danger").click()
        page.wait_for_selector("#violations tr[data-kind=duplicate_room]", state="detached")
        assert g.hub.api("GET", f"/rows/households/{g.dup_b20}").get_json()["merged_into"] == g.dup_east
    finally:
        page.close()
    assert browser_dialogs == []
