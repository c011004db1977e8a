"""Roster arithmetic: gaps and overlaps (across midnight, back to back, empty), filling from templates."""
import datetime as dt

import pytest

from menwei.roster.coverage import coverage, fill, local_day_start, on_duty


def S(sid, a, b):
    return {"id": sid, "starts_at": a, "ends_at": b}


DAY = ("2020-02-04T00:00:00Z", "2020-02-05T00:00:00Z")


def test_a_post_with_no_shifts_is_one_gap():
    gaps, overlaps = coverage([], *DAY)
    assert gaps == [{"from": "2020-02-04T00:00:00.000Z", "to": "2020-02-05T00:00:00.000Z"}] and overlaps == []


def test_back_to_back_shifts_leave_no_gap_and_no_overlap():
    shifts = [S("a", "2020-02-03T20:00:00Z", "2020-02-04T08:00:00Z"), S("b", "2020-02-04T08:00:00Z",
                                                                        "2020-02-04T16:00:00Z"),
              S("c", "2020-02-04T16:00:00Z", "2020-02-05T04:00:00Z")]
    assert coverage(shifts, *DAY) == ([], [])


def test_shift_across_midnight_covers_both_days():
    shifts = [S("night", "2020-02-04T20:00:00Z", "2020-02-05T02:00:00Z")]
    gaps, _ = coverage(shifts, "2020-02-04T00:00:00Z", "2020-02-06T00:00:00Z")
    assert gaps == [{"from": "2020-02-04T00:00:00.000Z", "to": "2020-02-04T20:00:00.000Z"},
                    {"from": "2020-02-05T02:00:00.000Z", "to": "2020-02-06T00:00:00.000Z"}]


def test_overlap_names_the_shifts_and_gap_is_found_between():
    shifts = [S("a", "2020-02-04T00:00:00Z", "2020-02-04T10:00:00Z"), S("b", "2020-02-04T09:00:00Z",
                                                                        "2020-02-04T12:00:00Z"),
              S("c", "2020-02-04T13:00:00Z", "2020-02-05T00:00:00Z")]
    gaps, overlaps = coverage(shifts, *DAY)
    assert overlaps == [{"from": "2020-02-04T09:00:00.000Z", "to": "2020-02-04T10:00:00.000Z", "shifts": ["a", "b"]}]
    assert gaps == [{"from": "2020-02-04T12:00:00.000Z", "to": "2020-02-04T13:00:00.000Z"}]


def test_on_duty_is_the_shift_running_now_ends_exclusive():
    shifts = [S("a", "2020-02-04T00:00:00Z", "2020-02-04T05:00:00Z"), S("b", "2020-02-04T05:00:00Z",
                                                                        "2020-02-04T10:00:00Z")]
    assert [s["id"] for s in on_duty(shifts, "2020-02-04T05:00:00Z")] == ["b"]


@pytest.mark.parametrize("hours, count", [(4, 42), (5, 34), (8, 21)])
def test_fill_a_week_back_to_back_in_local_time(hours, count):
    shifts = fill(dt.date(2020, 2, 4), 7, hours, 8, "Asia/Shanghai", ["v1", "v2", "v3"])
    assert len(shifts) == count
    assert shifts[0]["starts_at"] == "2020-02-04T00:00:00.000Z"  # 08:00 in Xinyu
    assert shifts[-1]["ends_at"] == "2020-02-11T00:00:00.000Z"
    assert all(a["ends_at"] == b["starts_at"] for a, b in zip(shifts, shifts[1:]))
    assert [s["volunteer_id"] for s in shifts[:4]] == ["v1", "v2", "v3", "v1"]
    with_ids = [dict(s, id=str(i)) for i, s in enumerate(shifts)]
    assert coverage(with_ids, "2020-02-04T00:00:00Z", "2020-02-11T00:00:00Z") == ([], [])


def test_local_day_starts_at_local_midnight():
    assert local_day_start("2020-02-04T17:00:00Z", "Asia/Shanghai") == "2020-02-04T16:00:00.000Z"


def test_fill_from_now_leaves_out_the_shifts_already_over_and_keeps_the_running_one_whole():
    # 11:20 in Xinyu on 4 February: 00–05 and 05–10 are over, 10–15 is running.
    shifts = fill(dt.date(2020, 2, 4), 7, 5, 0, "Asia/Shanghai", ["v1", "v2"], not_before="2020-02-04T03:20:00Z")
    assert shifts[0]["starts_at"] == "2020-02-04T02:00:00.000Z" and len(shifts) == 34 - 2
    assert [s["volunteer_id"] for s in shifts[:3]] == ["v1", "v2", "v1"]  # turns start with the first kept shift
    assert shifts[-1]["ends_at"] == "2020-02-10T16:00:00.000Z"  # midnight local, a week after the first hour
