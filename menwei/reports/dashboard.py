"""The dashboard's figures, per compound, gate and building, as SQL aggregates over the stored rows.

Crossings come from gate_events through a covering (compound_id, at, …) index: every query reads only the
period's rows. "Currently out" looks up each resident's last allowed crossing through a covering
(resident_id, at, …) index, one index seek per resident, whatever the number of events. Times are stored
as UTC ISO strings of one format (gate_rules.iso), so ranges compare as text; days are local days in
the compound's time zone.
"""
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sync.tables import DELETED

from menwei.times import iso
from menwei.tables import ORDER_STATUSES
from menwei.store.queries import live_tuples

COUNTERS = ("out", "in", "denied", "fevers", "visitors", "currently_out", "open_incidents")
OPEN_INCIDENT = ("open", "investigating")
MIN_CHART_DAYS = 7
MAX_DAYS = 366


@dataclass(frozen=True)
class Scope:
    """What the figures count: compounds, optionally one gate (node id) and one building, over a period."""

    compound_ids: tuple
    origin: str | None
    building_id: str | None
    since_ms: int
    until_ms: int
    tz: str


def local_days(since_ms, until_ms, tz):
    """The local calendar days touching [since, until]: [(date, first ms, last ms)] clipped to the period."""
    zone = ZoneInfo(tz)
    day = dt.datetime.fromtimestamp(since_ms / 1000, zone).date()
    last = dt.datetime.fromtimestamp(until_ms / 1000, zone).date()
    out = []
    while day <= last:
        start = int(dt.datetime.combine(day, dt.time(), zone).timestamp() * 1000)
        end = int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).timestamp() * 1000) - 1
        out.append((day, max(start, since_ms), min(end, until_ms)))
        day += dt.timedelta(days=1)
    return out


def _events_where(scope, since_ms, until_ms):
    """The WHERE clause over gate_events g and its parameters; a building is its households' ids."""
    marks = ", ".join("?" * len(scope.compound_ids))
    where = [f"g.compound_id IN ({marks})", "g.at >= ?", "g.at <= ?"]
    args = [*scope.compound_ids, iso(since_ms), iso(until_ms)]
    if scope.origin:
        where.append("g.gate = ?")
        args.append(scope.origin)
    if scope.building_id:
        where.append("g.household_id IN (SELECT id FROM households WHERE building_id = ?)")
        args.append(scope.building_id)
    return " AND ".join(where), args


def _blank():
    return dict.fromkeys(COUNTERS, 0)


def household_buildings(tx, compound_ids):
    """{household id: building id} of the compounds (events name households; figures are per building)."""
    marks = ", ".join("?" * len(compound_ids))
    return dict(tx.rows(f"SELECT id, building_id FROM households WHERE compound_id IN ({marks})", compound_ids))


# The crossing queries read only columns of the covering index ix_gate_events_dashboard, never the
# table, and count with conditional sums: grouped by (gate, household) only, not by every column counted.
_SUMS = ("SUM(CASE WHEN g.decision = 'allowed' AND g.direction = 'out' THEN 1 ELSE 0 END), "
         "SUM(CASE WHEN g.decision = 'allowed' AND g.direction = 'in' THEN 1 ELSE 0 END), "
         "SUM(CASE WHEN g.decision = 'denied' THEN 1 ELSE 0 END)")


def crossings(tx, scope):
    """Per (gate, household): people out and in (allowed), denied crossings and visitors."""
    where, args = _events_where(scope, scope.since_ms, scope.until_ms)
    rows = tx.rows(f"SELECT g.gate, g.household_id, {_SUMS}, SUM(CASE WHEN g.purpose = 'visitor' THEN 1 ELSE 0 END) "
                   f"FROM gate_events g WHERE {where} GROUP BY g.gate, g.household_id", args)
    return [(gate, household, {"out": int(o), "in": int(i), "denied": int(d), "visitors": int(v)})
            for gate, household, o, i, d, v in rows]


def denial_reasons(tx, scope, pg):
    """Per (gate, household, reason code): denied crossings giving that reason (one may give several).

    Only denied crossings are read from the table (their reasons), a small part of all.
    """
    where, args = _events_where(scope, scope.since_ms, scope.until_ms)
    # Reasons that are not a list of objects (a row written by hand through the API, another version of a
    # gate) count once without a code ("other"), never as an error that takes the whole dashboard down.
    if pg:
        each = ("CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(CAST(g.reasons AS jsonb)) = 'array' "
                "THEN CAST(g.reasons AS jsonb) ELSE CAST('[null]' AS jsonb) END) AS r(value)")
        code = "CASE WHEN jsonb_typeof(r.value) = 'object' THEN r.value ->> 'code' END"
    else:
        each = "JOIN json_each(CASE WHEN json_type(g.reasons) = 'array' THEN g.reasons ELSE '[null]' END) r"
        code = "CASE WHEN r.type = 'object' THEN json_extract(r.value, '$.code') END"
    return tx.rows(f"SELECT g.gate, g.household_id, {code}, COUNT(*) FROM gate_events g {each} "
                   f"WHERE {where} AND g.decision = 'denied' GROUP BY g.gate, g.household_id, {code}", args)


