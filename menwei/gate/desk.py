"""The gate desk: the page a volunteer works at, and the small JSON views it calls."""
import orjson
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from sync.ids import new_id
from sync.tables import DELETED

from menwei.gate.labels import ROOM, fold
from menwei.gate.search import LIKE, like_pattern, search
from menwei.web.errors import ApiError, int_arg
from menwei.gate.queries import door_building, household_outings, load_rules, place_name
from menwei.gate.rules import outing_quota
from menwei.times import iso
from menwei.privacy import mask_row
from menwei.runtime import runtime
from menwei.store.queries import current_compound, live_rows, one_row
from menwei.web.auth import allow, current_principal, served_clause, served_compounds, signed_in_name
from menwei.web.openapi import accepts

bp = Blueprint("desk", __name__, template_folder="templates")
api = Blueprint("desk_api", __name__, url_prefix="/api/v1/gate")


class SearchIn(Schema):
    """Body of POST /api/v1/gate/search."""

    class Meta:
        unknown = RAISE

    q = fields.String(load_default="", validate=validate.Length(max=100, error="at most 100 characters"))


EVENT_COLS = ("id", "at", "direction", "decision", "purpose", "person_name", "temperature", "reasons", "operator")


@bp.get("/")
@allow("operator", "volunteer", "viewer")
def desk_page():
    """The gate desk (Chinese by default, English switchable); a volunteer or viewer signing in here lands on
    their own page (the basket, the dashboard) rather than a refusal."""
    who = current_principal()
    if who.role == "volunteer":
        return redirect(url_for("basket_pages.basket_page"))
    if who.role == "viewer":
        return redirect(url_for("dashboard.dashboard_page"))
    rt = runtime()
    return render_template("desk.html", node_id=rt.replica.id if rt.enrolled else None, role=rt.role,
                           tz=current_app.config["TIMEZONE"])


@api.route("/search", methods=["GET", "POST"])
@allow("operator", "viewer")
@accepts(SearchIn, query={"q": {"type": "string", "maxLength": 100}})
def desk_search(body=None):
    """Search rooms, names (hanzi, pinyin, initials), plates, pass codes and ID numbers.

    The desk POSTs its query so that an ID number typed into it never lands in an access log.
    """
    q = body["q"] if body is not None else request.args.get("q", "")
    if len(q) > 100:
        raise ApiError(400, "search text too long", fields={"q": "at most 100 characters"})
    rt = runtime()
    with rt.store.read() as tx:
        # at a building's door a room number alone is that building's room (the hub serves no door)
        results = search(tx, q, door_building(tx, rt.replica.id) if rt.role == "node" and rt.enrolled else None)
        served = served_compounds()
        if served is not None:  # an account at the hub finds the households of the compounds it serves
            compound_of = tx.scopes_of("households", {r["household_id"] for r in results if r.get("household_id")})
            results = [r for r in results if compound_of.get(r.get("household_id")) in served]
        return {"results": results}


def _rows(tx, table, where, params, cols=None):
    t = runtime().catalog[table]
    return [mask_row(t, r) for r in live_rows(tx, table, cols or ["id", *t.field_names], where, params)]


@api.get("/households/<household_id>")
@allow("operator", "viewer")
def household_card(household_id):
    """A household's card: who lives there, the rules in force, and whether it may go out now and why not."""
    rt = runtime()
    at = iso(rt.wall())
    with rt.store.read() as tx:
        served, served_params = served_clause("compound_id")
        found = _rows(tx, "households", "id = ?" + served, [household_id, *served_params])
        if not found:
            raise ApiError(404, f"no household {household_id}")
        hh = found[0]
        residents = _rows(tx, "residents", "household_id = ?", [household_id],
                          ["id", "name", "gender", "phone", "party_member", "notes"])
        rules = load_rules(tx, hh["compound_id"], hh["building_id"], at)
        outings = household_outings(tx, household_id, at, rules["outing_days"])
        passes = _rows(tx, "passes", "household_id = ?", [household_id],
                       ["id", "code", "kind", "holder_name", "valid_until", "revoked"])
        vehicles = _rows(tx, "vehicles", "household_id = ?", [household_id], ["id", "plate", "notes"])
        fevers = _rows(tx, "incidents", "household_id = ? AND kind = 'fever' AND status <> 'closed'", [household_id],
                       ["id", "title", "opened_at", "status"])
    _counted, left, next_at, _recent = outing_quota(rules, outings, at)
    # A household with an unresolved fever at the gate is not told it may go out: the coordinator decides.
    blocked = rules["level"] == "quarantine" or bool(fevers)
    for p in passes:
        p["revoked"] = bool(p["revoked"])
    for r in residents:
        r["party_member"] = bool(r["party_member"]) if r["party_member"] is not None else None
    return {"household": hh, "residents": residents, "rules": rules, "outings": outings,
            "outings_left": left, "next_outing_at": next_at, "may_go_out": not blocked and left != 0,
            "passes": passes, "vehicles": vehicles, "fevers": fevers}


#: What the desk writes into a row it registered, so that a coordinator finds it to review at the hub.
REGISTERED_AT_GATE = "门岗登记，待协调员核对 · registered at the gate, to be reviewed"


class RegisterIn(Schema):
    """Body of POST /api/v1/gate/register: a person the register lacks, and their room."""

    class Meta:
        unknown = RAISE

    room = fields.String(required=True, validate=validate.Length(1, 40))
    name = fields.String(required=True, validate=validate.Length(1, 50, error="1 to 50 characters"))
    phone = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9+\- ]{5,20}$", error="a phone number"))

    @validates("room")
    def a_room(self, value, **_kw):
        """Building, then room, as the desk's search reads them (full-width digits too)."""
        if not ROOM.match(fold(value)):
            raise ValidationError("a room such as 20-1702 (building, then room)")


