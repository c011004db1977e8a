"""Reports: the daily report per compound (printable page and .xlsx) and the audit trail (page and API)."""
import datetime as dt
import io
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, render_template, request

from menwei.gate.queries import place_name
from menwei.reports.audit import entries
from menwei.web.auth import allow, served_compounds
from menwei.reports.dashboard import COUNTERS, Scope
from menwei.reports.dashboard_views import REASONS, STATUSES, chart_set, dashboard_data
from menwei.web.errors import ApiError
from menwei.web.periods import bounds
from menwei.runtime import runtime
from menwei.store.queries import current_compound, live_tuples
from menwei.store.spreadsheets import download, write_xlsx

pages = Blueprint("reports", __name__, template_folder="templates")
api = Blueprint("reports_api", __name__, url_prefix="/api/v1")
READERS = ("viewer",)
LABELS = {"out": "出门 People out", "in": "进门 People in", "currently_out": "尚未返回 Out at day's end",
          "denied": "拒绝 Denied", "fevers": "发热 Fevers", "visitors": "外来人员 Non-residents",
          "open_incidents": "未结事件 Open incidents"}


def _daily_scope():
    """The compound and local day the request names (today and the only compound by default)."""
    unknown = sorted(set(request.args) - {"date", "compound_id"})
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}", fields={unknown[0]: "unknown parameter"})
    rt = runtime()
    tz_name = current_app.config["TIMEZONE"]
    tz = ZoneInfo(tz_name)
    text = request.args.get("date")
    try:
        day = dt.date.fromisoformat(text) if text else dt.datetime.fromtimestamp(rt.wall() / 1000, tz).date()
    except ValueError:
        raise ApiError(400, "date must be a day like 2020-02-14", fields={"date": "not a date"}) from None
    with rt.store.read() as tx:
        cid = request.args.get("compound_id") or rt.compound_id or \
            current_compound(tx, field="compound_id")
        row = live_tuples(tx, "compounds", ("name",), "id = ?", (cid,))
    if not row or (rt.role == "node" and cid != rt.compound_id):
        raise ApiError(400, f"no compound {cid} here", fields={"compound_id": "unknown compound"})
    start = int(dt.datetime.combine(day, dt.time(), tz).timestamp() * 1000)
    end = int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz).timestamp() * 1000) - 1
    return Scope((cid,), None, None, start, end, tz_name), day, row[0][0]


@pages.get("/reports/daily")
@allow(*READERS)
def daily_page():
    """The daily report of one compound, ready to print: figures per gate and building, charts, sync health."""
    scope, day, name = _daily_scope()
    data = dashboard_data(scope)
    return render_template("daily_report.html", d=data, day=day.isoformat(), compound=name, charts=chart_set(data),
                           reasons=REASONS, statuses=STATUSES, labels=LABELS, compound_id=scope.compound_ids[0])


def daily_workbook(data, day, compound):
    """The daily report as .xlsx sheets: summary, gates, buildings, temperatures, sync."""
    cols = list(COUNTERS)
    heads = [LABELS[c] for c in cols]
    codes = list(data["denials_by_reason"])
    summary = [["小区 Compound", compound], ["日期 Date", day], ["时区 Time zone", data["period"]["timezone"]], []]
    summary += [[LABELS[c], data["totals"][c]] for c in cols]
    summary += [[], ["拒绝原因 Denials by reason", None]] + [[REASONS.get(c, c), n] for c, n in
                                                          data["denials_by_reason"].items()]
    summary += [[], ["菜篮子配送 Deliveries", None]] + [[STATUSES[s], n] for s, n in data["deliveries"].items()]
    gates = [[place_name(g["gate"]) or "—", *(g[c] for c in cols), *(g["denials"].get(code, 0) for code in codes)]
             for g in data["gates"]]
    gates.append(["合计 Total", *(data["totals"][c] for c in cols), *(data["denials_by_reason"][c] for c in codes)])
    buildings = [[b["building"] or "— 外来 no building", *(b[c] for c in cols), *(b["deliveries"][s] for s in STATUSES)]
                 for b in data["buildings"]]
    buildings.append(["合计 Total", *(data["totals"][c] for c in cols), *(data["deliveries"][s] for s in STATUSES)])
    nodes = [[n["id"], place_name(n["id"]), n["last_sync"], n["pending"], n["skew_ms"], n["schema_version"],
              ", ".join(n["why"]) or "OK"] for n in data["nodes"]]
    return [("概况 Summary", ["日报 Daily report", None], summary),
            ("门岗 Gates", ["门岗 Gate", *heads, *(REASONS.get(c, c) for c in codes)], gates),
            ("楼栋 Buildings", ["楼栋 Building", *heads, *STATUSES.values()], buildings),
            ("体温 Temperatures", ["体温 °C", "人次 Crossings"], [[t["celsius"], t["count"]] for t in data["temperatures"]]),
            ("同步 Sync", ["门岗 Node", "位置 Where", "最后同步 Last sync (UTC)", "待传 Pending", "时钟偏差 Skew ms",
                          "版本 Schema", "状态 Status"], nodes)]


