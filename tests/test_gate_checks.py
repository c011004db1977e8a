"""POST /api/v1/gate/checks: every rule, and exactly one gate event per check, allowed or denied."""
import uuid

import pytest

from conftest import LiveServer
from menwei.times import iso
from sync.http_client import SyncFailed

DAY = 86_400_000
HOUR = 3_600_000


def _codes(answer):
    return [r["code"] for r in answer["reasons"]]


def _events(node):
    return node.table("gate_events")


def test_every_check_writes_exactly_one_gate_event_allowed_or_denied(gate):
    gate.rule(level="closed")
    gate.sync()
    answers = [gate.check(resident_id=gate.zhang, direction="out"),
               gate.check(resident_id=gate.li, direction="out"),
               gate.check(code="NOPE42", direction="in"),
               gate.check(resident_id=gate.zhang, direction="in", temperature=38.2)]
    assert [a["decision"] for a in answers] == ["allowed", "denied", "denied", "denied"]
    events = _events(gate.east)
    assert len(events) == 4 and {a["event_id"] for a in answers} == set(events)
    # version-7 ids, in the order the checks were made: the unique index on ids grows at its end
    assert [uuid.UUID(a["event_id"]).version for a in answers] == [7] * 4
    assert [a["event_id"] for a in answers] == sorted(a["event_id"] for a in answers)


def test_open_compound_lets_residents_out_without_quota(gate):
    for _ in range(3):
        assert gate.check(resident_id=gate.zhang, direction="out")["allowed"]


@pytest.mark.parametrize("level", ["semi_closed", "closed"])
def test_second_outing_within_two_days_is_denied_with_when_next(gate, level):
    gate.rule(level=level, outing_quota=1, outing_days=2)
    gate.sync()
    first = gate.check(resident_id=gate.zhang, direction="out")
    assert first["allowed"] and first["purpose"] == "outing"
    gate.cluster.base.advance(2 * HOUR)
    assert gate.check(resident_id=gate.zhang, direction="in")["allowed"]  # coming back never counts
    second = gate.check(resident_id=gate.li, direction="out")
    assert not second["allowed"] and _codes(second) == ["quota_used"]
    reason = second["reasons"][0]
    assert reason["last_outing_at"] == first["at"]
    assert reason["next_outing_at"] == iso(gate.cluster.base() - 2 * HOUR + 2 * DAY)
    assert second["next_outing_at"] == reason["next_outing_at"]


def test_quota_counts_over_several_cycles_and_across_midnight(gate):
    base = gate.cluster.base
    base.ms = 1_580_745_600_000 - HOUR  # 2020-02-03 23:00 UTC, an hour before midnight
    gate.rule(level="closed", outing_quota=2, outing_days=2)
    gate.sync()
    assert gate.check(resident_id=gate.zhang, direction="out")["allowed"]      # day 1, 23:00
    base.advance(2 * HOUR)
    assert gate.check(resident_id=gate.zhang, direction="in")["allowed"]       # day 2, 01:00
    assert gate.check(resident_id=gate.li, direction="out")["allowed"]         # second outing of two
    base.advance(HOUR)
    assert gate.check(resident_id=gate.li, direction="in")["allowed"]
    third = gate.check(resident_id=gate.zhang, direction="out")                # day 2, 02:00: none left
    assert _codes(third) == ["quota_used"]
    assert third["next_outing_at"] == iso(1_580_745_600_000 - HOUR + 2 * DAY)
    base.ms = 1_580_745_600_000 - HOUR + 2 * DAY + 1000                        # the first one has aged out
    assert gate.check(resident_id=gate.zhang, direction="out")["allowed"]
    assert not gate.check(resident_id=gate.li, direction="out")["allowed"]     # the 01:00 one still counts


def test_other_households_have_their_own_quota(gate):
    gate.rule(level="closed")
    gate.sync()
    assert gate.check(resident_id=gate.zhang, direction="out")["allowed"]
    assert "quota_used" in _codes(gate.check(resident_id=gate.li, direction="out"))  # 1702's outing is used
    assert gate.check(resident_id=gate.wang, direction="out")["allowed"]  # 101 still has its own


