"""The pure rules engine: which rules are in force, and how the gate judges a crossing under them."""
import pytest

from menwei.gate.rules import (DEFAULTS, REASONS, Crossing, judge, outing_quota, pass_problems, rule_changes,
                               rules_in_force)


def _rule(building=None, at="2020-02-03T13:00:00Z", **fields):
    row = {"building_id": building, "effective_from": at}
    row.update({k: None for k in DEFAULTS})
    row.update(fields)
    return row


def test_no_rules_means_the_defaults():
    assert rules_in_force([], "b20", "2020-02-04T08:00:00Z") == DEFAULTS


def test_building_rule_overrides_only_the_fields_it_sets():
    rows = [_rule(level="closed", fever_threshold=37.0), _rule("b20", level="quarantine")]
    r20 = rules_in_force(rows, "b20", "2020-02-04T08:00:00Z")
    r1 = rules_in_force(rows, "b1", "2020-02-04T08:00:00Z")
    assert (r20["level"], r20["fever_threshold"]) == ("quarantine", 37.0)
    assert (r1["level"], r1["fever_threshold"]) == ("closed", 37.0)


def test_latest_rule_already_in_force_wins_and_future_ones_wait():
    rows = [_rule(at="2020-02-03T13:00:00Z", vehicle_policy="exit_only"),
            _rule(at="2020-02-06T13:00:00Z", vehicle_policy="banned")]
    assert rules_in_force(rows, None, "2020-02-05T00:00:00Z")["vehicle_policy"] == "exit_only"
    assert rules_in_force(rows, None, "2020-02-06T13:00:00Z")["vehicle_policy"] == "banned"
    assert rules_in_force(rows, None, "2020-02-01T00:00:00Z")["vehicle_policy"] == "free"


def test_times_with_offsets_compare_as_instants():
    rows = [_rule(at="2020-02-03T21:00:00+08:00", level="closed")]  # 21:00 in Xinyu is 13:00 UTC
    assert rules_in_force(rows, None, "2020-02-03T13:00:00Z")["level"] == "closed"
    assert rules_in_force(rows, None, "2020-02-03T12:59:59Z")["level"] == "open"


# -- rules inherit: a row states what it changes --------------------------------------------------

def test_a_rule_row_changing_only_vehicles_keeps_the_level_quota_and_threshold_in_force():
    rows = [_rule(at="2020-02-03T13:00:00Z", level="closed", outing_quota=1, outing_days=2, fever_threshold=37.0),
            _rule(at="2020-02-10T00:00:00Z", vehicle_policy="banned")]
    r = rules_in_force(rows, None, "2020-02-11T00:00:00Z")
    assert r == {**DEFAULTS, "level": "closed", "outing_quota": 1, "outing_days": 2, "fever_threshold": 37.0,
                 "vehicle_policy": "banned"}


def test_a_building_row_overrides_its_fields_even_against_a_later_compound_row():
    rows = [_rule("b20", at="2020-02-03T13:00:00Z", level="quarantine"),
            _rule(at="2020-02-05T00:00:00Z", level="closed", vehicle_policy="exit_only")]
    r20 = rules_in_force(rows, "b20", "2020-02-06T00:00:00Z")
    assert (r20["level"], r20["vehicle_policy"]) == ("quarantine", "exit_only")


def test_rule_changes_names_only_the_fields_a_new_row_changes():
    rows = [_rule(at="2020-02-03T13:00:00Z", level="closed", vehicle_policy="exit_only")]
    new = _rule(at="2020-02-10T00:00:00Z", vehicle_policy="banned")
    assert rule_changes(rows, new) == {"vehicle_policy": ("exit_only", "banned")}
    assert rule_changes(rows, _rule(at="2020-02-10T00:00:00Z", level="closed")) == {}


# -- judge() and outing_quota() over the seed's rules ------------------------------------------------
# The compound closed on 3 Feb 2020 21:00 (13:00 UTC): one person per household out every two days;
# building 20 under total quarantine; cars could leave but not enter, then no car moved at all.

CLOSED = {**DEFAULTS, "level": "closed", "outing_quota": 1, "outing_days": 2}
HOUSEHOLD = {"id": "h1", "label": "20-1702", "building_id": "b20"}
RESIDENT = {"id": "r1", "household_id": "h1", "name": "张三"}


def _crossing(at="2020-02-05T02:00:00Z", direction="out", temperature=36.5, rules=CLOSED, **kw):
    kw.setdefault("household", HOUSEHOLD)
    kw.setdefault("resident", RESIDENT)
    return Crossing(direction=direction, at=at, temperature=temperature, rules=rules, **kw)


def _codes(verdict):
    return [r["code"] for r in verdict.reasons]


@pytest.mark.parametrize("outings, at, allowed", [
    ([], "2020-02-05T02:00:00Z", True),                                           # none yet
    (["2020-02-04T15:30:00Z"], "2020-02-04T16:30:00Z", False),                    # 23:30 then 00:30 local: across midnight
    (["2020-02-04T00:00:00Z"], "2020-02-05T23:59:59Z", False),                    # within 48 hours
    (["2020-02-04T00:00:00Z"], "2020-02-06T00:00:00Z", True),                     # exactly 48 hours later
    (["2020-02-01T00:00:00Z"], "2020-02-05T00:00:00Z", True),                     # long ago
])
def test_the_household_quota_counts_outings_in_the_last_two_days(outings, at, allowed):
    v = judge(_crossing(at=at, outings=outings))
    assert v.allowed is allowed and (_codes(v) == [] if allowed else _codes(v) == ["quota_used"])


