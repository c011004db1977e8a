"""Whole days of gate-event aggregates kept locally: a month's dashboard adds up days, not a million crossings.

A local day lying wholly inside the period asked for is read from ``dashboard_days``: its crossings,
denial reasons and temperatures per gate and household, stored with the log position they were read at.
A stored day is computed again as soon as any event logged after that position falls in it — which is
exactly what an offline gate's late batch does — so a figure is never stale. Gate events are append-only,
so nothing else can change a day. The period's ragged ends and today (still growing) are counted live,
and so is everything when a building is chosen (households may move between buildings).
"""
import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import orjson

from menwei.reports.dashboard import _events_where, crossings, denial_reasons, local_days

#: Below this many whole days the live queries are as quick as reading and checking the cache.
MIN_CACHED_DAYS = 2


class Rows:
    """The grouped rows of a period, summed over its parts: crossings per (gate, household), denial reasons per
    (gate, household, code), temperatures per (gate, tenth of a degree)."""

    def __init__(self):
        self._cross, self._denials, self._temperatures = {}, {}, {}
        self.per_day = {}  # date → {"out", "in", "denied"} for the days read from the cache

    def extend(self, part, gate=None, day=None):
        """Add one part (a cached day or a live stretch), keeping only ``gate``'s rows when one is given."""
        day_sums = [0, 0, 0]
        for g, h, *counts in part["crossings"]:
            if gate and g != gate:
                continue
            sums = self._cross.get((g, h))
            if sums is None:
                self._cross[(g, h)] = list(counts)
            else:
                for i, n in enumerate(counts):
                    sums[i] += n
            for i in range(3):
                day_sums[i] += counts[i]
        for target, source in ((self._denials, part["denials"]), (self._temperatures, part["temperatures"])):
            for *key, n in source:
                if not gate or key[0] == gate:
                    key = tuple(key)
                    target[key] = target.get(key, 0) + n
        if day is not None:
            self.per_day[day] = dict(zip(("out", "in", "denied"), day_sums))

    @property
    def crossings(self):
        """[(gate, household, {"out", "in", "denied", "visitors"})]."""
        return [(g, h, dict(zip(("out", "in", "denied", "visitors"), c))) for (g, h), c in self._cross.items()]

    @property
    def denials(self):
        """[(gate, household, reason code, crossings)]."""
        return [(*k, n) for k, n in self._denials.items()]

    @property
    def temperatures(self):
        """[(gate, tenths of a degree, crossings)]."""
        return [(*k, n) for k, n in self._temperatures.items()]


def _temperature_rows(tx, scope):
    where, args = _events_where(scope, scope.since_ms, scope.until_ms)
    t10 = "CAST(ROUND(g.temperature * 10) AS INTEGER)"
    return tx.rows(f"SELECT g.gate, {t10}, COUNT(*) FROM gate_events g WHERE {where} AND g.temperature IS NOT NULL "
                   f"GROUP BY g.gate, {t10}", args)


def _live(tx, scope, pg):
    """One stretch counted by the SQL aggregates, as plain lists (what a cached day stores)."""
    return {"crossings": [[g, h, c["out"], c["in"], c["denied"], c["visitors"]] for g, h, c in crossings(tx, scope)],
            "denials": [list(r) for r in denial_reasons(tx, scope, pg)],
            "temperatures": [list(r) for r in _temperature_rows(tx, scope)]}


def _whole_days(scope, now_ms):
    """The local days over by ``now_ms`` and lying wholly inside the period: [(date, first ms, last ms)]."""
    zone = ZoneInfo(scope.tz)
    out = []
    for day, start, end in local_days(scope.since_ms, scope.until_ms, scope.tz):
        full_start = int(dt.datetime.combine(day, dt.time(), zone).timestamp() * 1000)
        full_end = int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).timestamp() * 1000) - 1
        if (start, end) == (full_start, full_end) and end < now_ms:  # today still grows: counted live
            out.append((day, start, end))
    return out


def _touched_days(tx, compound_id, after_seq, tz):
    """The local days of the compound's events logged after ``after_seq`` (from their hours: few rows)."""
    zone = ZoneInfo(tz)
    return {dt.datetime.fromisoformat(hour + ":00+00:00").astimezone(zone).date().isoformat()
            for (hour,) in tx.rows("SELECT DISTINCT substr(at, 1, 13) FROM gate_events WHERE _seq > ? AND compound_id = ?",
                                   (after_seq, compound_id))}


def period_rows(tx, scope, now_ms, pg=False):
    """The grouped rows of ``scope``'s period: whole days from the cache (refreshed where needed), the rest live."""
    rows = Rows()
    days = _whole_days(scope, now_ms) if scope.building_id is None else []
    if len(days) < MIN_CACHED_DAYS:
        rows.extend(_live(tx, scope, pg))
        return rows
    log_end = tx.log_end()
    fresh, kept = {}, []  # days computed now (to store), days found still good (to re-stamp)
    for cid in scope.compound_ids:
        stored = {day: (seq, payload) for day, seq, payload in tx.rows(
            "SELECT day, log_seq, payload FROM dashboard_days WHERE compound_id = ? AND tz = ? AND day >= ? AND day <= ?",
            (cid, scope.tz, days[0][0].isoformat(), days[-1][0].isoformat()))}
        stale = _touched_days(tx, cid, min(s for s, _ in stored.values()), scope.tz) if stored else set()
        for day, start, end in days:
            key = day.isoformat()
            if key in stored and key not in stale:
                part = orjson.loads(stored[key][1])
                kept.append((cid, key))
            else:
                part = fresh[(cid, key)] = _live(
                    tx, replace(scope, compound_ids=(cid,), origin=None, since_ms=start, until_ms=end), pg)
            rows.extend(part, scope.origin, key)
    first, last = days[0][1], days[-1][2]
    for since, until in ((scope.since_ms, first - 1), (last + 1, scope.until_ms)):  # the ragged ends, live
        if since <= until:
            rows.extend(_live(tx, replace(scope, since_ms=since, until_ms=until), pg))
    _store(tx.store, scope.tz, log_end, fresh, kept)
    return rows


def _store(store, tz, log_end, fresh, kept):
    """Keep the days just computed and re-stamp those checked, with the log position of the snapshot read.

    Re-stamping keeps the next check short: only events logged after this look are scanned then.
    """
    with store.write() as w:
        w.executemany("INSERT INTO dashboard_days (compound_id, tz, day, log_seq, payload) VALUES (?, ?, ?, ?, ?) "
                      "ON CONFLICT (compound_id, tz, day) DO UPDATE SET log_seq = excluded.log_seq, "
                      "payload = excluded.payload",
                      [(cid, tz, day, log_end, orjson.dumps(part).decode()) for (cid, day), part in fresh.items()])
        # Only forwards: a concurrent look that stored a newer computation is never stamped back.
        w.executemany("UPDATE dashboard_days SET log_seq = ? WHERE compound_id = ? AND tz = ? AND day = ? "
                      "AND log_seq < ?", [(log_end, cid, tz, day, log_end) for cid, day in kept])


def temperatures(rows):
    """The period's temperature counts per 0.1 °C as the dashboard shows them."""
    counts = {}
    for _gate, t10, n in rows.temperatures:
        counts[t10] = counts.get(t10, 0) + n
    return [{"celsius": t / 10, "count": n} for t, n in sorted(counts.items())]


def cached_day(rows, day):
    """A day's out/in/denied from the cached days of ``rows`` (None when it was not among them)."""
    return rows.per_day.get(day.isoformat())
