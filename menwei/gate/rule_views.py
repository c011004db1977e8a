"""The control rules over HTTP: the complete rules in force, and what a new rule row would change."""
import datetime as dt

from flask import Blueprint, jsonify
from marshmallow import RAISE, Schema, ValidationError, fields

from sync.tables import YEARS

from menwei.gate.queries import rule_rows
from menwei.gate.rules import RULE_FIELDS, rule_changes, rule_sources
from menwei.runtime import runtime
from menwei.store.queries import current_compound
from menwei.tables import CONTROL_RULES
from menwei.times import iso
from menwei.web.auth import allow
from menwei.web.errors import ApiError
from menwei.web.openapi import accepts
from menwei.web.rows import table_schema

bp = Blueprint("gate_rules", __name__, url_prefix="/api/v1/gate")


class RulesQuery(Schema):
    """Query of GET /api/v1/gate/rules: which compound and building, at what time (default now)."""

    class Meta:
        unknown = RAISE

    compound_id = fields.String(load_default=None)
    building_id = fields.String(load_default=None)
    at = fields.AwareDateTime(load_default=None, default_timezone=dt.timezone.utc, validate=lambda t: YEARS[0] <= t.year <= YEARS[1]
                              or _bad_year())


def _bad_year():
    raise ValidationError(f"year must be between {YEARS[0]} and {YEARS[1]}")


def _source(row):
    return None if row is None else {"id": row["id"], "effective_from": row["effective_from"],
                                     "building_id": row["building_id"], "notes": row["notes"]}


@bp.get("/rules")
@allow("operator", "volunteer", "viewer")
@accepts(query=RulesQuery)
def rules_in_force(query):
    """The complete rules in force for a building (or the compound) now or ``at``, and the row each field comes from."""
    args = query
    at = iso(args["at"].timestamp() * 1000) if args["at"] else iso(runtime().wall())
    with runtime().store.read() as tx:
        rows = rule_rows(tx, current_compound(tx, args["compound_id"]))
    rules, sources = rule_sources(rows, args["building_id"], at)
    return jsonify({"at": at, "building_id": args["building_id"], "rules": rules,
                    "sources": {k: _source(sources[k]) for k in RULE_FIELDS}})


@bp.post("/rules/preview")
@allow()
@accepts(table_schema(CONTROL_RULES))
def preview_rule(body):
    """What publishing this control rule row would change, field by field, from its ``effective_from``
    (now by this replica's clock when left out); ``row`` is the row to publish."""
    row = dict(body)
    row.setdefault("effective_from", iso(runtime().wall()))
    with runtime().store.read() as tx:
        row["compound_id"] = current_compound(tx, row.get("compound_id"))
        rows = rule_rows(tx, row["compound_id"])
    errors = CONTROL_RULES.check_data({k: v for k, v in row.items() if k != "id"}, creating=True)
    if errors:
        raise ApiError(400, "invalid control rule", fields=errors)
    new = {"id": "~preview", "building_id": row.get("building_id"), **{k: row.get(k) for k in RULE_FIELDS},
           "effective_from": row["effective_from"]}
    before, _ = rule_sources(rows, new["building_id"], new["effective_from"])
    after, _ = rule_sources(rows + [new], new["building_id"], new["effective_from"])
    changes = rule_changes(rows, new)
    return jsonify({"row": row, "before": before, "after": after,
                    "changes": [{"field": k, "before": b, "after": a} for k, (b, a) in changes.items()]})