def test_the_quota_denial_names_when_the_household_may_go_out_again_in_local_time():
    v = judge(_crossing(at="2020-02-05T02:00:00Z", outings=["2020-02-04T00:00:00Z"]))
    assert v.next_outing_at == "2020-02-06T00:00:00.000Z"
    message = v.reasons[0]["message"]
    assert "下次可外出 2月6日 08:00" in message and "may go out again Feb 6 08:00" in message


@pytest.mark.parametrize("quota, days, outings, left", [
    (1, 2, [], 1), (1, 2, ["2020-02-04T12:00:00Z"], 0), (2, 2, ["2020-02-04T12:00:00Z"], 1),
    (2, 1, ["2020-02-03T12:00:00Z", "2020-02-04T12:00:00Z"], 1), (0, 2, [], 0),
])
def test_outing_quota_counts_what_is_left_in_the_window(quota, days, outings, left):
    rules = {**CLOSED, "outing_quota": quota, "outing_days": days}
    counted, got_left, next_at, recent = outing_quota(rules, outings, "2020-02-05T02:00:00Z")
    assert counted and got_left == left
    assert (next_at is not None) == (left == 0 and quota > 0)


def test_the_quota_does_not_apply_in_an_open_compound_or_on_the_way_back_in():
    assert outing_quota(DEFAULTS, ["2020-02-05T00:00:00Z"], "2020-02-05T01:00:00Z")[0] is False
    assert judge(_crossing(direction="in", outings=["2020-02-05T00:00:00Z"])).allowed


def test_a_quarantined_building_lets_nobody_of_its_households_cross():
    v = judge(_crossing(rules={**CLOSED, "level": "quarantine"}))
    assert not v.allowed and _codes(v) == ["quarantined_building"]


@pytest.mark.parametrize("policy, direction, allowed", [
    ("free", "in", True), ("exit_only", "out", True), ("exit_only", "in", False), ("banned", "out", False),
    ("banned", "in", False)])
def test_vehicles_exit_only_then_banned(policy, direction, allowed):
    v = judge(_crossing(direction=direction, rules={**CLOSED, "vehicle_policy": policy}, resident=None,
                        vehicle={"id": "v1", "plate": "赣K12345", "household_id": "h1"}))
    assert v.allowed is allowed and v.purpose == "vehicle"


@pytest.mark.parametrize("temperature, fever", [(37.2, False), (37.3, True), (38.5, True), (None, False)])
def test_the_fever_threshold_is_inclusive(temperature, fever):
    v = judge(_crossing(temperature=temperature))
    assert v.fever is fever and ("fever" in _codes(v)) is fever and v.allowed is not fever


WORK_PASS = {"id": "p1", "kind": "work", "code": "WORK01", "household_id": "h1", "certificate_checked_by": "刘"}


@pytest.mark.parametrize("pass_, id_checked, codes", [
    (WORK_PASS, True, []),
    ({**WORK_PASS, "certificate_checked_by": None}, True, ["certificate_missing"]),
    (WORK_PASS, False, ["id_not_checked"]),
    ({**WORK_PASS, "certificate_checked_by": None}, False, ["certificate_missing", "id_not_checked"]),
    ({**WORK_PASS, "valid_until": "2020-02-05T00:00:00Z"}, True, ["pass_expired"]),
    ({**WORK_PASS, "valid_from": "2020-02-06T00:00:00Z"}, True, ["pass_not_yet_valid"]),
    ({**WORK_PASS, "revoked": True, "revoked_reason": "单位复工证明作废"}, True, ["pass_revoked"]),
])
def test_a_work_pass_needs_its_certificate_the_holders_id_and_to_be_valid(pass_, id_checked, codes):
    v = judge(_crossing(pass_=pass_, id_checked=id_checked, outings=["2020-02-05T00:00:00Z"]))
    assert _codes(v) == codes and v.purpose == "work"  # work crossings never count against the quota


def test_an_expired_pass_names_its_end_in_local_time():
    v = judge(_crossing(pass_={**WORK_PASS, "valid_until": "2020-02-04T16:00:00Z"}, id_checked=True))
    assert "2月5日 00:00" in v.reasons[0]["message"] and "Feb 5 00:00" in v.reasons[0]["message"]


def test_a_work_pass_needs_no_certificate_where_the_rules_say_so():
    rules = {**CLOSED, "work_pass_needs_certificate": False}
    v = judge(_crossing(rules=rules, pass_={**WORK_PASS, "certificate_checked_by": None}, id_checked=True))
    assert v.allowed


@pytest.mark.parametrize("revoked_at, used_at, refused", [
    (None, "2020-02-05T00:00:00Z", True),                      # at the gate: revoked now is revoked
    ("2020-02-04T00:00:00Z", "2020-02-05T00:00:00Z", True),   # at the hub: used after the revocation
    ("2020-02-06T00:00:00Z", "2020-02-05T00:00:00Z", False)])  # used before it: rightly
def test_pass_validity_is_one_rule_for_the_gate_and_the_hub(revoked_at, used_at, refused):
    problems = pass_problems({"revoked": True}, used_at, revoked_at)
    assert (problems != []) is refused


def test_every_reason_the_gate_gives_has_a_chinese_and_an_english_label():
    verdicts = [judge(_crossing(temperature=39.0, rules={**CLOSED, "level": "quarantine", "vehicle_policy": "banned"},
                                vehicle={"id": "v1"}, pass_={**WORK_PASS, "revoked": True, "certificate_checked_by": None,
                                                              "valid_until": "2020-02-01T00:00:00Z"})),
                judge(_crossing(code_given="NOPE", code_known=False)),
                judge(_crossing(household=None, resident=None))]
    codes = {r["code"] for v in verdicts for r in v.reasons}
    assert len(codes) >= 9 and codes <= set(REASONS)
    for v in verdicts:
        for r in v.reasons:
            zh, en = REASONS[r["code"]]
            assert zh in r["message"] and en in r["message"]
