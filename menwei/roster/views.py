"""Duty rosters over HTTP: fill from a template, coverage, who is on duty, check-in/out, handovers, exports."""
import datetime as dt
import io

from flask import Blueprint, current_app, render_template, request
from marshmallow import RAISE, Schema, fields, validate

from sync.ids import new_id
from sync.tables import DELETED

from menwei.gate.labels import room_order
from menwei.web.errors import SANE_DATE, ApiError, int_arg
from menwei.times import iso, parse
from menwei.roster.coverage import coverage, fill, local_day_start, on_duty
from menwei.times import local_text
from menwei.runtime import runtime
from menwei.store.queries import current_compound, live_rows, live_tuples
from menwei.store.spreadsheets import download, write_xlsx
from menwei.web.auth import allow, served_clause
from menwei.web.openapi import accepts

api = Blueprint("roster_api", __name__, url_prefix="/api/v1/roster")
pages = Blueprint("roster_pages", __name__, template_folder="templates")
SHIFT_COLS = ("id", "post_id", "volunteer_id", "starts_at", "ends_at", "checked_in_at", "checked_out_at", "notes")


class FillIn(Schema):
    """Body of POST /api/v1/roster/fill."""

    class Meta:
        unknown = RAISE

    post_id = fields.String(required=True, validate=validate.Length(1, 64))
    start_date = fields.Date(required=True, validate=SANE_DATE)
    days = fields.Integer(load_default=7, validate=validate.Range(1, 14))
    shift_hours = fields.Integer(required=True, validate=validate.Range(1, 12))
    first_hour = fields.Integer(load_default=8, validate=validate.Range(0, 23))
    volunteer_ids = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=list)


class PostIn(Schema):
    """Body of POST /api/v1/roster/posts: a place someone must be on duty."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(1, 50, error="1 to 50 characters"))
    kind = fields.String(load_default="gate", validate=validate.OneOf(("gate", "building_door", "other")))
    node_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    building_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class VolunteerIn(Schema):
    """Body of POST /api/v1/roster/volunteers: someone who takes shifts."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(1, 50, error="1 to 50 characters"))
    phone = fields.String(load_default=None, allow_none=True,
                          validate=validate.Regexp(r"^[0-9+\- ]{5,20}$", error="a phone number"))
    organisation = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class HandoverIn(Schema):
    """Body of POST /api/v1/roster/handovers."""

    class Meta:
        unknown = RAISE

    post_id = fields.String(required=True, validate=validate.Length(1, 64))
    shift_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    note = fields.String(required=True, validate=validate.Length(1, 5000))


def _tz():
    return current_app.config["TIMEZONE"]


def _posts(tx, post_id=None):
    served, served_params = served_clause("compound_id")  # at the hub: the compounds the caller serves
    where, params = f"{DELETED} = ?" + served, [False, *served_params]
    if post_id:
        where += " AND id = ?"
        params.append(post_id)
    cols = ("id", "name", "kind", "node_id", "compound_id", "building_id")
    rows = tx.rows(f"SELECT {', '.join(cols)} FROM posts WHERE {where} ORDER BY name", params)
    if post_id and not rows:
        raise ApiError(404, f"no post {post_id}", fields={"post_id": "unknown post"})
    return [dict(zip(cols, r)) for r in rows]


def _shifts(tx, post_id, start, end):
    rows = tx.rows(f"SELECT s.{', s.'.join(SHIFT_COLS)}, v.name FROM shifts s LEFT JOIN volunteers v "
                   f"ON v.id = s.volunteer_id WHERE s.post_id = ? AND s.{DELETED} = ? AND s.ends_at > ? "
                   "AND s.starts_at < ? ORDER BY s.starts_at", (post_id, False, start, end))
    return [dict(zip(SHIFT_COLS + ("volunteer",), r)) for r in rows]


def week(post_id, days):
    """Shifts of every post (or one) from the start of today, local time, for ``days`` days, with the gaps
    and overlaps from now on: what is already over is history, not a gap to fill."""
    rt = runtime()
    now = iso(rt.wall())
    start = local_day_start(now, _tz())
    end = iso(parse(start).timestamp() * 1000 + days * 86_400_000)
    out = []
    with rt.store.read() as tx:
        for post in _posts(tx, post_id):
            shifts = _shifts(tx, post["id"], start, end)
            gaps, overlaps = coverage(shifts, now, end)
            out.append({"post": post, "shifts": shifts, "gaps": gaps, "overlaps": overlaps})
    return start, end, out


@api.post("/posts")
@allow()
@accepts(PostIn)
def add_post(body):
    """Create a post (a gate or a building door) that shifts can be planned for."""
    rt = runtime()
    with rt.store.read() as tx:
        data = {"compound_id": current_compound(tx), "name": body["name"].strip(), "kind": body["kind"]}
        if body["building_id"]:  # the building whose door this is: of this compound
            if not tx.rows(f"SELECT 1 FROM buildings WHERE id = ? AND compound_id = ? AND {DELETED} = ?",
                           (body["building_id"], data["compound_id"], False)):
                raise ApiError(400, "没有这栋楼 no such building", fields={"building_id": "unknown building"})
            data["building_id"] = body["building_id"]
    if body["node_id"]:
        data["node_id"] = body["node_id"]
    post_id = new_id()
    rt.replica.write([("posts", post_id, data)], create=True)
    return {"id": post_id, **data}, 201


