"""The JSON API under /api/v1 that hub and node share: replicated rows, conflicts and sync status."""
import json
import uuid

from flask import Blueprint, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from sync.ids import new_id
from sync.sql_bulk import unindexed
from sync.tables import DELETED

from menwei.web.errors import ApiError, int_arg
from menwei.times import iso
from menwei.web.periods import PERIOD_QUERY, bounds
from menwei.privacy import mask_row
from menwei.runtime import runtime
from menwei.web.auth import (ROLES, actor_name, allow, require_table_read, require_table_write, served_compounds,
                             served_nodes)
from menwei.web.openapi import accepts, json_body
from menwei.store.queries import pending_changes

bp = Blueprint("api", __name__, url_prefix="/api/v1")
_SCHEMAS = {}


def _table(name):
    cat = runtime().catalog
    if name not in cat:
        raise ApiError(404, f"no table {name!r}")
    return cat[name]


def table_schema(table):
    """A marshmallow schema for writes to ``table``, built from its declaration."""
    if table.name not in _SCHEMAS:
        attrs = {f.name: fields.Raw(allow_none=not f.required) for f in table.fields}
        attrs["id"] = fields.String()

        def check(self, data, **_kw):
            errors = table.check_data({k: v for k, v in data.items() if k != "id"}, creating=False)
            if errors:
                raise ValidationError(errors)

        attrs["check"] = validates_schema(check)
        attrs["Meta"] = type("Meta", (), {"unknown": RAISE})
        _SCHEMAS[table.name] = type(f"{table.name.title()}Write", (Schema,), attrs)()
    return _SCHEMAS[table.name]


def _body(table):
    # the table comes from the URL, so the schema is chosen here rather than declared by @accepts
    return table_schema(table).load(json_body())


def _columns(table):
    cols = ["id"] + list(table.field_names)
    return cols + (["_hlc", "_origin"] if table.append_only else [DELETED])


def _decode(table, cols, r):
    row = dict(zip(cols, r))
    for f in table.fields:
        v = row.get(f.name)
        if v is not None and f.type == "bool":
            row[f.name] = bool(v)
        elif v is not None and f.type == "json":
            row[f.name] = json.loads(v)
    if DELETED in row:
        row[DELETED] = bool(row[DELETED])
    return row


def _shown(table, row):
    """A row as the API shows it: personal data masked, secrets (password hashes) left out."""
    out = mask_row(table, row)
    out.pop("password_hash", None)
    return out


def served_where(table):
    """(WHERE clauses, parameters) keeping a read to the compounds the caller serves (none when it serves all)."""
    served = served_compounds()
    if served is None or table.scope is None:
        return [], []
    col = "id" if table.scope == "id" else unindexed(runtime().store, table.scope)
    return [f"{col} IN ({', '.join('?' * len(served))})"], sorted(served)


def fetch_rows(table, where=(), params=(), limit=100, after=None, include_deleted=False):
    """Read rows of a replicated table as dicts, by id, unmasked (callers mask for display)."""
    cols = _columns(table)
    clauses, args = list(where), list(params)
    if not table.append_only and not include_deleted:
        clauses.append(f"{DELETED} = ?")
        args.append(False)
    if after:
        clauses.append("id > ?")
        args.append(after)
    sql = f"SELECT {', '.join(cols)} FROM {table.name}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY id LIMIT ?"
    args.append(limit)
    with runtime().store.read() as tx:
        return [_decode(table, cols, r) for r in tx.rows(sql, args)]


def _scoped(table, data, row_id, creating):
    """At a node, keep writes inside the node's own compound (the hub may write anywhere)."""
    rt = runtime()
    if rt.role == "hub":
        return data
    own = rt.compound_id
    if table.scope is None:
        raise ApiError(403, f"{table.name} is shared reference data; change it at the hub")
    if table.scope == "id":
        if creating or row_id != own:
            raise ApiError(403, "a node can only change its own compound")
        return data
    if creating and data.get(table.scope) is None:
        data[table.scope] = own
    elif table.scope in data and data[table.scope] != own:
        raise ApiError(403, f"this node serves compound {own}; it cannot write rows of another",
                       fields={table.scope: "not this node's compound"})
    return data


