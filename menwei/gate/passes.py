"""Passes: issue one (or a whole building's), revoke, and print QR cards, from hub or node alike."""
import secrets

import segno
from flask import Blueprint, current_app, render_template, request
from marshmallow import RAISE, Schema, fields, validate, validates_schema, ValidationError

from sync.ids import new_id
from sync.tables import DELETED

from menwei.web.errors import ApiError
from menwei.gate.queries import QR_PREFIX
from menwei.gate.labels import room_order
from menwei.times import iso, local_text, parse
from menwei.runtime import runtime
from menwei.store.queries import current_compound, live_tuples, one_row
from menwei.web.auth import allow, served_clause
from menwei.web.openapi import accepts

api = Blueprint("passes_api", __name__, url_prefix="/api/v1/gate/passes")
pages = Blueprint("passes_pages", __name__, template_folder="templates")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out at the gate
PASS_COLS = ("id", "compound_id", "kind", "code", "household_id", "resident_id", "vehicle_id", "holder_name",
             "employer", "certificate_checked_by", "reason", "valid_from", "valid_until", "revoked",
             "revoked_reason")


class PassIn(Schema):
    """Body of POST /api/v1/gate/passes."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(("outing", "work", "vehicle", "visitor")))
    household_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    resident_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    vehicle_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    holder_name = fields.String(load_default=None, validate=validate.Length(1, 50))
    employer = fields.String(load_default=None, validate=validate.Length(1, 100))
    certificate_checked_by = fields.String(load_default=None, validate=validate.Length(1, 50))
    reason = fields.String(load_default=None, validate=validate.Length(1, 200))
    valid_hours = fields.Integer(load_default=None, validate=validate.Range(1, 24 * 60))
    valid_until = fields.String(load_default=None)

    @validates_schema
    def _check(self, data, **_kw):
        if data["kind"] == "visitor" and not (data.get("holder_name") and data.get("reason")):
            raise ValidationError("a visitor pass needs holder_name and reason", "holder_name")
        if data["kind"] == "visitor" and not data.get("valid_hours"):
            raise ValidationError("a visitor pass is valid for some hours", "valid_hours")
        if data["kind"] == "work" and not data.get("employer"):
            raise ValidationError("a work pass names the employer", "employer")
        if data["kind"] == "vehicle" and not data.get("vehicle_id"):
            raise ValidationError("a vehicle pass names the vehicle", "vehicle_id")
        if data["kind"] in ("outing", "work") and not (data.get("household_id") or data.get("resident_id")):
            raise ValidationError("say whose pass this is", "household_id")
        if data.get("valid_until"):
            try:
                parse(data["valid_until"])
            except ValueError:
                raise ValidationError("must be an ISO 8601 date-time", "valid_until") from None


class BatchIn(Schema):
    """Body of POST /api/v1/gate/passes/batch: an outing pass for every household of a building."""

    class Meta:
        unknown = RAISE

    building_id = fields.String(required=True, validate=validate.Length(1, 64))
    valid_until = fields.String(load_default=None)


class RevokeIn(Schema):
    """Body of POST /api/v1/gate/passes/<id>/revoke."""

    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(1, 200))


def new_code(tx):
    """A fresh six-character pass code not yet used here."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if not tx.rows("SELECT 1 FROM passes WHERE code = ?", (code,)):
            return code


def _lookup(tx, table, row_id, what):
    row = one_row(tx, table, "id = ?", (row_id,))
    if row is None:
        raise ApiError(404, f"no {table[:-1]} {row_id}", fields={what: "unknown"})
    return row


@api.post("")
@allow()
@accepts(PassIn)
def issue(body):
    """Issue one pass with a short code; visitor passes last the hours given."""
    rt = runtime()
    now = rt.wall()
    with rt.store.read() as tx:
        data = {k: v for k, v in body.items() if v is not None and k != "valid_hours"}
        if body.get("resident_id"):
            res = _lookup(tx, "residents", body["resident_id"], "resident_id")
            data.setdefault("household_id", res["household_id"])
            data.setdefault("holder_name", res["name"])
        if body.get("household_id"):
            hh = _lookup(tx, "households", body["household_id"], "household_id")
            data["compound_id"] = hh["compound_id"]
        if body.get("vehicle_id"):
            veh = _lookup(tx, "vehicles", body["vehicle_id"], "vehicle_id")
            data["compound_id"] = veh["compound_id"]
            data.setdefault("household_id", veh["household_id"])
        if "compound_id" not in data:
            data["compound_id"] = current_compound(tx, field="household_id")
        data["code"] = new_code(tx)
    data["valid_from"] = iso(now)
    if body.get("valid_hours"):
        data["valid_until"] = iso(now + body["valid_hours"] * 3_600_000)
    pid = new_id()
    rt.replica.write([("passes", pid, data)], create=True)
    return {"id": pid, **data}, 201


