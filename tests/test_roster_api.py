"""Duty rosters over HTTP and in the browser: templates, gaps, check-in on gate events, offline edits."""
import io

import pytest
from openpyxl import load_workbook

from conftest import LiveServer


@pytest.fixture
def roster(gate):
    """The east gate's post with three volunteers; the clock stands at 2020-02-03 11:20 in Xinyu."""
    gate.post = gate.hub_row("posts", name="东门", kind="gate", node_id="east-gate")
    gate.vols = [gate.hub_row("volunteers", name=n, organisation="区委宣传部", party_member=True)
                 for n in ("何智勇", "张青青", "晏小莉")]
    gate.sync()
    return gate


def _fill(node, post, **kw):
    body = {"post_id": post, "start_date": "2020-02-03", "days": 7, "shift_hours": 5, "first_hour": 0, **kw}
    r = node.api("POST", "/roster/fill", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _coverage(node):
    return node.api("GET", "/roster/coverage").get_json()["posts"][0]


def test_a_post_with_no_shifts_is_one_gap_from_now_to_the_end_of_the_week(roster):
    assert roster.east.api("GET", "/roster/coverage").get_json()["from"] == "2020-02-02T16:00:00.000Z"  # shown from midnight…
    cov = _coverage(roster.east)
    assert len(cov["gaps"]) == 1 and cov["gaps"][0]["from"] == "2020-02-03T03:20:00.000Z"  # …its gaps at 11:20, now
    assert cov["gaps"][0]["to"] == "2020-02-09T16:00:00.000Z"


def test_a_week_filled_from_a_template_has_no_gap_and_removing_a_shift_makes_one(roster):
    made = _fill(roster.east, roster.post, volunteer_ids=roster.vols)
    assert made["created"] == 34 - 2  # 168 hours in 5-hour shifts, the last one cut short; 00–05 and 05–10 are over
    cov = _coverage(roster.east)
    assert cov["gaps"] == [] and cov["overlaps"] == []
    night = next(s for s in cov["shifts"] if s["starts_at"] == "2020-02-03T12:00:00.000Z")  # 20:00–01:00 local
    assert night["ends_at"] == "2020-02-03T17:00:00.000Z"  # crosses midnight
    assert roster.east.api("DELETE", f"/rows/shifts/{night['id']}").status_code == 200
    gaps = _coverage(roster.east)["gaps"]
    assert gaps == [{"from": "2020-02-03T12:00:00.000Z", "to": "2020-02-03T17:00:00.000Z"}]


def test_filling_twice_shows_overlaps(roster):
    _fill(roster.east, roster.post, days=1)
    _fill(roster.east, roster.post, days=1, shift_hours=4)
    assert _coverage(roster.east)["overlaps"]


def test_the_checked_in_volunteer_is_the_operator_on_gate_events_between_check_in_and_check_out(roster):
    _fill(roster.east, roster.post, days=1, volunteer_ids=roster.vols)
    duty = roster.east.api("GET", "/roster/on-duty").get_json()["posts"][0]["on_duty"]
    assert len(duty) == 1
    shift = duty[0]
    assert roster.check(resident_id=roster.zhang, direction="out").get("event_id")
    r = roster.east.api("POST", f"/roster/shifts/{shift['id']}/check-in")
    assert r.status_code == 200
    assert roster.east.api("POST", f"/roster/shifts/{shift['id']}/check-in").status_code == 409
    answer = roster.check(resident_id=roster.li, direction="out")
    events = roster.east.api("GET", "/gate/events").get_json()["events"]
    by_id = {e["id"]: e for e in events}
    assert by_id[answer["event_id"]]["operator"] == shift["volunteer"]
    assert roster.east.api("POST", f"/roster/shifts/{shift['id']}/check-out").status_code == 200
    later = roster.check(resident_id=roster.wang, direction="out")
    assert {e["id"]: e for e in roster.east.api("GET", "/gate/events").get_json()["events"]}[
        later["event_id"]]["operator"] is None
    assert [e["operator"] for e in events if e["id"] != answer["event_id"]] == [None]


def test_check_out_before_check_in_is_refused(roster):
    sid = _fill(roster.east, roster.post, days=1)["ids"][0]
    assert roster.east.api("POST", f"/roster/shifts/{sid}/check-out").status_code == 409


def test_same_shift_edited_at_two_offline_nodes_converges_with_the_clash_logged(roster):
    b20 = roster.cluster.nodes["building-20"]
    sid = _fill(roster.hub, roster.post, days=1)["ids"][2]
    roster.cluster.sync_all(rounds=1)
    roster.east.api("PATCH", f"/rows/shifts/{sid}", json={"volunteer_id": roster.vols[0], "notes": "东门改"})
    roster.cluster.base.advance(60_000)
    b20.api("PATCH", f"/rows/shifts/{sid}", json={"volunteer_id": roster.vols[1]})
    roster.cluster.sync_all()
    rows = {n.api("GET", f"/rows/shifts/{sid}").get_json()["volunteer_id"] for n in (roster.east, b20, roster.hub)}
    assert rows == {roster.vols[1]}
    assert roster.east.api("GET", f"/rows/shifts/{sid}").get_json()["notes"] == "东门改"  # no clash on notes
    clashes = [(c["table"], c["field"]) for c in roster.hub.api("GET", "/conflicts").get_json()["conflicts"]]
    assert clashes == [("shifts", "volunteer_id")]


def test_handover_notes_pass_from_one_shift_to_the_next(roster):
    r = roster.east.api("POST", "/roster/handovers", json={"post_id": roster.post, "note": "20栋1702 湖北牌照车已核实"})
    assert r.status_code == 201
    notes = roster.east.api("GET", f"/roster/handovers?post_id={roster.post}").get_json()["handovers"]
    assert [n["note"] for n in notes] == ["20栋1702 湖北牌照车已核实"]
    assert roster.east.api("POST", "/roster/handovers", json={"post_id": roster.post}).status_code == 400
    assert roster.east.api("POST", "/roster/handovers", json={"post_id": "nope", "note": "x"}).status_code == 404


@pytest.mark.parametrize("body, field", [({"shift_hours": 0}, "shift_hours"), ({"days": 30}, "days"),
                                         ({"start_date": "tomorrow"}, "start_date"), ({"first_hour": 24}, "first_hour")])
def test_bad_template_gets_400_naming_the_field(roster, body, field):
    r = roster.east.api("POST", "/roster/fill", json={"post_id": roster.post, "start_date": "2020-02-03",
                                                      "shift_hours": 5, **body})
    assert r.status_code == 400 and field in r.get_json()["fields"]


def test_week_exports_to_xlsx_and_prints(roster):
    _fill(roster.east, roster.post, days=7, volunteer_ids=roster.vols)
    r = roster.east.http.get("/roster/export.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data))["东门"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][:3] == ("2020-02-03 10:00", "2020-02-03 15:00", "何智勇") and len(rows) == 1 + 32
    page = roster.east.http.get("/roster/print").get_data(as_text=True)
    assert page.count("<tr>") == 1 + 32 and "东门" in page


def test_browser_fill_a_week_remove_a_shift_and_see_the_gap(roster, browser):
    sync_api = pytest.importorskip("playwright.sync_api")
    server = LiveServer(roster.east.app)
    try:
        page = browser.new_page()
        roster.east.sign_in(page, server.url, "coordinator", "/roster")
        sync_api.expect(page.locator("li.gap")).to_have_count(1)  # nothing planned yet
        page.select_option("form.fill select[name=shift_hours]", "4")
        page.click("form.fill button[type=submit]")
        sync_api.expect(page.locator("li.ok")).to_have_count(1)
        sync_api.expect(page.locator("tr[data-shift]")).to_have_count(42 - 2)  # 00–04 and 04–08 are over
        page.click("details.shifts summary")
        page.locator("button.remove").nth(3).click()  # 08–12 is running: the fourth is 20:00–24:00 local
        page.click("#confirmdlg button[value=remove]")
        sync_api.expect(page.locator("li.gap")).to_have_count(1)
        sync_api.expect(page.locator(".timeline .gap")).to_have_count(1)
        assert "20:00" in page.inner_text("li.gap")
        page.close()
    finally:
        server.stop()


def test_browser_check_in_at_the_desk_and_leave_a_handover_note(roster, browser):
    sync_api = pytest.importorskip("playwright.sync_api")
    _fill(roster.east, roster.post, days=1, volunteer_ids=roster.vols)
    server = LiveServer(roster.east.app)
    try:
        page = browser.new_page()
        roster.east.sign_in(page, server.url, "operator")
        page.click("#checkin")
        sync_api.expect(page.locator("#checkout")).to_have_count(1)
        page.fill("#handnote", "1702 的车已核实，无需再查")
        page.click("#handsave")
        sync_api.expect(page.locator("#duty .handover")).to_contain_text("1702 的车已核实")
        page.fill("#q", "20-1702")
        page.press("#q", "Enter")
        page.wait_for_selector("#card:not([hidden])")
        page.fill("#temp", "36.5")
        page.press("#temp", "Enter")
        page.wait_for_selector("#verdict:not([hidden])")
        page.close()
    finally:
        server.stop()
    events = roster.east.api("GET", "/gate/events").get_json()["events"]
    duty = roster.east.api("GET", "/roster/on-duty").get_json()["posts"][0]["on_duty"][0]
    assert [e["operator"] for e in events] == [duty["volunteer"]] and duty["checked_in_at"]


def test_posts_and_volunteers_are_created_in_this_compound(roster):
    r = roster.hub.api("POST", "/roster/posts", json={"name": "20栋车库门", "kind": "building_door"})
    assert r.status_code == 201, r.get_json()
    v = roster.hub.api("POST", "/roster/volunteers", json={"name": "胡师傅", "phone": "13900001111"})
    assert v.status_code == 201, v.get_json()
    roster.sync()
    posts = {p["post"]["name"]: p["post"] for p in roster.east.api("GET", "/roster/coverage").get_json()["posts"]}
    assert posts["20栋车库门"]["kind"] == "building_door"
    assert posts["20栋车库门"]["compound_id"] == roster.cluster.compound_id


def test_a_building_door_post_names_its_building(roster):
    b20 = roster.hub.api("POST", "/rows/buildings", json={"compound_id": roster.cluster.compound_id,
                                                          "number": "20"}).get_json()["id"]
    r = roster.hub.api("POST", "/roster/posts", json={"name": "20栋门", "kind": "building_door", "building_id": b20,
                                                      "node_id": "building-20"})
    assert r.status_code == 201 and r.get_json()["building_id"] == b20, r.get_json()
    roster.sync()
    posts = {p["post"]["name"]: p["post"] for p in roster.east.api("GET", "/roster/coverage").get_json()["posts"]}
    assert posts["20栋门"]["building_id"] == b20


@pytest.mark.parametrize("path, body, field", [
    ("/roster/posts", {"name": ""}, "name"), ("/roster/posts", {"name": "门", "kind": "tower"}, "kind"),
    ("/roster/volunteers", {"name": "x" * 51}, "name"), ("/roster/volunteers", {"name": "胡", "phone": "call"}, "phone"),
    ("/roster/posts", {"name": "20栋门", "kind": "building_door", "building_id": "no-such-building"}, "building_id"),
])
def test_a_bad_post_or_volunteer_gets_400_naming_the_field_and_writes_nothing(roster, path, body, field):
    before = (len(roster.hub.table("posts")), len(roster.hub.table("volunteers")))
    r = roster.hub.api("POST", path, json=body)
    assert r.status_code == 400 and field in r.get_json()["fields"], r.get_json()
    assert (len(roster.hub.table("posts")), len(roster.hub.table("volunteers"))) == before
