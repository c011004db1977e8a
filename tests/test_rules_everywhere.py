"""Each gate rule stated once: plates read one way, rules that inherit, and the hub agreeing with the gate."""
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from menwei.gate.rules import DEFAULTS, Crossing, judge
from menwei.reconcile import violations
from menwei.times import iso

TYPED = ["赣K·12345", "赣K 12345", "赣k12345", "赣K-12345", "赣Ｋ１２３４５"]


@pytest.mark.parametrize("registered", TYPED[:3])
@pytest.mark.parametrize("typed", TYPED)
def test_a_car_registered_as_typed_is_found_and_matched_however_it_is_typed(gate, registered, typed):
    gate.hub_row("vehicles", household_id=gate.h101, plate=registered)
    gate.sync()
    r = gate.east.api("GET", "/gate/search", query_string={"q": typed})
    assert ("vehicle", "赣K12345") in [(x["kind"], x["label"]) for x in r.get_json()["results"]]
    verdict = gate.check(plate=typed, direction="out")
    assert verdict["allowed"] and verdict["person"]["room"] == "1-101"


def test_a_plate_is_stored_in_one_spelling_at_every_replica(gate):
    vid = gate.hub_row("vehicles", household_id=gate.h101, plate="赣k·54321")
    gate.sync()
    assert gate.hub.table("vehicles")[vid][2] == gate.east.table("vehicles")[vid][2] == "赣K54321"


def test_a_rule_row_with_only_vehicle_policy_keeps_the_rest_in_force_at_hub_and_node(gate):
    gate.rule(level="closed", outing_quota=1, outing_days=2, fever_threshold=37.0)
    gate.cluster.base.advance(60_000)
    gate.rule(vehicle_policy="banned")
    gate.sync()
    expected = {**DEFAULTS, "level": "closed", "outing_quota": 1, "outing_days": 2, "fever_threshold": 37.0,
                "vehicle_policy": "banned"}
    for side in (gate.hub, gate.east):
        r = side.api("GET", "/gate/rules", query_string={"building_id": gate.b1})
        assert r.status_code == 200 and r.get_json()["rules"] == expected
    first = gate.check(resident_id=gate.wang, direction="out")
    second = gate.check(resident_id=gate.wang, direction="out")
    assert first["allowed"] and [x["code"] for x in second["reasons"]] == ["quota_used"]
    assert [x["code"] for x in gate.check(plate="鄂A12345", direction="out")["reasons"]] == ["vehicle_banned"]


