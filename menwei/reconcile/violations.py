"""Rule violations no single gate could see while offline, found on the hub from everything that arrived.

Each finding has a ``kind`` and a stable ``key`` so that a coordinator's acknowledgement (a replicated
``violation_acks`` row) stays attached to it however often the list is recomputed.
"""
from collections import defaultdict

from sync.sql_store import decode_versions
from sync.clock import physical_ms

from menwei.gate.queries import load_rules, place_name
from menwei.gate.rules import is_counted_outing, outing_quota, pass_problems
from menwei.store.queries import live_tuples
from menwei.times import iso, local_text

KINDS = ("quota_exceeded", "pass_misused", "out_twice", "duplicate_room")
_EVENT_COLS = ("id", "gate", "direction", "decision", "at", "resident_id", "household_id", "pass_id", "purpose",
               "person_name", "_origin")
#: How far before the period events are read, so a quota window or an earlier exit reaching into it counts.
LOOKBACK_MS = 31 * 86_400_000


def find_violations(tx, compound_id, since_ms, until_ms, tz="Asia/Shanghai"):
    """Every violation in the compound with its evidence, whether acknowledged or not, oldest first.

    Messages give times in ``tz``, the compound's zone; the fields stay UTC ISO like every stored time.
    """
    events = _allowed_events(tx, compound_id, since_ms - LOOKBACK_MS, until_ms)
    canonical = _canonical_households(tx, compound_id)
    since, until = iso(since_ms), iso(until_ms)
    found = (_quota(tx, compound_id, events, canonical, since, until)
             + _pass_misuse(tx, events, since, until, tz)
             + _out_twice(events, since, until, tz)
             + _duplicate_rooms(tx, compound_id))
    acks = _acks(tx, compound_id)
    for v in found:
        v["ack"] = acks.get((v["kind"], v["key"]))
    return sorted(found, key=lambda v: (v["at"] or "", v["kind"], v["key"]))


def _allowed_events(tx, compound_id, since_ms, until_ms):
    rows = tx.rows(f"SELECT {', '.join(_EVENT_COLS)} FROM gate_events WHERE compound_id = ? AND decision = 'allowed' "
                   "AND at >= ? AND at <= ? ORDER BY at, id", (compound_id, iso(since_ms), iso(until_ms)))
    return [dict(zip(_EVENT_COLS, r)) for r in rows]


def _canonical_households(tx, compound_id):
    """{household id: (surviving id, building id)}, following merges."""
    rows = tx.rows("SELECT id, merged_into, building_id, label FROM households WHERE compound_id = ?", (compound_id,))
    parent = {r[0]: r[1] for r in rows}
    info = {r[0]: (r[2], r[3]) for r in rows}
    out = {}
    for hid in parent:
        root, seen = hid, set()
        while parent.get(root) and root not in seen:  # a merge chain; a cycle (two offline merges) stops
            seen.add(root)
            root = parent[root]
        out[hid] = (root, *info.get(root, (None, None)))
    return out


def _evidence(e):
    return {"event_id": e["id"], "gate": e["gate"], "at": e["at"], "direction": e["direction"],
            "person_name": e["person_name"]}


def _quota(tx, compound_id, events, canonical, since, until):
    outings = defaultdict(list)
    for e in events:
        if is_counted_outing(e) and e["household_id"]:
            outings[canonical.get(e["household_id"], (e["household_id"], None, None))].append(e)
    found, rules_cache = [], {}
    for (hid, building_id, label), evs in outings.items():
        for i, e in enumerate(evs):
            if not (since <= e["at"] <= until):
                continue
            day = e["at"][:10]
            if (building_id, day) not in rules_cache:
                rules_cache[(building_id, day)] = load_rules(tx, compound_id, building_id, e["at"])
            rules = rules_cache[(building_id, day)]
            counted, left, _, recent = outing_quota(rules, [p["at"] for p in evs[:i]], e["at"])
            if counted and left == 0:  # the gate's own judgement (rules.outing_quota) would have refused it
                earlier = evs[i - len(recent):i]  # the counted outings in its window, oldest first
                found.append({"kind": "quota_exceeded", "key": f"{hid}:{e['id']}", "at": e["at"],
                              "household_id": hid, "household": label,
                              "gates": sorted({p["gate"] for p in earlier + [e]}),
                              "message": f"{label or hid}: {len(earlier) + 1} outings in {rules['outing_days']} days "
                                         f"(quota {rules['outing_quota']})",
                              "events": [_evidence(p) for p in earlier + [e]]})
    return found