@bp.get("/tables")
@allow(*ROLES)
def list_tables():
    """Describe the replicated tables and their fields."""
    cat = runtime().catalog
    return jsonify({"schema_version": cat.schema_version, "tables": [
        {"name": t.name, "append_only": t.append_only, "scope": t.scope,
         "fields": [{"name": f.name, "type": f.type, "required": f.required, "pii": f.pii} for f in t.fields]}
        for t in cat]})


@bp.get("/rows/<name>")
@allow(*ROLES)
@accepts(query={"after": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 1000}})
def list_rows(name):
    """List a table's rows by id (personal data masked); filter with ?field=value, page with ?after=ID."""
    table = _table(name)
    require_table_read(name)
    where, params = [], []
    for key, value in request.args.items():
        if key in ("after", "limit"):
            continue
        f = table.by_name.get(key)
        if f is None or f.pii or key == "password_hash":
            raise ApiError(400, f"cannot filter on {key!r}", fields={key: "unknown or personal field"})
        # The compound is no filter worth an index: the page walks the ids (see sync.sql_bulk.unindexed).
        where.append(f"{unindexed(runtime().store, key) if key == table.scope != 'id' else key} = ?")
        params.append(_filter_value(f, value))
    limit = int_arg("limit", 100, 1, 1000)
    after = request.args.get("after")
    if after is not None and "\x00" in after:
        raise ApiError(400, "after must be a row id", fields={"after": "not a row id"})
    served, served_params = served_where(table)
    rows = fetch_rows(table, where + served, params + served_params, limit, after)
    return jsonify({"rows": [_shown(table, r) for r in rows], "count": len(rows)})


def _filter_value(f, text):
    """A ?field=value filter as the column's type; a value that cannot be one is a 400 naming the field.

    (SQLite would compare anything; PostgreSQL refuses a text for a number and any NUL.)
    """
    bad = ApiError(400, f"{f.name} must be a {f.type}", fields={f.name: f"not a {f.type}"})
    if "\x00" in text or f.type == "json":
        raise bad
    try:
        if f.type == "int":
            value = int(text)
            if not -2 ** 63 <= value < 2 ** 63:
                raise bad
            return value
        if f.type == "float":
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise bad
            return value
    except ValueError:
        raise bad from None
    if f.type == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise bad
        return text.lower() in ("true", "1")
    return text


@bp.get("/rows/<name>/<row_id>")
@allow(*ROLES)
def get_row(name, row_id):
    """Return one row (personal data masked)."""
    table = _table(name)
    require_table_read(name)
    served, served_params = served_where(table)
    rows = fetch_rows(table, ["id = ?"] + served, [row_id] + served_params, 1)
    if not rows:
        raise ApiError(404, f"no {name} with id {row_id}")
    return jsonify(_shown(table, rows[0]))


@bp.post("/rows/<name>")
@allow(*ROLES)
def create_row(name):
    """Create a row; its UUID is made here unless the client sends one."""
    table = _table(name)
    require_table_write(name)
    data = _body(table)
    row_id = data.pop("id", None) or new_id()
    try:  # a client may choose the id (to retry a create safely), but it must be a real UUID
        row_id = str(uuid.UUID(row_id))
    except ValueError:
        raise ApiError(400, "id must be a UUID", fields={"id": "not a UUID"}) from None
    _scoped(table, data, row_id, creating=True)
    ch = runtime().replica.write([(name, row_id, data)], create=True)[0]
    return jsonify({"id": row_id, "hlc": ch["hlc"]}), 201


@bp.patch("/rows/<name>/<row_id>")
@allow(*ROLES)
def update_row(name, row_id):
    """Change some fields of a row; each changed field gets a new stamp."""
    table = _table(name)
    require_table_write(name)
    if table.append_only:
        raise ApiError(405, f"{name} rows are never changed once written")
    data = _body(table)
    data.pop("id", None)
    if not data:
        raise ApiError(400, "nothing to change")
    _scoped(table, data, row_id, creating=False)
    ch = runtime().replica.update(name, row_id, data)
    return jsonify({"id": row_id, "hlc": ch["hlc"]})