def daily(tx, scope, days):
    """Per local day: people out, in, and denied crossings (one indexed range query a day)."""
    out = []
    for day, start, end in days:
        where, args = _events_where(scope, start, end)
        o, i, d = tx.rows(f"SELECT {_SUMS} FROM gate_events g WHERE {where}", args)[0]
        out.append({"date": day.isoformat(), "out": int(o or 0), "in": int(i or 0), "denied": int(d or 0)})
    return out


def currently_out(tx, scope, at_ms):
    """Per (gate, building): residents whose last allowed crossing up to ``at_ms`` was out (and where)."""
    marks = ", ".join("?" * len(scope.compound_ids))
    where, args = [f"r.compound_id IN ({marks})", f"r.{DELETED} = ?"], [*scope.compound_ids, False]
    if scope.building_id:
        where.append("h.building_id = ?")
        args.append(scope.building_id)
    last = ("(SELECT g.direction || ' ' || g.gate FROM gate_events g WHERE g.resident_id = r.id "
            "AND g.decision = 'allowed' AND g.at <= ? ORDER BY g.at DESC LIMIT 1)")
    rows = tx.rows(f"SELECT building_id, last, COUNT(*) FROM (SELECT h.building_id AS building_id, {last} AS last "
                   f"FROM residents r JOIN households h ON h.id = r.household_id WHERE {' AND '.join(where)}) x "
                   "WHERE last LIKE ? GROUP BY building_id, last", [iso(at_ms), *args, "out %"])
    return [(last[4:], building, n) for building, last, n in rows if not scope.origin or last[4:] == scope.origin]


def deliveries(tx, scope):
    """Per building: basket orders for delivery days in the period, by status (not per gate: none passes one)."""
    days = local_days(scope.since_ms, scope.until_ms, scope.tz)
    marks = ", ".join("?" * len(scope.compound_ids))
    where = [f"o.compound_id IN ({marks})", f"o.{DELETED} = ?", "o.delivery_date >= ?", "o.delivery_date <= ?"]
    args = [*scope.compound_ids, False, days[0][0].isoformat(), days[-1][0].isoformat()]
    if scope.building_id:
        where.append("h.building_id = ?")
        args.append(scope.building_id)
    return tx.rows("SELECT h.building_id, o.status, COUNT(*) FROM orders o LEFT JOIN households h "
                   f"ON h.id = o.household_id WHERE {' AND '.join(where)} GROUP BY h.building_id, o.status", args)


def open_incidents(tx, scope):
    """Per (gate, building, kind): incidents opened by the end of the period and not closed."""
    marks = ", ".join("?" * len(scope.compound_ids))
    where = [f"i.compound_id IN ({marks})", f"i.{DELETED} = ?", "i.status IN (?, ?)",
             "(i.opened_at IS NULL OR i.opened_at <= ?)"]
    args = [*scope.compound_ids, False, *OPEN_INCIDENT, iso(scope.until_ms)]
    if scope.origin:
        where.append("g.gate = ?")
        args.append(scope.origin)
    if scope.building_id:
        where.append("h.building_id = ?")
        args.append(scope.building_id)
    return tx.rows("SELECT g.gate, h.building_id, i.kind, COUNT(*) FROM incidents i "
                   "LEFT JOIN households h ON h.id = i.household_id LEFT JOIN gate_events g ON g.id = i.gate_event_id "
                   f"WHERE {' AND '.join(where)} GROUP BY g.gate, h.building_id, i.kind", args)


def building_labels(tx, compound_ids):
    """{building id: "20栋" or its number} of the compounds."""
    marks = ", ".join("?" * len(compound_ids))
    return {bid: (name or f"{number}栋") for bid, number, name in live_tuples(
        tx, "buildings", ("id", "number", "name"), f"compound_id IN ({marks})", compound_ids)}