def test_rule_changed_at_the_hub_mid_day_applies_from_the_next_pull(gate):
    gate.check(resident_id=gate.zhang, direction="out")
    assert gate.check(resident_id=gate.li, direction="out")["allowed"]  # morning: open
    gate.cluster.base.advance(4 * HOUR)
    gate.rule(level="closed")  # noon: the hub closes the compound
    assert gate.check(resident_id=gate.li, direction="out")["allowed"]  # not pulled yet: still the old rule
    gate.sync()
    denied = gate.check(resident_id=gate.li, direction="out")
    assert _codes(denied) == ["quota_used"]
    assert denied["rules"]["level"] == "closed"


def test_check_is_judged_by_the_rules_in_force_at_its_time(gate):
    gate.hub_row("control_rules", effective_from=iso(gate.cluster.base() + DAY), level="closed")
    gate.sync()
    gate.check(resident_id=gate.zhang, direction="out")
    assert gate.check(resident_id=gate.li, direction="out")["allowed"]  # closure announced for tomorrow
    gate.cluster.base.advance(DAY + 1)
    assert _codes(gate.check(resident_id=gate.li, direction="out")) == ["quota_used"]


def test_building_quarantine_lets_nobody_from_that_building_through(gate):
    gate.hub_row("control_rules", building_id=gate.b20, effective_from=iso(gate.cluster.base()), level="quarantine")
    gate.sync()
    for direction in ("out", "in"):
        answer = gate.check(room="20栋1702", direction=direction)
        assert _codes(answer) == ["quarantined_building"]
    assert gate.check(resident_id=gate.wang, direction="out")["allowed"]  # building 1 is not quarantined


def test_vehicle_policy_switching_from_exit_only_to_banned(gate):
    gate.rule(vehicle_policy="exit_only")
    gate.sync()
    assert gate.check(plate="鄂a 12345", direction="out")["allowed"]
    assert _codes(gate.check(plate="鄂A12345", direction="in")) == ["vehicle_exit_only"]
    gate.cluster.base.advance(HOUR)
    gate.rule(vehicle_policy="banned")
    gate.sync()
    for direction in ("out", "in"):
        assert _codes(gate.check(plate="鄂A·12345", direction=direction)) == ["vehicle_banned"]


def test_fever_denies_opens_an_incident_and_raises_the_alert(gate):
    answer = gate.check(resident_id=gate.zhang, direction="in", temperature=37.3)
    assert not answer["allowed"] and _codes(answer) == ["fever"]
    incident = gate.east.api("GET", f"/rows/incidents/{answer['incident_id']}").get_json()
    assert incident["kind"] == "fever" and incident["status"] == "open"
    assert incident["gate_event_id"] == answer["event_id"] and "37.3" in incident["title"]
    alerts = gate.east.api("GET", "/gate/alerts").get_json()["alerts"]
    assert [(a["id"], a["gate_event_id"]) for a in alerts] == [(answer["incident_id"], answer["event_id"])]
    assert gate.check(resident_id=gate.li, direction="in", temperature=37.2)["allowed"]
    assert len(gate.east.api("GET", "/gate/alerts").get_json()["alerts"]) == 1  # 37.2 is under the threshold


def test_fever_threshold_follows_the_rule(gate):
    gate.rule(fever_threshold=37.0)
    gate.sync()
    assert _codes(gate.check(resident_id=gate.li, direction="in", temperature=37.1)) == ["fever"]


@pytest.mark.parametrize("pass_fields, codes", [
    ({"revoked": True, "revoked_reason": "家属确诊"}, ["pass_revoked"]),
    ({"valid_until": "2020-02-01T00:00:00Z"}, ["pass_expired"]),
    ({"valid_from": "2030-01-01T00:00:00Z"}, ["pass_not_yet_valid"]),
    ({"revoked": True, "valid_until": "2020-02-01T00:00:00Z"}, ["pass_revoked", "pass_expired"]),
])
def test_revoked_and_expired_passes_are_denied_with_every_reason(gate, pass_fields, codes):
    gate.hub_row("passes", kind="outing", code="K7Q2M9", household_id=gate.h1702, **pass_fields)
    gate.sync()
    answer = gate.check(code="K7Q2M9", direction="out")
    assert _codes(answer) == codes


