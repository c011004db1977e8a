"""Duty rosters without I/O: coverage gaps and overlaps, who is on duty, and filling a week from a template."""
import datetime as dt
from zoneinfo import ZoneInfo

from menwei.times import iso, parse


def _ms(t):
    return int(parse(t).timestamp() * 1000)


def coverage(shifts, start, end):
    """Return (gaps, overlaps) of one post's shifts within [start, end) (UTC ISO strings).

    A gap is a stretch nobody covers; an overlap a stretch two or more shifts cover, with their ids.
    Shifts that meet end to start are neither.
    """
    lo, hi = _ms(start), _ms(end)
    points = {lo, hi}
    spans = []
    for s in shifts:
        a, b = max(_ms(s["starts_at"]), lo), min(_ms(s["ends_at"]), hi)
        if a < b:
            spans.append((a, b, s["id"]))
            points.update((a, b))
    edges = sorted(points)
    gaps, overlaps = [], []
    for a, b in zip(edges, edges[1:]):
        on = [sid for sa, sb, sid in spans if sa <= a and b <= sb]
        if not on:
            _extend(gaps, a, b, None)
        elif len(on) > 1:
            _extend(overlaps, a, b, sorted(on))
    fmt = lambda rows, with_ids: [dict({"from": iso(a), "to": iso(b)}, **({"shifts": ids} if with_ids else {}))  # noqa: E731
                                  for a, b, ids in rows]
    return fmt(gaps, False), fmt(overlaps, True)


def _extend(rows, a, b, ids):
    if rows and rows[-1][1] == a and rows[-1][2] == ids:
        rows[-1] = (rows[-1][0], b, ids)
    else:
        rows.append((a, b, ids))


def on_duty(shifts, at):
    """The shifts running at ``at``."""
    t = _ms(at)
    return [s for s in shifts if _ms(s["starts_at"]) <= t < _ms(s["ends_at"])]


def fill(start_date, days, shift_hours, first_hour, tz, volunteer_ids=(), not_before=None):
    """Shifts of ``shift_hours`` back to back from ``first_hour`` local on ``start_date`` for ``days`` days.

    The last shift is cut at the end of the period, so 5-hour shifts cross midnight as they must;
    volunteers, if given, take turns in order. With ``not_before`` (UTC ISO, e.g. now) the shifts that
    are already over are left out — the past is history, not something to staff — and the one running
    then is kept whole, so the template's hours stay as planned.
    """
    zone = ZoneInfo(tz)
    begin = dt.datetime.combine(start_date, dt.time(first_hour), zone)
    end = begin + dt.timedelta(days=days)
    floor = _ms(not_before) if not_before else None
    out, t = [], begin
    while t < end:
        u = min(t + dt.timedelta(hours=shift_hours), end)
        shift = {"starts_at": iso(t.timestamp() * 1000), "ends_at": iso(u.timestamp() * 1000)}
        if floor is None or u.timestamp() * 1000 > floor:
            if volunteer_ids:
                shift["volunteer_id"] = volunteer_ids[len(out) % len(volunteer_ids)]
            out.append(shift)
        t = u
    return out


def local_day_start(at, tz):
    """The start (UTC ISO) of the local day containing ``at``."""
    zone = ZoneInfo(tz)
    local = parse(at).astimezone(zone)
    return iso(dt.datetime.combine(local.date(), dt.time(0), zone).timestamp() * 1000)


