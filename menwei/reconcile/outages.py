"""What happened at a gate while it was offline: its outages, what arrived late, its conflicts and violations.

Read on the hub from its diary of node visits (``sync_contacts``), the origin stamps every change
carries, and the conflicts recorded when the changes merged.
"""
from sync.clock import physical_ms

from menwei.times import iso

#: Tables whose rows a coordinator reads as "what happened"; the rest are counted, not listed.
_EVENT_COLS = ("id", "at", "direction", "decision", "person_name", "purpose")
STAMP_SHIFT = 16  # sync.clock packs a 16-bit counter under the milliseconds


def outages(contacts, since_ms, until_ms, gap_ms, now_ms):
    """The periods without a successful sync longer than ``gap_ms``, as [(from_ms, to_ms or None)].

    ``contacts`` are (at_ms, until_ms, kind, first, last, error) rows, oldest first; a refused
    visit does not count as being in touch. ``to_ms`` None means the node is still offline.
    """
    spans = [(c[0], c[1]) for c in contacts if c[5] is None]
    found, prev_end = [], None
    for start, end in spans:
        if prev_end is not None and start - prev_end > gap_ms and start >= since_ms and prev_end <= until_ms:
            found.append((prev_end, start))
        prev_end = end if prev_end is None else max(prev_end, end)
    if prev_end is not None and now_ms - prev_end > gap_ms and prev_end <= until_ms:
        found.append((prev_end, None))
    return found


def _stamp(ms):
    return int(ms) << STAMP_SHIFT


def late_arrivals(tx, catalog, node_id, since_ms, until_ms, late_ms, limit=500):
    """Changes made at ``node_id`` in the period that reached the hub more than ``late_ms`` after they were made.

    Returns {"counts": {table: n}, "events": [gate events with their delay], "total": n}.
    """
    counts, events = {}, []
    lo, hi = _stamp(since_ms), _stamp(until_ms + 1)
    for table in catalog:
        if table.append_only:
            sql = (f"SELECT t.id, t._hlc, MIN(c.at_ms) FROM {table.name} t JOIN sync_contacts c "
                   "ON c.node_id = t._origin AND c.kind = 'push' AND t._oseq BETWEEN c.first_oseq AND c.last_oseq "
                   "WHERE t._origin = ? AND t._hlc >= ? AND t._hlc < ? GROUP BY t.id, t._hlc")
        else:
            sql = ("SELECT t.row_id, t.hlc, MIN(c.at_ms) FROM sync_log t JOIN sync_contacts c "
                   "ON c.node_id = t.origin AND c.kind = 'push' AND t.oseq BETWEEN c.first_oseq AND c.last_oseq "
                   f"WHERE t.origin = ? AND t.tbl = '{table.name}' AND t.hlc >= ? AND t.hlc < ? GROUP BY t.row_id, t.hlc")
        late = [(rid, physical_ms(h), arrived) for rid, h, arrived in tx.rows(sql, (node_id, lo, hi))
                if arrived - physical_ms(h) > late_ms]
        if late:
            counts[table.name] = len(late)
        if table.name == "gate_events" and late and limit:
            late.sort(key=lambda x: x[1])
            shown = {r[0]: r for r in late[:limit]}
            marks = ", ".join("?" * len(shown))
            for r in tx.rows(f"SELECT {', '.join(_EVENT_COLS)} FROM gate_events WHERE id IN ({marks}) ORDER BY at",
                             list(shown)):
                e = dict(zip(_EVENT_COLS, r))
                _, made, arrived = shown[e["id"]]
                events.append({**e, "arrived_at": iso(arrived), "delay_s": round((arrived - made) / 1000)})
    return {"counts": counts, "total": sum(counts.values()), "events": events}


def captured(tx, node_id, since_ms, until_ms):
    """How many gate events ``node_id`` recorded in the period (by its own stamps)."""
    return tx.rows("SELECT COUNT(*) FROM gate_events WHERE _origin = ? AND _hlc >= ? AND _hlc < ?",
                   (node_id, _stamp(since_ms), _stamp(until_ms + 1)))[0][0]


def node_conflicts(conflicts, node_id, since_ms, until_ms):
    """The conflicts in which one side was written at ``node_id`` within the period."""
    out = []
    for c in conflicts:
        for side in ("winner", "loser"):
            if c[f"{side}_origin"] == node_id and since_ms <= physical_ms(c[f"{side}_hlc"] or 0) <= until_ms:
                out.append(c)
                break
    return out


def node_violations(violations, node_id, since_ms, until_ms):
    """The violations whose evidence includes something ``node_id`` did within the period."""
    lo, hi = iso(since_ms), iso(until_ms)
    return [v for v in violations if node_id in v.get("gates", ())
            and any(lo <= e["at"] <= hi and e["gate"] == node_id for e in v.get("events", ()))
            or v["kind"] == "duplicate_room" and any(h["registered_by"] == node_id and lo <= h["registered_at"] <= hi
                                                     for h in v.get("households", ()))]