@bp.delete("/rows/<name>/<row_id>")
@allow(*ROLES)
def delete_row(name, row_id):
    """Delete a row with a tombstone that replicates like any write."""
    table = _table(name)
    require_table_write(name)
    if table.append_only:
        raise ApiError(405, f"{name} rows are never deleted")
    _scoped(table, {}, row_id, creating=False)
    ch = runtime().replica.delete(name, row_id)
    return jsonify({"id": row_id, "hlc": ch["hlc"], "deleted": True})


class ResolveRequest(Schema):
    """Body of POST /api/v1/conflicts/<id>/resolve."""

    class Meta:
        unknown = RAISE

    keep = fields.String(required=True, validate=validate.OneOf(("winner", "loser")))
    by = fields.String(load_default=None)


class ConflictQuery(Schema):
    """Query of GET /api/v1/conflicts: status and origin (a node id); ``from``/``to`` are read by periods."""

    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(("open", "resolved", "superseded")))
    origin = fields.String(validate=validate.Length(max=64))


_CONFLICT_COLS = ("id", "detected_hlc", "tbl", "row_id", "field", "winner_value", "winner_hlc", "winner_origin",
                  "loser_value", "loser_hlc", "loser_origin", "status", "resolved_by", "resolved_hlc", "resolution")


def _conflict_dict(r):
    d = dict(zip(_CONFLICT_COLS, r))
    d["table"] = d.pop("tbl")
    for side in ("winner", "loser"):  # stamps are too big for JavaScript numbers: give the time too
        d[f"{side}_at"] = iso(d[f"{side}_hlc"] >> 16) if d[f"{side}_hlc"] else None
    for k in ("winner_value", "loser_value", "resolution"):
        if d[k] is not None:
            d[k] = json.loads(d[k])
    table = runtime().catalog[d["table"]]
    f = table.by_name.get(d["field"])
    if f is not None and f.pii:
        masked = mask_row(table, {d["field"]: d["winner_value"]})[d["field"]], \
            mask_row(table, {d["field"]: d["loser_value"]})[d["field"]]
        d["winner_value"], d["loser_value"] = masked
    return d


def load_conflicts(tx, status=None, origin=None, since_ms=None, until_ms=None):
    """Conflicts recorded here, oldest first, filtered by status, by an origin of either side and by period."""
    sql, args = f"SELECT {', '.join(_CONFLICT_COLS)} FROM sync_conflicts WHERE 1 = 1", []
    if status:  # superseded ones are stored as open: filtered below
        sql += " AND status = ?"
        args.append("resolved" if status == "resolved" else "open")
    if origin:
        sql += " AND (winner_origin = ? OR loser_origin = ?)"
        args += [origin, origin]
    if since_ms is not None:  # either side written in the period
        sql += " AND (winner_hlc >= ? OR loser_hlc >= ?)"
        args += [since_ms << 16] * 2
    if until_ms is not None:
        sql += " AND (winner_hlc < ? OR loser_hlc < ?)"
        args += [(until_ms + 1) << 16] * 2
    found = [_conflict_dict(r) for r in tx.rows(sql + " ORDER BY id", args)]
    served = served_compounds()
    if served is not None:  # at the hub: the conflicts of rows of the compounds the caller serves
        compound_of = {}
        for c in found:
            compound_of.setdefault(c["table"], set()).add(c["row_id"])
        compound_of = {t: tx.scopes_of(t, ids) for t, ids in compound_of.items()}
        found = [c for c in found if compound_of[c["table"]].get(c["row_id"]) in served]
    for c in found:
        c["row_label"] = _row_label(tx, c["table"], c["row_id"])
        if c["status"] == "open" and _superseded(tx, c):
            c["status"] = "superseded"
    return [c for c in found if status is None or c["status"] == status]


def _superseded(tx, c):
    """True when the field was written again after both sides (a resolution made elsewhere reached us)."""
    rows = tx.load_rows(c["table"], [c["row_id"]])
    if c["row_id"] not in rows:
        return False
    version = rows[c["row_id"]][1].get(c["field"])
    return version is not None and version[0] > max(c["winner_hlc"] or 0, c["loser_hlc"] or 0)


