"""The pure rules engine: which rules are in force for a building at a time."""
from menwei.gate.rules import DEFAULTS, rules_in_force


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