def test_work_pass_needs_checked_certificate_and_id_but_no_quota(gate):
    gate.rule(level="closed")
    gate.hub_row("passes", kind="work", code="WORK01", household_id=gate.h1702, resident_id=gate.zhang,
                 employer="新余市人民医院", certificate_checked_by="何主任", valid_until="2030-01-01T00:00:00Z")
    gate.hub_row("passes", kind="work", code="WORK02", household_id=gate.h1702, resident_id=gate.li,
                 employer="超市")
    gate.sync()
    assert gate.check(resident_id=gate.li, direction="out")["allowed"]  # the household's outing today
    assert _codes(gate.check(code="WORK01", direction="out")) == ["id_not_checked"]
    work = gate.check(code="MENWEI:WORK01", direction="out", id_checked=True)  # scanned QR payload
    assert work["allowed"] and work["purpose"] == "work"
    assert _codes(gate.check(code="WORK02", direction="out", id_checked=True)) == ["certificate_missing"]


def test_unknown_code_is_denied_and_recorded(gate):
    answer = gate.check(code="ZZZZ99", direction="in")
    assert _codes(answer) == ["unknown_code"] and answer["event_id"] in _events(gate.east)


def test_visitor_is_registered_with_id_and_phone_stored_but_masked(gate):
    answer = gate.check(direction="in", visitor={"name": "快递员刘", "id_number": "360502199001011234",
                                                 "phone": "13900001111", "reason": "送快递"})
    assert answer["allowed"] and answer["purpose"] == "visitor"
    assert answer["person"]["phone"] == "139****1111"
    event = gate.east.api("GET", f"/rows/gate_events/{answer['event_id']}").get_json()
    assert event["person_id_number"] == "3605**********1234" and event["reason"] == "送快递"
    gate.rule(level="closed")
    gate.sync()
    denied = gate.check(direction="in", visitor={"name": "推销员", "reason": "推销"})
    assert _codes(denied) == ["unknown_person"], denied


@pytest.mark.parametrize("body, field", [
    ({"resident_id": "x", "direction": "sideways", "temperature": 36.5}, "direction"),
    ({"resident_id": "x", "direction": "in", "temperature": 98.6}, "temperature"),
    ({"resident_id": "x", "direction": "in", "temperature": "hot"}, "temperature"),
    ({"resident_id": "x", "direction": "in"}, "temperature"),
    ({"direction": "in", "temperature": 36.5}, "subject"),
    ({"direction": "in", "temperature": 36.5, "visitor": {"name": "x", "reason": "y", "id_number": "123"}},
     "visitor"),
    ({"resident_id": "x", "direction": "in", "temperature": 36.5, "sneaky": 1}, "sneaky"),
])
def test_bad_check_gets_400_naming_the_field_and_writes_nothing(gate, body, field):
    r = gate.east.api("POST", "/gate/checks", json=body)
    assert r.status_code == 400 and field in r.get_json()["fields"]
    assert _events(gate.east) == {}


def test_unknown_resident_or_room_gets_404_and_writes_nothing(gate):
    assert gate.east.api("POST", "/gate/checks", json={"resident_id": "ghost", "direction": "in",
                                                        "temperature": 36.5}).status_code == 404
    assert gate.east.api("POST", "/gate/checks", json={"room": "99-9999", "direction": "in",
                                                        "temperature": 36.5}).status_code == 404
    assert _events(gate.east) == {}


