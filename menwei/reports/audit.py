"""The audit trail: who changed what and where, read from the replication metadata.

The change log (and each append-only table, its own log) already says which replica wrote which fields
of which row, and when (the stamp). What it cannot say is who was signed in: ``ActorReplica`` notes that
locally for every write made in a signed-in request, one row per write call. Gate events carry their
operator, so the actor of a crossing is known at every replica.
"""
import orjson
from flask import g, has_request_context

from sync.clock import physical_ms
from sync.replica import Replica
from sync.tables import DELETED

from menwei.times import iso
from menwei.privacy import mask_for

MAX_VALUE_CHARS = 200
#: The field that names a row to a reader (never personal data), first found in the table's declaration.
LABEL_FIELDS = ("name", "label", "title", "person_name", "code", "username", "plate", "item", "number", "kind")
#: Never shown, whoever asks: secrets and blobs that say nothing to a reader.
HIDDEN_FIELDS = {"password_hash": "••••", "photo": "[照片 photo]"}


class ActorReplica(Replica):
    """A replica that records the signed-in account behind each of its local writes (for the audit).

    It also keeps each request's writes inside the compounds its caller serves (menwei.web.auth.served_compounds).
    """

    def writer_scopes(self):
        """The compounds the caller of this request may write, or None for any."""
        from menwei.web.auth import served_compounds  # auth imports runtime, which imports this module
        return served_compounds()

    def write(self, writes, create=None, before_commit=None):
        """Write as Replica.write does, noting in the same transaction who asked for it."""
        who = g.get("principal") if has_request_context() else None
        if who is None:
            return super().write(writes, create, before_commit)

        def noted(tx, changes):
            if changes:
                tx.execute("INSERT INTO write_actors (origin, first_oseq, last_oseq, actor, at_ms) VALUES (?,?,?,?,?)",
                           (self.id, changes[0]["seq"], changes[-1]["seq"], who.name, self.clock.wall()))
            if before_commit is not None:
                before_commit(tx, changes)
        return super().write(writes, create, noted)


def _shown_value(field, value):
    if field in HIDDEN_FIELDS and value is not None:
        return HIDDEN_FIELDS[field]
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    return value


def shown_fields(table, data):
    """The written fields of a change as the audit shows them: personal data masked, secrets hidden."""
    out = {}
    for name, value in data.items():
        f = table.by_name.get(name)
        if f is not None and f.pii and value:
            value = mask_for(name)(value)
        out[name] = _shown_value(name, value)
    return out


def entries(tx, catalog, table=None, row_id=None, origin=None, since_ms=None, until_ms=None, before=None,
            after=None, limit=50, scopes=None):
    """Changes as stored here: (entries, cursor for the next page or None).

    Newest log position first, paged backwards with ``before``; or, given ``after``, oldest first from
    that position on (to follow the trail as it grows). Each source (the log, each append-only table) is
    read through its primary key up to ``limit + 1`` rows and the streams are merged; the stamp bounds
    filter within them. ``scopes`` (compound ids) keeps to changes of rows of those compounds.
    """
    within = "" if scopes is None else f" IN ({', '.join('?' * len(scopes))})"
    scopes = sorted(scopes or ())
    order = "ASC" if after is not None else "DESC"
    hlc_lo = None if since_ms is None else since_ms << 16
    hlc_hi = None if until_ms is None else (until_ms + 1) << 16
    found = []
    if table is None or not catalog[table].append_only:
        where, args = ["1 = 1"], []
        for cond, val in (("tbl = ?", table), ("row_id = ?", row_id), ("origin = ?", origin),
                          ("hlc >= ?", hlc_lo), ("hlc < ?", hlc_hi), ("seq < ?", before),
                          ("seq > ?", after)):
            if val is not None:
                where.append(cond)
                args.append(val)
        if within:
            where.append("scope" + within)
            args += scopes
        for seq, org, oseq, hlc, tbl, rid, data in tx.rows(
                f"SELECT seq, origin, oseq, hlc, tbl, row_id, data FROM sync_log WHERE {' AND '.join(where)} "
                f"ORDER BY seq {order} LIMIT ?", [*args, limit + 1]):
            found.append((seq, org, oseq, hlc, tbl, rid, orjson.loads(data)))
    for t in catalog:
        if not t.append_only or table not in (None, t.name):
            continue
        where, args = ["1 = 1"], []
        for cond, val in (("id = ?", row_id), ("_origin = ?", origin), ("_hlc >= ?", hlc_lo), ("_hlc < ?", hlc_hi),
                          ("_seq < ?", before), ("_seq > ?", after)):
            if val is not None:
                where.append(cond)
                args.append(val)
        if within:
            where.append(t.scope + within)
            args += scopes
        names = t.field_names
        for r in tx.rows(f"SELECT _seq, _origin, _oseq, _hlc, id, {', '.join(names)} FROM {t.name} "
                         f"WHERE {' AND '.join(where)} ORDER BY _seq {order} LIMIT ?", [*args, limit + 1]):
            data = {n: v for n, v in zip(names, r[5:]) if v is not None}
            if isinstance(data.get("reasons"), str):
                data["reasons"] = orjson.loads(data["reasons"])
            found.append((r[0], r[1], r[2], r[3], t.name, r[4], data))
    found.sort(key=lambda e: e[0], reverse=after is None)
    page, more = found[:limit], len(found) > limit
    labels = {}
    out = [_entry(tx, catalog, labels, *e) for e in page]
    return out, (page[-1][0] if more and page else None)


def row_label(tx, table, row_id, data, cache):
    """What a reader calls the row (a resident's name, a room, a pass code), from the change or the row now."""
    col = next((f for f in LABEL_FIELDS if f in table.by_name and not table.by_name[f].pii), None)
    if col is None:
        return None
    if data.get(col) is not None:
        return _shown_value(col, data[col])
    key = (table.name, row_id)
    if key not in cache:
        rows = tx.rows(f"SELECT {col} FROM {table.name} WHERE id = ?", (row_id,))
        cache[key] = _shown_value(col, rows[0][0]) if rows else None
    return cache[key]


def _entry(tx, catalog, labels, seq, origin, oseq, hlc, tname, row_id, data):
    t = catalog[tname]
    actor = _actor(tx, origin, oseq)
    kind = "delete" if data.get(DELETED) is True else "create" if t.append_only else "write"
    return {"seq": seq, "table": tname, "row_id": row_id, "row_label": row_label(tx, t, row_id, data, labels),
            "origin": origin, "oseq": oseq, "stamp": str(hlc),
            "at": iso(physical_ms(hlc)), "kind": kind, "fields": sorted(k for k in data if k != DELETED),
            "values": shown_fields(t, {k: v for k, v in data.items() if k != DELETED}),
            "refs": referenced_labels(tx, catalog, t, data, labels),
            "actor": actor or (data.get("operator") if tname == "gate_events" else None),
            "actor_known": actor is not None}


def referenced_labels(tx, catalog, table, data, cache):
    """{field: what a reader calls the row a reference field points at} (a room for a household id)."""
    out = {}
    for f in table.fields:
        target = "compounds" if f.name == table.scope else getattr(f, "refs", None)
        if target and data.get(f.name) and target in catalog:
            label = row_label(tx, catalog[target], data[f.name], {}, cache)
            if label is not None:
                out[f.name] = label
    return out


def _actor(tx, origin, oseq):
    rows = tx.rows("SELECT actor, last_oseq FROM write_actors WHERE origin = ? AND first_oseq <= ? "
                   "ORDER BY first_oseq DESC LIMIT 1", (origin, oseq))
    return rows[0][0] if rows and rows[0][1] >= oseq else None