@api.post("/volunteers")
@allow()
@accepts(VolunteerIn)
def add_volunteer(body):
    """Add a volunteer who can be given shifts."""
    rt = runtime()
    with rt.store.read() as tx:
        data = {"compound_id": current_compound(tx), "name": body["name"].strip()}
    for k in ("phone", "organisation"):
        if body[k]:
            data[k] = body[k].strip()
    vid = new_id()
    rt.replica.write([("volunteers", vid, data)], create=True)
    return {"id": vid, "name": data["name"]}, 201


@api.post("/fill")
@allow()
@accepts(FillIn)
def fill_week(body):
    """Fill a post's days with back-to-back shifts from a template (e.g. 4- or 5-hour shifts)."""
    rt = runtime()
    with rt.store.read() as tx:
        post = _posts(tx, body["post_id"])[0]
    shifts = fill(body["start_date"], body["days"], body["shift_hours"], body["first_hour"], _tz(),
                  body["volunteer_ids"], not_before=iso(rt.wall()))
    writes = [("shifts", new_id(), {"compound_id": post["compound_id"], "post_id": post["id"], **s})
              for s in shifts]
    rt.replica.write(writes, create=True)
    return {"created": len(writes), "ids": [w[1] for w in writes]}, 201


@api.get("/coverage")
@allow("operator", "volunteer", "viewer")
@accepts(query={"days": {"type": "integer", "minimum": 1, "maximum": 31}, "post_id": {"type": "string"}})
def coverage_view():
    """Gaps and overlaps in coverage for the next days (default 7), per post."""
    days = int_arg("days", 7, 1, 31)
    start, end, posts = week(request.args.get("post_id"), days)
    return {"from": start, "to": end, "timezone": _tz(), "posts": posts}


@api.get("/on-duty")
@allow("operator", "volunteer", "viewer")
def on_duty_view():
    """Who is on duty now at each post, and whether they have checked in."""
    rt = runtime()
    wall = rt.wall()
    now, just_after = iso(wall), iso(wall + 1)
    with rt.store.read() as tx:
        return {"at": now, "posts": [{"post": p, "on_duty": on_duty(_shifts(tx, p["id"], now, just_after), now)}
                                     for p in _posts(tx)]}


def _stamp(shift_id, field, must_be_empty, must_be_set=None):
    rt = runtime()
    with rt.store.read() as tx:
        rows = live_tuples(tx, "shifts", (field, must_be_set or field), "id = ?", (shift_id,))
    if not rows:
        raise ApiError(404, f"no shift {shift_id}")
    if must_be_empty and rows[0][0]:
        raise ApiError(409, f"already {field.replace('_at', '').replace('_', ' ')} at {rows[0][0]}")
    if must_be_set and not rows[0][1]:
        raise ApiError(409, "check in before checking out")
    at = iso(rt.wall())
    rt.replica.update("shifts", shift_id, {field: at})
    return {"id": shift_id, field: at}


@api.post("/shifts/<shift_id>/check-in")
@allow("operator", "volunteer")
def check_in(shift_id):
    """The volunteer starts the shift at the desk; gate events record them as the operator."""
    return _stamp(shift_id, "checked_in_at", True)


@api.post("/shifts/<shift_id>/check-out")
@allow("operator", "volunteer")
def check_out(shift_id):
    """The volunteer ends the shift."""
    return _stamp(shift_id, "checked_out_at", True, "checked_in_at")


@api.post("/handovers")
@allow("operator", "volunteer")
@accepts(HandoverIn)
def add_handover(body):
    """Leave a note for the next shift at this post."""
    rt = runtime()
    with rt.store.read() as tx:
        post = _posts(tx, body["post_id"])[0]
    hid = new_id()
    data = {"compound_id": post["compound_id"], "post_id": post["id"], "note": body["note"],
            "written_at": iso(rt.wall())}
    if body["shift_id"]:
        data["shift_id"] = body["shift_id"]
    rt.replica.write([("handovers", hid, data)], create=True)
    return {"id": hid, **data}, 201


@api.get("/handovers")
@allow("operator", "volunteer", "viewer")
@accepts(query={"post_id": {"type": "string", "required": True}})
def list_handovers():
    """Handover notes at a post, newest first."""
    post_id = request.args.get("post_id")
    if not post_id:
        raise ApiError(400, "post_id is required", fields={"post_id": "missing"})
    with runtime().store.read() as tx:
        rows = live_rows(tx, "handovers", ("id", "shift_id", "note", "written_at"), "post_id = ?", (post_id,),
                         order="written_at DESC", limit=100)
    return {"handovers": rows}


WEEKDAYS = ("周一 Mon", "周二 Tue", "周三 Wed", "周四 Thu", "周五 Fri", "周六 Sat", "周日 Sun")
KINDS = {"gate": "门岗 gate", "building_door": "楼栋门 building door", "other": "其他 other"}


