"""POST /api/v1/gate/checks: decide a crossing at the gate and record it, allowed or denied."""
from flask import Blueprint, current_app, jsonify
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from sync.ids import new_id

from menwei.web.errors import ApiError
from menwei.gate.labels import normalise_plate, room_label
from menwei.gate.queries import QR_PREFIX, household_outings, load_rules, operator_on_duty, place_name
from menwei.gate.rules import Crossing, judge
from menwei.times import iso
from menwei.privacy import mask_phone
from menwei.runtime import runtime
from menwei.store.queries import current_compound, one_row
from menwei.web.auth import allow, signed_in_name
from menwei.web.openapi import accepts


bp = Blueprint("gate", __name__, url_prefix="/api/v1/gate")


class VisitorIn(Schema):
    """A non-resident registered at the gate."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(1, 50))
    id_number = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{17}[0-9Xx]$",
                                                                           error="18 characters: 17 digits and a digit or X"))
    phone = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9+\- ]{5,20}$", error="a phone number"))
    reason = fields.String(required=True, validate=validate.Length(1, 200))


class CheckIn(Schema):
    """Body of POST /api/v1/gate/checks: who (one way or another), which way, and the temperature."""

    class Meta:
        unknown = RAISE

    code = fields.String(load_default=None, validate=validate.Length(1, 200))
    resident_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    id_number = fields.String(load_default=None, validate=validate.Regexp(
        r"^[0-9]{17}[0-9Xx]$", error="18 characters: 17 digits and a digit or X"))
    household_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    room = fields.String(load_default=None, validate=validate.Length(1, 40))
    plate = fields.String(load_default=None, validate=validate.Length(2, 16))
    visitor = fields.Nested(VisitorIn, load_default=None)
    direction = fields.String(required=True, validate=validate.OneOf(("in", "out")))
    temperature = fields.Float(required=True, allow_nan=False, validate=validate.Range(
        34.0, 43.0, error="must be a body temperature between 34 and 43 °C"))
    operator = fields.String(load_default=None, validate=validate.Length(1, 50))
    health_code = fields.String(load_default=None, validate=validate.OneOf(("green", "yellow", "red")))
    id_checked = fields.Boolean(load_default=False)
    deny_reason = fields.String(load_default=None, validate=validate.Length(1, 200))

    @validates_schema
    def one_subject(self, data, **_kw):
        given = [k for k in ("code", "resident_id", "id_number", "household_id", "room", "plate", "visitor")
                 if data.get(k)]
        if not given:
            raise ValidationError("give a pass code, a resident, a household, a room, a plate or a visitor",
                                  "subject")




def gather(tx, body, at):
    """Look up everything the rules need for this crossing."""
    rt = runtime()
    c = Crossing(direction=body["direction"], at=at, temperature=body["temperature"], rules={},
                 id_checked=body["id_checked"], visitor=body.get("visitor"), tz=current_app.config["TIMEZONE"])
    if body.get("code"):
        code = body["code"].strip()
        code = code[len(QR_PREFIX):] if code.upper().startswith(QR_PREFIX) else code
        c.code_given = code.upper()
        c.pass_ = one_row(tx, "passes", "code = ?", [c.code_given])
        c.code_known = c.pass_ is not None
        if c.pass_:
            body.setdefault("household_id", None)
            body["household_id"] = body["household_id"] or c.pass_.get("household_id")
            body["resident_id"] = body.get("resident_id") or c.pass_.get("resident_id")
            if c.pass_.get("vehicle_id"):
                c.vehicle = one_row(tx, "vehicles", "id = ?", [c.pass_["vehicle_id"]])
    if body.get("plate"):
        c.vehicle = one_row(tx, "vehicles", "plate = ?", [normalise_plate(body["plate"])])
        if c.vehicle is None:
            c.vehicle = {"id": None, "plate": normalise_plate(body["plate"]), "household_id": None}
        body["household_id"] = body.get("household_id") or c.vehicle.get("household_id")
    if body.get("id_number"):  # an ID card presented at the gate
        found = one_row(tx, "residents", "id_number = ?", [body["id_number"].upper()])
        if body.get("resident_id"):  # the person is known (a pass, the desk): the card must be theirs
            c.id_checked = found is not None and found["id"] == body["resident_id"]
            c.id_mismatch = not c.id_checked
        elif c.pass_ is not None:  # a pass for someone not in the register: the volunteer saw the card
            c.id_checked = True
        elif found is None:
            raise ApiError(404, "no resident with this ID number", fields={"id_number": "not registered here"})
        else:
            body["resident_id"] = found["id"]
            c.id_checked = True
    if body.get("resident_id"):
        c.resident = one_row(tx, "residents", "id = ?", [body["resident_id"]])
        if c.resident is None:
            raise ApiError(404, f"no resident {body['resident_id']}", fields={"resident_id": "unknown resident"})
        body["household_id"] = body.get("household_id") or c.resident["household_id"]
    if body.get("room") and not body.get("household_id"):
        hh = one_row(tx, "households", "label = ? AND merged_into IS NULL", [room_label(body["room"]) or body["room"].strip()])
        if hh is None:
            raise ApiError(404, f"no household {body['room']}", fields={"room": "unknown room"})
        body["household_id"] = hh["id"]
    if body.get("household_id"):
        c.household = one_row(tx, "households", "id = ?", [body["household_id"]])
        if c.household is None:
            raise ApiError(404, f"no household {body['household_id']}", fields={"household_id": "unknown"})
        if c.household.get("merged_into"):  # a pass or resident still naming a merged duplicate
            c.household = one_row(tx, "households", "id = ?", [c.household["merged_into"]]) or c.household
    compound_id = (c.household or {}).get("compound_id") or rt.compound_id or \
        current_compound(tx, field="subject")
    c.rules = load_rules(tx, compound_id, (c.household or {}).get("building_id"), at)
    if c.household is not None:
        c.outings = household_outings(tx, c.household["id"], at, c.rules["outing_days"])
    return c, compound_id


@bp.post("/checks")
@allow("operator")
@accepts(CheckIn)
def check(body):
    """Judge one crossing and write its gate event (and a fever incident) whatever the decision."""
    rt = runtime()
    at = iso(rt.wall())
    with rt.store.read() as tx:
        c, compound_id = gather(tx, body, at)
        if not body.get("operator"):  # whoever checked in at this gate's post, else who is signed in
            body["operator"] = operator_on_duty(tx, rt.replica.id) or signed_in_name()
    verdict = judge(c)
    if body.get("deny_reason"):  # the volunteer refuses on their own judgement, and says why
        verdict.allowed = False
        verdict.reasons.append({"code": "operator", "message": body["deny_reason"]})
    event_id = new_id()
    visitor = body.get("visitor") or {}
    event = {"compound_id": compound_id, "gate": rt.replica.id, "direction": c.direction, "at": at,
             "resident_id": (c.resident or {}).get("id"), "household_id": (c.household or {}).get("id"),
             "vehicle_id": (c.vehicle or {}).get("id"), "pass_id": (c.pass_ or {}).get("id"),
             "purpose": verdict.purpose, "decision": "allowed" if verdict.allowed else "denied",
             "reasons": verdict.reasons, "temperature": c.temperature, "operator": body.get("operator"),
             "health_code": body.get("health_code"),
             "person_name": (c.resident or {}).get("name") or visitor.get("name") or (c.pass_ or {}).get("holder_name")
             or (c.vehicle or {}).get("plate") or (c.household or {}).get("label"),
             "person_id_number": visitor.get("id_number"), "person_phone": visitor.get("phone"),
             "reason": visitor.get("reason")}
    writes = [("gate_events", event_id, {k: v for k, v in event.items() if v is not None})]
    incident_id = None
    if verdict.fever:
        incident_id = new_id()
        writes.append(("incidents", incident_id, {
            "compound_id": compound_id, "kind": "fever", "status": "open", "gate_event_id": event_id,
            "title": f"发热 fever {c.temperature:.1f}°C at {place_name(rt.replica.id)}: {event['person_name'] or '?'}",
            "household_id": event["household_id"], "opened_at": at, "opened_by": body.get("operator")}))
    rt.replica.write(writes, create=True)
    return jsonify({"decision": event["decision"], "allowed": verdict.allowed, "reasons": verdict.reasons,
                    "event_id": event_id, "incident_id": incident_id, "purpose": verdict.purpose, "at": at,
                    "next_outing_at": verdict.next_outing_at, "rules": c.rules,
                    "person": {"name": event["person_name"],
                               "phone": mask_phone((c.resident or {}).get("phone") or visitor.get("phone")),
                               "room": (c.household or {}).get("label")}}), 201