def test_the_preview_of_a_rule_row_names_only_what_it_changes(gate):
    gate.rule(level="closed", vehicle_policy="exit_only")
    gate.cluster.base.advance(60_000)
    r = gate.hub.api("POST", "/gate/rules/preview", json={"compound_id": gate.cluster.compound_id,
                                                          "effective_from": iso(gate.cluster.base()),
                                                          "vehicle_policy": "banned"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["changes"] == [{"field": "vehicle_policy", "before": "exit_only", "after": "banned"}]
    assert body["after"]["level"] == "closed"


def test_the_preview_refuses_a_row_that_changes_nothing_it_does_not_know(gate):
    r = gate.hub.api("POST", "/gate/rules/preview", json={"compound_id": gate.cluster.compound_id,
                                                          "effective_from": "not a time", "level": "loud"})
    assert r.status_code == 400 and {"effective_from", "level"} <= set(r.get_json()["fields"])


def test_the_quota_denial_names_the_local_time_of_the_next_outing(gate):
    gate.rule(level="closed", outing_quota=1, outing_days=2)
    gate.sync()
    gate.check(resident_id=gate.zhang, direction="out")
    denied = gate.check(resident_id=gate.li, direction="out")
    # the cluster's clock stands at 2020-02-03 03:20 UTC: the next outing is two days on, 11:20 in Xinyu
    assert denied["next_outing_at"].startswith("2020-02-05T03:20")
    message = denied["reasons"][0]["message"]
    assert "下次可外出 2月5日 11:20" in message and "Feb 5 11:20" in message


# -- the hub's violation finder and the gate's judgement are one rule ---------------------------------

BASE_MS = 1_580_774_400_000  # 2020-02-04 00:00 UTC
crossings = st.lists(st.tuples(st.integers(0, 2),                      # which household
                               st.integers(0, 5 * 24 * 60),            # minutes after BASE_MS
                               st.sampled_from(["out", "out", "in"]),  # direction
                               st.sampled_from(["allowed", "allowed", "denied"])), max_size=14)


def _agreement(app, quota, days, history):
    """Record ``history`` as offline gates would (whatever the rules), then compare the hub's quota
    findings with what judge() says of each counted outing given every counted outing before it."""
    rt = app.extensions["menwei"]
    cid, building = str(uuid.uuid4()), str(uuid.uuid4())
    households = [str(uuid.uuid4()) for _ in range(3)]
    writes = [("compounds", cid, {"name": "c"}), ("buildings", building, {"compound_id": cid, "number": "20"}),
              ("control_rules", str(uuid.uuid4()), {"compound_id": cid, "effective_from": iso(BASE_MS - 86_400_000),
                                                    "level": "closed", "outing_quota": quota, "outing_days": days})]
    writes += [("households", h, {"compound_id": cid, "building_id": building, "room": str(101 + i),
                                  "label": f"20-{101 + i}"}) for i, h in enumerate(households)]
    rules = {**DEFAULTS, "level": "closed", "outing_quota": quota, "outing_days": days}
    expected, counted = set(), {h: [] for h in households}
    for i, (hh, minute, direction, decision) in enumerate(sorted(history, key=lambda c: c[1])):
        at, eid = iso(BASE_MS + minute * 60_000 + i), str(uuid.uuid4())  # + i ms: no two at one instant
        h = households[hh]
        event = {"compound_id": cid, "gate": ("east-gate", "building-20")[i % 2], "direction": direction, "at": at,
                 "household_id": h, "purpose": "outing" if direction == "out" else "return", "decision": decision}
        writes.append(("gate_events", eid, event))
        if direction == "out" and decision == "allowed":
            verdict = judge(Crossing(direction="out", at=at, temperature=36.5, rules=rules, household={"id": h},
                                     resident={"id": "r"}, outings=list(counted[h])))
            if not verdict.allowed:
                expected.add(eid)
            counted[h].append(at)
    rt.replica.write(writes, create=True)
    with rt.store.read() as tx:
        found = violations.find_violations(tx, cid, BASE_MS, BASE_MS + 6 * 86_400_000)
    assert {v["key"].split(":")[1] for v in found if v["kind"] == "quota_exceeded"} == expected


@pytest.mark.parametrize("broken", [False, True], ids=["as-built", "finder-counting-denied-outings"])
def test_the_hubs_violation_finder_flags_exactly_what_the_gate_would_have_refused(app, monkeypatch, broken):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
              database=None)
    @given(st.integers(1, 2), st.integers(1, 3), crossings)
    def agree(quota, days, history):
        with app.app_context():
            _agreement(app, quota, days, history)

    if not broken:
        agree()
        return
    # A finder with its own idea of an outing (every exit, allowed or not) must be caught.
    monkeypatch.setattr(violations, "is_counted_outing", lambda e: e["direction"] == "out")
    monkeypatch.setattr(violations, "_allowed_events", _every_event)
    with pytest.raises(AssertionError):
        agree()


def _every_event(tx, compound_id, since_ms, until_ms):
    rows = tx.rows(f"SELECT {', '.join(violations._EVENT_COLS)} FROM gate_events WHERE compound_id = ? "
                   "AND at >= ? AND at <= ? ORDER BY at, id", (compound_id, iso(since_ms), iso(until_ms)))
    return [dict(zip(violations._EVENT_COLS, r)) for r in rows]


def _work_pass(gate, resident_id):
    r = gate.hub.api("POST", "/gate/passes", json={"kind": "work", "resident_id": resident_id,
                                                   "household_id": gate.h1702, "employer": "新余市人民医院",
                                                   "certificate_checked_by": "刘文峰"})
    assert r.status_code == 201, r.get_json()
    gate.sync()
    return r.get_json()["code"]


ZHANG_ID, LI_ID = "360502198001011234", "36050219850202123X"


@pytest.fixture
def carded(gate):
    """张三 and 李四 with their ID-card numbers in the register."""
    for rid, number in ((gate.zhang, ZHANG_ID), (gate.li, LI_ID)):
        assert gate.hub.api("PATCH", f"/rows/residents/{rid}", json={"id_number": number}).status_code == 200
    gate.sync()
    return gate


def test_a_work_pass_with_its_holders_id_card_passes_without_ticking_id_checked(carded):
    code = _work_pass(carded, carded.zhang)
    verdict = carded.check(code=code, id_number=ZHANG_ID, direction="out")
    assert verdict["allowed"], verdict["reasons"]


def test_a_work_pass_with_someone_elses_id_card_is_refused_naming_the_mismatch(carded):
    code = _work_pass(carded, carded.zhang)
    verdict = carded.check(code=code, id_number=LI_ID, direction="out")
    assert [r["code"] for r in verdict["reasons"]] == ["id_mismatch"]
    assert "身份证与持证人不符" in verdict["reasons"][0]["message"]