def _day_rows(p, start, days, now, tz):
    """One row per local day for a post's timeline: the shifts, gaps, overlaps and the past in it, each
    placed as a percentage of the day, so that a 4-hour shift is a sixth of the page's width."""
    rows = []
    now_ms = parse(now).timestamp() * 1000
    for d in range(days):
        lo = parse(start).timestamp() * 1000 + d * 86_400_000
        hi = lo + 86_400_000

        def part(a, b, kind, text="", title="", shift_id=None):
            a_ms, b_ms = max(parse(a).timestamp() * 1000, lo), min(parse(b).timestamp() * 1000, hi)
            if a_ms >= b_ms:
                return None
            return {"kind": kind, "left": round((a_ms - lo) / 864_000, 3), "width": round((b_ms - a_ms) / 864_000, 3),
                    "text": text, "title": title, "shift": shift_id}
        parts = [part(iso(lo), now, "past", "", "已过去 past")] if now_ms > lo else []
        parts += [part(sh["starts_at"], sh["ends_at"], "shift", sh["volunteer"] or "?",
                       f"{local_text(sh['starts_at'], tz, '%H:%M')}–{local_text(sh['ends_at'], tz, '%H:%M')} "
                       f"{sh['volunteer'] or ''}", sh["id"]) for sh in p["shifts"]]
        parts += [part(g["from"], g["to"], "gap", "无人 gap") for g in p["gaps"]]
        parts += [part(o["from"], o["to"], "overlap", "") for o in p["overlaps"]]
        label = local_text(iso(lo), tz, "%m-%d")
        weekday = WEEKDAYS[dt.datetime.fromisoformat(local_text(iso(lo), tz, "%Y-%m-%d")).weekday()]
        rows.append({"label": f"{label} {weekday}", "parts": [x for x in parts if x]})
    return rows


@pages.get("/roster")
@allow("operator", "volunteer", "viewer")
def roster_page():
    """The week's roster: per post, one timeline row per day with gaps in red, a template form, shift removal;
    and forms to add posts and volunteers."""
    days = 7
    start, end, posts = week(request.args.get("post_id"), days)
    tz = _tz()
    rt = runtime()
    now = iso(rt.wall())
    with rt.store.read() as tx:
        vols = [tuple(v.values()) for v in live_rows(tx, "volunteers", ("id", "name", "organisation"), order="name")]
        buildings = sorted(((v["id"], v["number"]) for v in live_rows(tx, "buildings", ("id", "number"))),
                           key=lambda b: room_order(b[1]))
    nodes = [(n["id"], n.get("label") or "") for n in rt.registry.all() if not n.get("revoked")] if rt.registry \
        else ([(rt.replica.id, "")] if rt.enrolled else [])
    for p in posts:
        p["days"] = _day_rows(p, start, days, now, tz)
        p["kind_words"] = KINDS.get(p["post"]["kind"], p["post"]["kind"])
    return render_template("roster.html", posts=posts, local=lambda t: local_text(t, tz), volunteers=vols,
                           today=local_text(now, tz, "%Y-%m-%d"), now=local_text(now, tz, "%m-%d %H:%M"), tz=tz,
                           nodes=nodes, kinds=KINDS, hours=range(0, 25, 3), buildings=buildings)


@pages.get("/roster/print")
@allow("operator", "volunteer", "viewer")
def roster_print():
    """A printable week for one post (or all), shifts listed by day in local time."""
    start, end, posts = week(request.args.get("post_id"), 7)
    return render_template("roster_print.html", posts=posts, local=lambda t: local_text(t, _tz()))


@pages.get("/roster/export.xlsx")
@allow("operator", "volunteer", "viewer")
def roster_xlsx():
    """The week's roster as a spreadsheet, one sheet per post (a name typed as =… stays text)."""
    start, end, posts = week(request.args.get("post_id"), 7)
    tz = _tz()
    if request.args.get("post_id") and not posts:
        raise ApiError(404, "no such post", fields={"post_id": "unknown post"})

    def rows(p):
        for s in p["shifts"]:
            yield [local_text(s["starts_at"], tz, "%Y-%m-%d %H:%M"), local_text(s["ends_at"], tz, "%Y-%m-%d %H:%M"),
                   s["volunteer"] or "", local_text(s["checked_in_at"], tz), local_text(s["checked_out_at"], tz)]
        for g in p["gaps"]:
            yield [local_text(g["from"], tz, "%Y-%m-%d %H:%M"), local_text(g["to"], tz, "%Y-%m-%d %H:%M"), "无人值守 GAP"]
    header = ["开始 start", "结束 end", "值班人员 volunteer", "签到 checked in", "签退 checked out"]
    sheets = [(p["post"]["name"] or "post", header, rows(p)) for p in posts] or \
        [("roster", None, [["没有岗位 no posts yet"]])]
    buf = io.BytesIO()
    write_xlsx(sheets, buf)
    buf.seek(0)
    return download(buf, f"roster-{dt.date.fromisoformat(local_text(start, tz, '%Y-%m-%d'))}.xlsx")