def test_checks_keep_working_with_the_hub_down_and_sync_later(gate):
    gate.cluster.close()  # the hub is unreachable until it is served again below
    answers = [gate.check(resident_id=gate.zhang, direction="out"), gate.check(code="NOPE", direction="in")]
    assert len(_events(gate.east)) == 2
    status = gate.east.api("GET", "/sync/status").get_json()
    assert status["pending"] >= 2
    assert {a["decision"] for a in answers} == {"allowed", "denied"}
    with pytest.raises(SyncFailed):
        gate.sync()
    gate.cluster.server = LiveServer(gate.hub.app)  # the hub is back (on a new port); the fixture stops it
    with gate.east.rt.store.write() as tx:
        tx.set_state("hub_url", gate.cluster.server.url)
    gate.east.rt._client = None
    gate.sync()
    assert set(_events(gate.hub)) == {a["event_id"] for a in answers}
    assert gate.east.api("GET", "/sync/status").get_json()["pending"] == 0


def test_incidents_link_households_and_vehicles_and_are_searchable(gate):
    tip = gate.east.api("POST", "/rows/incidents", json={
        "kind": "tip", "status": "investigating", "title": "网民反映：楼下停有湖北牌照车辆",
        "household_id": gate.h1702, "vehicle_id": gate.car, "opened_at": "2020-02-03T14:00:00Z"}).get_json()["id"]
    gate.check(resident_id=gate.zhang, direction="in", temperature=38.0)  # opens a fever incident
    found = gate.east.api("GET", "/gate/incidents?q=鄂A").get_json()["incidents"]
    assert [(i["id"], i["room"], i["plate"]) for i in found] == [(tip, "20-1702", "鄂A12345")]
    assert [i["kind"] for i in gate.east.api("GET", "/gate/incidents?kind=fever").get_json()["incidents"]] == ["fever"]
    assert len(gate.east.api("GET", "/gate/incidents?q=20-1702").get_json()["incidents"]) == 2
    gate.east.api("PATCH", f"/rows/incidents/{tip}", json={"status": "closed", "notes": "一家三口均在新余工作，未去过湖北"})
    assert gate.east.api("GET", "/gate/incidents?q=未去过湖北&status=closed").get_json()["incidents"][0]["id"] == tip
    assert gate.east.api("GET", "/gate/incidents?status=lost").status_code == 400


@pytest.mark.parametrize("typed", ["100%", "a_b", "\\"])
def test_incident_search_matches_percent_underscore_and_backslash_as_typed(gate, typed):
    # SQL wildcards typed into the search box are characters: "100%" must not find "1000 boxes".
    literal = gate.east.api("POST", "/rows/incidents", json={
        "kind": "other", "status": "open", "title": f"物资 {typed} 到位"}).get_json()["id"]
    gate.east.api("POST", "/rows/incidents", json={"kind": "other", "status": "open", "title": "物资 1000 axb 到位"})
    found = gate.east.api("GET", "/gate/incidents", query_string={"q": typed}).get_json()["incidents"]
    assert [i["id"] for i in found] == [literal]


def test_presented_id_card_finds_the_resident_and_an_unregistered_card_is_a_404(gate):
    idn = "36050219800101123" + "5"
    from menwei.demo.data import id_check_digit
    idn = idn[:17] + id_check_digit(idn[:17])
    gate.hub.api("PATCH", f"/rows/residents/{gate.zhang}", json={"id_number": idn})
    gate.hub_row("passes", kind="work", code="WORK09", household_id=gate.h1702, resident_id=gate.zhang,
                 employer="医院", certificate_checked_by="何主任")
    gate.sync()
    answer = gate.check(id_number=idn.lower(), direction="out")
    assert answer["allowed"] and answer["person"]["name"] == "张三"
    results = gate.east.api("POST", "/gate/search", json={"q": idn}).get_json()["results"]
    assert [(r["kind"], r["label"]) for r in results] == [("resident", "张三")]
    r = gate.east.api("POST", "/gate/checks", json={"id_number": "360502199901011111", "direction": "in",
                                                    "temperature": 36.5})
    assert r.status_code == 404 and "id_number" in r.get_json()["fields"]