@api.post("/register")
@allow("operator")
@accepts(RegisterIn)
def register_person(body):
    """Register at the gate a resident (and, if need be, the household) missing from the register, flagged for review.

    The room's building must already exist: a gate adds people and rooms, never buildings.
    """
    m = ROOM.match(fold(body["room"]))
    number, room = m.group(1).upper(), m.group(2)
    label = f"{number}-{room}"
    rt = runtime()
    who = signed_in_name() or "?"
    note = f"{REGISTERED_AT_GATE} ({who}, {rt.replica.id})"
    with rt.store.read() as tx:
        compound_id = current_compound(tx, field="room")
        building = one_row(tx, "buildings", "compound_id = ? AND number = ?", [compound_id, number])
        if building is None:
            raise ApiError(404, f"no building {number}", fields={"room": f"no building {number} in this compound"})
        household = one_row(tx, "households", "compound_id = ? AND label = ? AND merged_into IS NULL",
                            [compound_id, label])
    writes = []
    if household is None:
        household = {"id": new_id()}
        writes.append(("households", household["id"], {"compound_id": compound_id, "building_id": building["id"],
                                                       "room": room, "label": label, "notes": note}))
    resident_id = new_id()
    resident = {"compound_id": compound_id, "household_id": household["id"], "name": body["name"].strip(),
                "notes": note}
    if body["phone"]:
        resident["phone"] = body["phone"].strip()
    writes.append(("residents", resident_id, resident))
    rt.replica.write(writes, create=True)  # household and resident in one transaction: never half-written
    return {"resident_id": resident_id, "household_id": household["id"], "label": label, "name": resident["name"],
            "new_household": len(writes) == 2}, 201


@api.get("/events")
@allow("operator", "viewer")
@accepts(query={"limit": {"type": "integer", "minimum": 1, "maximum": 200}})
def recent_events():
    """The last gate events at this gate (personal data masked)."""
    rt = runtime()
    limit = int_arg("limit", 20, 1, 200)
    t = rt.catalog["gate_events"]
    with rt.store.read() as tx:
        rows = tx.rows(f"SELECT {', '.join(EVENT_COLS)} FROM gate_events WHERE gate = ? ORDER BY _seq DESC LIMIT ?",
                       (rt.replica.id, limit))
    events = []
    for r in rows:
        e = dict(zip(EVENT_COLS, r))
        if e["reasons"]:
            e["reasons"] = orjson.loads(e["reasons"])
        events.append(mask_row(t, e))
    return {"events": events}


@api.get("/alerts")
@allow("operator", "viewer")
def alerts():
    """Open fever incidents: the desk keeps them on screen until someone handles them."""
    with runtime().store.read() as tx:
        served, served_params = served_clause("compound_id")
        rows = _rows(tx, "incidents", "kind = 'fever' AND status = 'open'" + served, served_params,
                     ["id", "title", "opened_at", "household_id", "gate_event_id"])
        for r in rows:  # who, how hot, where: so the desk can say it in its own language
            found = tx.rows("SELECT person_name, temperature, gate FROM gate_events WHERE id = ?", (r["gate_event_id"],))
            event = dict(zip(("person_name", "temperature", "gate"), found[0])) if found else None
            household = one_row(tx, "households", "id = ?", [r["household_id"]]) if r["household_id"] else None
            r.update(person_name=(event or {}).get("person_name"), temperature=(event or {}).get("temperature"),
                     gate=place_name((event or {}).get("gate")), room=(household or {}).get("label"))
    return {"alerts": sorted(rows, key=lambda r: r["opened_at"] or "", reverse=True)}


@api.get("/incidents")
@allow("operator", "viewer")
@accepts(query={"q": {"type": "string"}, "status": {"type": "string", "enum": ["open", "investigating", "closed"]}, "kind": {"type": "string", "enum": ["fever", "dispute", "forced_entry", "tip", "other"]}})
def incidents():
    """Search incidents by text (title, notes, room, plate), status and kind, newest first."""
    q, status, kind = request.args.get("q", "").strip(), request.args.get("status"), request.args.get("kind")
    t = runtime().catalog["incidents"]
    for name, value in (("status", status), ("kind", kind)):
        if value is not None and value not in t.by_name[name].choices:
            raise ApiError(400, f"{name} must be one of {', '.join(t.by_name[name].choices)}", fields={name: "unknown"})
    served, served_params = served_clause("i.compound_id")
    where, params = [f"i.{DELETED} = ?" + served], [False, *served_params]
    if status:
        where.append("i.status = ?")
        params.append(status)
    if kind:
        where.append("i.kind = ?")
        params.append(kind)
    if q:
        like = like_pattern(q)
        where.append(f"(i.title {LIKE} OR i.notes {LIKE} OR h.label {LIKE} OR v.plate {LIKE})")
        params += [like, like, like, like]
    cols = ("id", "kind", "status", "title", "notes", "opened_at", "household_id", "vehicle_id", "gate_event_id")
    with runtime().store.read() as tx:
        rows = tx.rows(f"SELECT {', '.join('i.' + c for c in cols)}, h.label, v.plate FROM incidents i "
                       "LEFT JOIN households h ON h.id = i.household_id LEFT JOIN vehicles v ON v.id = i.vehicle_id "
                       f"WHERE {' AND '.join(where)} ORDER BY i.opened_at DESC LIMIT 200", params)
    return {"incidents": [dict(zip(cols + ("room", "plate"), r)) for r in rows]}
