"""Duty rosters over HTTP: fill from a template, coverage, who is on duty, check-in/out, handovers, exports."""
import datetime as dt
import io
import re

from flask import Blueprint, current_app, render_template, request, send_file
from marshmallow import RAISE, Schema, fields, validate

from sync.ids import new_id
from sync.tables import DELETED

from menwei.web.errors import SANE_DATE, ApiError, int_arg
from menwei.times import iso, parse
from menwei.roster.coverage import coverage, fill, local_day_start, on_duty
from menwei.times import local_text
from menwei.runtime import runtime
from menwei.web.auth import allow
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
    where, params = f"{DELETED} = ?", [False]
    if post_id:
        where += " AND id = ?"
        params.append(post_id)
    rows = tx.rows(f"SELECT id, name, kind, node_id, compound_id FROM posts WHERE {where} ORDER BY name", params)
    if post_id and not rows:
        raise ApiError(404, f"no post {post_id}", fields={"post_id": "unknown post"})
    return [dict(zip(("id", "name", "kind", "node_id", "compound_id"), r)) for r in rows]


def _shifts(tx, post_id, start, end):
    rows = tx.rows(f"SELECT s.{', s.'.join(SHIFT_COLS)}, v.name FROM shifts s LEFT JOIN volunteers v "
                   f"ON v.id = s.volunteer_id WHERE s.post_id = ? AND s.{DELETED} = ? AND s.ends_at > ? "
                   "AND s.starts_at < ? ORDER BY s.starts_at", (post_id, False, start, end))
    return [dict(zip(SHIFT_COLS + ("volunteer",), r)) for r in rows]


def week(post_id, days):
    """Coverage of every post (or one) from the start of today, local time, for ``days`` days."""
    rt = runtime()
    start = local_day_start(iso(rt.wall()), _tz())
    end = iso(parse(start).timestamp() * 1000 + days * 86_400_000)
    out = []
    with rt.store.read() as tx:
        for post in _posts(tx, post_id):
            shifts = _shifts(tx, post["id"], start, end)
            gaps, overlaps = coverage(shifts, start, end)
            out.append({"post": post, "shifts": shifts, "gaps": gaps, "overlaps": overlaps})
    return start, end, out


@api.post("/fill")
@allow()
@accepts(FillIn)
def fill_week(body):
    """Fill a post's days with back-to-back shifts from a template (e.g. 4- or 5-hour shifts)."""
    rt = runtime()
    with rt.store.read() as tx:
        post = _posts(tx, body["post_id"])[0]
    shifts = fill(body["start_date"], body["days"], body["shift_hours"], body["first_hour"], _tz(),
                  body["volunteer_ids"])
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
        rows = tx.rows(f"SELECT {field}, {must_be_set or field} FROM shifts WHERE id = ? AND {DELETED} = ?",
                       (shift_id, False))
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
        rows = tx.rows(f"SELECT id, shift_id, note, written_at FROM handovers WHERE post_id = ? AND {DELETED} = ? "
                       "ORDER BY written_at DESC LIMIT 100", (post_id, False))
    return {"handovers": [dict(zip(("id", "shift_id", "note", "written_at"), r)) for r in rows]}


@pages.get("/roster")
@allow("operator", "volunteer", "viewer")
def roster_page():
    """The week's roster: a timeline per post with gaps in red, a template form, and shift removal."""
    days = 7
    start, end, posts = week(request.args.get("post_id"), days)
    tz = _tz()
    with runtime().store.read() as tx:
        vols = tx.rows(f"SELECT id, name FROM volunteers WHERE {DELETED} = ? ORDER BY name", (False,))
    span = parse(end).timestamp() - parse(start).timestamp()

    def pos(t):
        return max(0.0, min(100.0, (parse(t).timestamp() - parse(start).timestamp()) / span * 100))
    return render_template("roster.html", posts=posts, start=start, end=end, pos=pos, local=lambda t: local_text(t, tz),
                           volunteers=vols, today=local_text(start, tz, "%Y-%m-%d"), tz=tz,
                           day_marks=[(local_text(iso((parse(start).timestamp() + d * 86400) * 1000), tz, "%m-%d"),
                                       d / days * 100) for d in range(days)])


@pages.get("/roster/print")
@allow("operator", "volunteer", "viewer")
def roster_print():
    """A printable week for one post (or all), shifts listed by day in local time."""
    start, end, posts = week(request.args.get("post_id"), 7)
    return render_template("roster_print.html", posts=posts, local=lambda t: local_text(t, _tz()))


@pages.get("/roster/export.xlsx")
@allow("operator", "volunteer", "viewer")
def roster_xlsx():
    """The week's roster as a spreadsheet, one sheet per post."""
    from openpyxl import Workbook
    start, end, posts = week(request.args.get("post_id"), 7)
    tz = _tz()
    if request.args.get("post_id") and not posts:
        raise ApiError(404, "no such post", fields={"post_id": "unknown post"})
    wb = Workbook()
    if posts:
        wb.remove(wb.active)
    else:
        wb.active.append(["没有岗位 no posts yet"])
    for p in posts:  # Excel forbids []:*?/\ in sheet names, and two sheets of one name
        name = re.sub(r"[\[\]:*?/\\]", "_", p["post"]["name"])[:28] or "post"
        ws = wb.create_sheet(name if name not in wb.sheetnames else f"{name} {len(wb.sheetnames) + 1}")
        ws.append(["开始 start", "结束 end", "值班人员 volunteer", "签到 checked in", "签退 checked out"])
        for s in p["shifts"]:
            ws.append([local_text(s["starts_at"], tz, "%Y-%m-%d %H:%M"), local_text(s["ends_at"], tz, "%Y-%m-%d %H:%M"),
                       s["volunteer"] or "", local_text(s["checked_in_at"], tz), local_text(s["checked_out_at"], tz)])
        for g in p["gaps"]:
            ws.append([local_text(g["from"], tz, "%Y-%m-%d %H:%M"), local_text(g["to"], tz, "%Y-%m-%d %H:%M"),
                       "无人值守 GAP"])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    name = f"roster-{dt.date.fromisoformat(local_text(start, tz, '%Y-%m-%d'))}.xlsx"
    return send_file(buf, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