def figures(tx, scope, now_ms, pg=False):
    """Every figure of the dashboard for ``scope``, per gate and per building, with the daily series."""
    gates, buildings = {}, {}
    totals = _blank()

    def add(gate, building, counters):
        for key, bucket in ((gate, gates), (building, buildings)):
            row = bucket.setdefault(key, _blank())
            for k, v in counters.items():
                row[k] += v
        for k, v in counters.items():
            totals[k] += v

    # Imported here: dashboard_cache builds on the queries of this module.
    from menwei.reports.dashboard_cache import cached_day, period_rows, temperatures as cached_temperatures
    rows = period_rows(tx, scope, now_ms, pg)  # whole days from the cache, the rest by the queries above
    building_of = household_buildings(tx, scope.compound_ids)
    for gate, household, c in rows.crossings:
        add(gate, building_of.get(household), c)
    as_of = min(now_ms, scope.until_ms)
    for gate, building, n in currently_out(tx, scope, as_of):
        add(gate, building, {"currently_out": n})
    incident_kinds = {}
    for gate, building, kind, n in open_incidents(tx, scope):
        add(gate, building, {"open_incidents": n})
        incident_kinds[kind] = incident_kinds.get(kind, 0) + n
    reasons, gate_reasons, building_reasons = {}, {}, {}
    for gate, household, code, n in rows.denials:
        code, building = code or "other", building_of.get(household)
        reasons[code] = reasons.get(code, 0) + n
        if code == "fever":  # a fever is always a reason to deny: counted here, from the reasons
            add(gate, building, {"fevers": n})
        for key, bucket in ((gate, gate_reasons), (building, building_reasons)):
            bucket.setdefault(key, {}).setdefault(code, 0)
            bucket[key][code] += n
    delivered, building_deliveries = dict.fromkeys(ORDER_STATUSES, 0), {}
    for building, status, n in deliveries(tx, scope):
        delivered[status] = delivered.get(status, 0) + n
        building_deliveries.setdefault(building, dict.fromkeys(ORDER_STATUSES, 0))[status] += n
    for building in building_deliveries:
        buildings.setdefault(building, _blank())
    days = local_days(scope.since_ms, scope.until_ms, scope.tz)
    chart_days = days
    if len(days) < MIN_CHART_DAYS:  # a short period is charted with the whole days before it
        zone = ZoneInfo(scope.tz)
        first = days[-1][0] - dt.timedelta(days=MIN_CHART_DAYS - 1)
        chart_start = int(dt.datetime.combine(first, dt.time(), zone).timestamp() * 1000)
        chart_days = local_days(chart_start, scope.until_ms, scope.tz)
    labels = building_labels(tx, scope.compound_ids)
    return {
        "period": {"from": iso(scope.since_ms), "to": iso(scope.until_ms), "timezone": scope.tz,
                   "from_date": days[0][0].isoformat(), "to_date": days[-1][0].isoformat()},
        "as_of": iso(as_of),
        "totals": totals,
        "gates": [{"gate": g, **c, "denials": gate_reasons.get(g, {})} for g, c in sorted(gates.items(), key=_key)],
        "buildings": [{"building_id": b, "building": labels.get(b, b) if b else None, **c,
                       "denials": building_reasons.get(b, {}),
                       "deliveries": building_deliveries.get(b, dict.fromkeys(ORDER_STATUSES, 0))}
                      for b, c in sorted(buildings.items(), key=lambda kv: _building_key(labels, kv[0]))],
        "denials_by_reason": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "daily": _series(tx, scope, chart_days, rows, cached_day),
        "temperatures": cached_temperatures(rows),
        "deliveries": delivered,
        "incidents": {"open": totals["open_incidents"], "by_kind": incident_kinds},
    }


def _series(tx, scope, days, rows, cached_day):
    """The daily chart: days the cache just read come from it, the others from one query a day."""
    live = {d["date"]: d for d in daily(tx, scope, [d for d in days if cached_day(rows, d[0]) is None])}
    return [live.get(day.isoformat()) or {"date": day.isoformat(), **cached_day(rows, day)} for day, _, _ in days]


def _key(kv):
    return (kv[0] is None, kv[0] or "")


def _building_key(labels, building_id):
    label = labels.get(building_id, building_id or "")
    digits = "".join(ch for ch in label if ch.isdigit())
    return (building_id is None, int(digits) if digits else 10**9, label)


def node_health(nodes, now_ms, schema_version, stale_after_ms):
    """The hub's nodes with their sync health, each marked stale (and why) when it needs a look."""
    out = []
    for n in nodes:
        why = []
        if n["revoked"]:
            why.append("revoked")
        if not n["last_seen_ms"]:
            why.append("never synced")
        elif now_ms - n["last_seen_ms"] > stale_after_ms:
            why.append("not heard from")
        if n["schema_version"] is not None and n["schema_version"] != schema_version:
            why.append("schema differs")
        if n["last_error"]:
            why.append("last sync refused")
        out.append({"id": n["id"], "label": n["label"], "compound_id": n["compound_id"],
                    "last_sync": iso(n["last_seen_ms"]) if n["last_seen_ms"] else None,
                    "last_sync_ago_s": (now_ms - n["last_seen_ms"]) // 1000 if n["last_seen_ms"] else None,
                    "pending": n["pending"], "skew_ms": n["skew_ms"], "schema_version": n["schema_version"],
                    "last_error": n["last_error"], "revoked": bool(n["revoked"]), "stale": bool(why), "why": why})
    return out