@pages.get("/reports/daily.xlsx")
@allow(*READERS)
def daily_xlsx():
    """The daily report of one compound as an .xlsx workbook."""
    scope, day, name = _daily_scope()
    buf = io.BytesIO()
    write_xlsx(daily_workbook(dashboard_data(scope), day.isoformat(), name), buf)
    buf.seek(0)
    return download(buf, f"menwei-daily-{day.isoformat()}.xlsx")


def _audit_query():
    """The audit filters of the request: table, row_id, origin, from, to, before or after (cursors) and limit."""
    unknown = sorted(set(request.args) - {"table", "row_id", "origin", "from", "to", "before", "after", "limit"})
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}", fields={unknown[0]: "unknown parameter"})
    catalog = runtime().catalog
    table = request.args.get("table") or None
    if table is not None and table not in catalog:
        raise ApiError(400, f"no table {table!r}", fields={"table": "unknown table"})
    out = {"table": table, "row_id": request.args.get("row_id") or None, "origin": request.args.get("origin") or None}
    for key in ("row_id", "origin"):
        if out[key] is not None and len(out[key]) > 64:
            raise ApiError(400, f"{key} is too long", fields={key: "at most 64 characters"})
    out["since_ms"], out["until_ms"] = bounds()
    for key, default, top in (("before", None, None), ("after", None, None), ("limit", 50, 500)):
        text = request.args.get(key)
        try:
            value = default if text in (None, "") else int(text)
        except ValueError:
            raise ApiError(400, f"{key} must be a whole number", fields={key: "not a whole number"}) from None
        low = 0 if key == "after" else 1
        if value is not None and (value < low or (top and value > top)):
            raise ApiError(400, f"{key} out of range", fields={key: f"{low} to {top or 'any'}"})
        out[key] = value
    if out["before"] is not None and out["after"] is not None:
        raise ApiError(400, "page with before or after, not both", fields={"after": "given with before"})
    return out


def audit_page_data():
    """One page of the audit trail for the request's filters, with the cursor of the next."""
    q = _audit_query()
    rt = runtime()
    # One snapshot for the log and every append-only table (PostgreSQL's default gives each query its
    # own): else a change committed between two of them is missing from the page and behind its cursor.
    with rt.store.read(snapshot=True) as tx:
        found, cursor = entries(tx, rt.catalog, **q, scopes=served_compounds())
    key = "next_after" if q["after"] is not None else "next_before"
    return {"entries": found, "count": len(found), key: cursor, "replica_id": rt.replica.id}


@api.get("/audit")
@allow(*READERS)
def audit_api():
    """Who changed what and where: ?table=&row_id=&origin=&from=&to=; newest first paged with ?before=, or
    oldest first from ?after= (a log position; 0 for the start)."""
    return jsonify(audit_page_data())


@pages.get("/audit")
@allow(*READERS)
def audit_page():
    """The audit trail as a page, with the same filters and paging as the API."""
    data = audit_page_data()
    if data.get("next_after"):
        nxt = dict(request.args, after=data["next_after"])
    else:
        nxt = dict(request.args, before=data["next_before"]) if data.get("next_before") else None
    return render_template("audit.html", a=data, args=request.args, next_args=nxt,
                           tables=[t.name for t in runtime().catalog])