def _pass_misuse(tx, events, since, until, tz):
    used = [e for e in events if e["pass_id"] and since <= e["at"] <= until]
    if not used:
        return []
    ids = sorted({e["pass_id"] for e in used})
    marks = ", ".join("?" * len(ids))
    passes = {r[0]: r for r in tx.rows(
        f"SELECT id, code, revoked, revoked_reason, valid_from, valid_until, _v FROM passes WHERE id IN ({marks})", ids)}
    found = []
    for e in used:
        p = passes.get(e["pass_id"])
        if p is None:
            continue
        _, code, revoked, revoked_reason, valid_from, valid_until, versions = p
        revoked_at = iso(physical_ms(decode_versions(versions).get("revoked", [0])[0])) if revoked else None
        found_problems = pass_problems({"revoked": revoked, "revoked_reason": revoked_reason, "valid_from": valid_from,
                                        "valid_until": valid_until}, e["at"], revoked_at)  # the gate's own rule
        problems = [_problem_text(kind, facts, tz) for kind, facts in found_problems]
        if problems:
            found.append({"kind": "pass_misused", "key": e["id"], "at": e["at"], "pass_id": e["pass_id"],
                          "household_id": e["household_id"], "gates": [e["gate"]],
                          "message": f"pass {code} used at {place_name(e['gate'])} {local_text(e['at'], tz)}: " + "; ".join(problems),
                          "events": [_evidence(e)]})
    return found


def _problem_text(kind, facts, tz):
    if kind == "pass_revoked":
        reason = facts.get("revoked_reason")
        return f"revoked {local_text(facts['revoked_at'], tz)}" + (f" ({reason})" if reason else "")
    if kind == "pass_expired":
        return f"expired {local_text(facts['valid_until'], tz)}"
    return f"not valid before {local_text(facts['valid_from'], tz)}"


def _out_twice(events, since, until, tz):
    last = {}
    found = []
    for e in events:
        rid = e["resident_id"]
        if not rid:
            continue
        prev = last.get(rid)
        if e["direction"] == "out" and prev is not None and prev["direction"] == "out" and since <= e["at"] <= until:
            found.append({"kind": "out_twice", "key": e["id"], "at": e["at"], "resident_id": rid,
                          "household_id": e["household_id"], "gates": sorted({prev["gate"], e["gate"]}),
                          "message": f"{e['person_name'] or rid} went out at {place_name(prev['gate'])} "
                                     f"{local_text(prev['at'], tz)} and again at {place_name(e['gate'])} "
                                     f"{local_text(e['at'], tz)} without coming back in",
                          "events": [_evidence(prev), _evidence(e)]})
        last[rid] = e
    return found


def _duplicate_rooms(tx, compound_id):
    rows = live_tuples(tx, "households", ("id", "building_id", "room", "label", "_v"),
                       "compound_id = ? AND merged_into IS NULL", (compound_id,))
    groups = defaultdict(list)
    for hid, building_id, room, label, versions in rows:
        groups[(building_id, _room_key(room))].append((hid, label, versions))
    found = []
    for (building_id, room), hs in groups.items():
        if len(hs) < 2:
            continue
        created = []
        for hid, label, versions in sorted(hs):
            v = decode_versions(versions).get("room", [0, None])
            created.append({"household_id": hid, "label": label, "registered_by": v[1],
                            "registered_place": place_name(v[1]), "registered_at": iso(physical_ms(v[0]))})
        created.sort(key=lambda c: c["registered_at"])
        found.append({"kind": "duplicate_room", "key": f"{building_id}:{room}", "at": created[-1]["registered_at"],
                      "household_id": created[0]["household_id"], "households": created,
                      "gates": sorted({c["registered_by"] for c in created if c["registered_by"]}),
                      "message": f"room {created[0]['label'] or room} is registered {len(created)} times"})
    return found


def _room_key(room):
    return "".join((room or "").split()).upper()


def _acks(tx, compound_id):
    rows = live_tuples(tx, "violation_acks", ("kind", "key", "note", "acked_by", "acked_at"), "compound_id = ?",
                       (compound_id,))
    return {(r[0], r[1]): {"note": r[2], "by": r[3], "at": r[4]} for r in rows}