_LABEL_FIELDS = ("name", "label", "title", "code", "username", "plate", "item", "number")


def _row_label(tx, tname, row_id):
    """A name a coordinator recognises for a row (a resident's name, a room), or None."""
    table = runtime().catalog[tname]
    col = next((f for f in _LABEL_FIELDS if f in table.by_name and not table.by_name[f].pii), None)
    if col is None:
        return None
    rows = tx.rows(f"SELECT {col} FROM {tname} WHERE id = ?", (row_id,))
    return rows[0][0] if rows else None


@bp.get("/conflicts")
@allow("viewer")
@accepts(query={"status": {"type": "string", "enum": ["open", "resolved", "superseded"]},
               "origin": {"type": "string", "maxLength": 64}, **PERIOD_QUERY})
def list_conflicts():
    """List concurrent overwrites this replica detected: table, row, field, both values, stamps, origins."""
    q = ConflictQuery().load({k: v for k, v in request.args.items() if k not in ("from", "to")})
    since, until = bounds()
    with runtime().store.read(snapshot=True) as tx:  # each conflict's state and its row's version, at one time
        found = load_conflicts(tx, q.get("status"), q.get("origin"), since, until)
    return jsonify({"conflicts": found, "count": len(found)})


@bp.post("/conflicts/<int(max=9223372036854775807):conflict_id>/resolve")  # 64-bit: a larger id is a 404
@allow()
@accepts(ResolveRequest)
def resolve_conflict(conflict_id, body):
    """Resolve a conflict by writing the chosen value anew, so the choice reaches every replica."""
    rt = runtime()
    with rt.store.read() as tx:
        rows = tx.rows(f"SELECT {', '.join(_CONFLICT_COLS)} FROM sync_conflicts WHERE id = ?", (conflict_id,))
        if not rows:
            raise ApiError(404, f"no conflict {conflict_id}")
        c = dict(zip(_CONFLICT_COLS, rows[0]))
        if c["status"] == "resolved":
            raise ApiError(409, f"conflict {conflict_id} is already resolved")
        if _superseded(tx, {**c, "table": c["tbl"]}):  # choosing now would undo the later write
            raise ApiError(409, f"conflict {conflict_id} was settled by a later write", code="superseded")
    value = json.loads(c[f"{body['keep']}_value"])
    by = actor_name() or body["by"] or rt.replica.id

    def mark(tx, changes):  # in the write's own transaction: never a value written but the conflict still open
        n = tx.execute("UPDATE sync_conflicts SET status = 'resolved', resolved_by = ?, resolved_hlc = ?, "
                       "resolution = ? WHERE id = ? AND status = 'open'",
                       (by, changes[0]["hlc"], json.dumps(body["keep"]), conflict_id)).rowcount
        if n != 1:
            raise ApiError(409, f"conflict {conflict_id} is already resolved")
    ch = rt.replica.write([(c["tbl"], c["row_id"], {c["field"]: value})], before_commit=mark)[0]
    return jsonify({"id": conflict_id, "status": "resolved", "kept": body["keep"], "hlc": ch["hlc"],
                    "resolved_by": by})


@bp.get("/sync/status")
@allow(*ROLES)
def sync_status():
    """Report this replica's sync health: last success, pending changes, last error, clock skew, schema."""
    rt = runtime()
    out = {"role": rt.role, "schema_version": rt.catalog.schema_version, "enrolled": rt.enrolled}
    if rt.role == "hub":
        out["replica_id"] = rt.replica.id
        out["nodes"] = served_nodes(rt.registry.all())
        return jsonify(out)
    if rt.enrolled:
        rep = rt.replica
        status = rt.state("sync_status", {})
        out.update(status)
        out.update(replica_id=rep.id, compound_id=rt.compound_id, hub_url=rt.state("hub_url"),
                   pending=pending_changes(rt), cursor=rt.state("cursor", 0),
                   # the hub refused our schema version: changes stay queued until Menwei is upgraded
                   upgrade_required=status.get("last_error_code") == "schema_mismatch")
    return jsonify(out)