@api.post("/batch")
@allow()
@accepts(BatchIn)
def issue_for_building(body):
    """Issue an outing pass to every household of a building that has no valid one yet."""
    rt = runtime()
    now = rt.wall()
    with rt.store.read() as tx:
        building = _lookup(tx, "buildings", body["building_id"], "building_id")
        households = live_tuples(tx, "households", ("id", "label"), "building_id = ?", (building["id"],), order="label")
        have = {r[0] for r in live_tuples(
            tx, "passes", ("household_id",),
            "kind = 'outing' AND (revoked IS NULL OR revoked = ?) AND (valid_until IS NULL OR valid_until > ?)",
            (False, iso(now)))}
        writes, codes = [], set()
        for hid, _label in households:
            if hid in have:
                continue
            code = new_code(tx)
            while code in codes:
                code = new_code(tx)
            codes.add(code)
            data = {"compound_id": building["compound_id"], "kind": "outing", "code": code, "household_id": hid,
                    "valid_from": iso(now)}
            if body.get("valid_until"):
                data["valid_until"] = body["valid_until"]
            writes.append(("passes", new_id(), data))
    if writes:
        rt.replica.write(writes, create=True)
    return {"issued": [{"id": w[1], **w[2]} for w in writes], "skipped": len(households) - len(writes)}, 201


@api.post("/<pass_id>/revoke")
@allow()
@accepts(RevokeIn)
def revoke(pass_id, body):
    """Revoke a pass; the revocation reaches every gate at its next pull."""
    rt = runtime()
    rt.replica.update("passes", pass_id, {"revoked": True, "revoked_reason": body["reason"]})
    return {"id": pass_id, "revoked": True, "revoked_reason": body["reason"]}


def qr_svg(code):
    """An inline SVG QR code of a pass (what a scanner at the gate types into the desk)."""
    return segno.make(QR_PREFIX + code, error="m").svg_inline(border=4, omitsize=True)  # sized in mm by the sheet


@pages.get("/passes/print")
@allow()
def print_sheet():
    """A printable sheet of pass cards: ?building_id=… for a whole building, or ?id=…&id=… for some."""
    rt = runtime()
    ids, building_id = request.args.getlist("id"), request.args.get("building_id")
    if not ids and not building_id:
        raise ApiError(400, "give building_id or one or more id", fields={"building_id": "missing"})
    with rt.store.read() as tx:
        where, params = (["p.household_id IN (SELECT id FROM households WHERE building_id = ?)"], [building_id]) \
            if building_id else ([f"p.id IN ({','.join('?' * len(ids))})"], list(ids))
        cols = ", ".join(f"p.{c}" for c in PASS_COLS)
        served, served_params = served_clause("p.compound_id")  # at the hub: the compounds the caller serves
        rows = tx.rows(f"SELECT {cols}, h.label, c.name FROM passes p LEFT JOIN households h ON h.id = p.household_id "
                       f"LEFT JOIN compounds c ON c.id = p.compound_id "
                       f"WHERE {' AND '.join(where)} AND p.{DELETED} = ? AND (p.revoked IS NULL OR p.revoked = ?)"
                       f"{served}", [*params, False, False, *served_params])
    tz = current_app.config["TIMEZONE"]
    cards = []
    for r in rows:
        p = dict(zip(PASS_COLS + ("label", "compound"), r))
        p["qr"] = qr_svg(p["code"])
        p["until"] = local_text(p["valid_until"], tz, "%Y-%m-%d %H:%M") if p["valid_until"] else ""
        cards.append(p)
    cards.sort(key=lambda p: (room_order(p["label"] or ""), p["code"]))  # 20-101 before 20-1001, as doors go
    return render_template("passes_print.html", cards=cards)
