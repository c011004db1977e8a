"""The dashboard over HTTP: the page (the hub's home, a node's /dashboard) and GET /api/v1/dashboard."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from menwei.reports import charts
from menwei.web.auth import ROLES, allow, current_principal, served_compounds
from menwei.reports.dashboard import MAX_DAYS, Scope, figures, node_health
from menwei.web.errors import ApiError
from menwei.gate.queries import load_rules, place_name
from menwei.gate.rules import REASONS as RULE_REASONS, reason_label
from menwei.gate.rules import DEFAULTS
from menwei.times import iso
from menwei.web.periods import bounds
from menwei.runtime import runtime
from menwei.store.queries import exists, live_ids, live_tuples, pending_changes

api = Blueprint("dashboard_api", __name__, url_prefix="/api/v1")
pages = Blueprint("dashboard", __name__, template_folder="templates")
home = Blueprint("dashboard_home", __name__)  # the hub's "/" (a node's "/" is its gate desk)
VIEWERS = ("operator", "viewer")
PARAMS = ("from", "to", "compound_id", "gate", "origin", "building_id")  # origin: another name for gate
ORIGIN = re.compile(r"^[\w.-]{1,64}$")
REASONS = {code: reason_label(code) for code in RULE_REASONS}  # one table of reasons: gate.rules.REASONS
STATUSES = {"requested": "已登记 requested", "bought": "已买 bought", "partly_bought": "部分买到 partly bought",
            "packed": "已打包 packed", "at_building": "已到楼下 at building", "delivered": "已送达 delivered",
            "refused": "拒收 refused"}


def _local_day_start(ms, tz):
    day = dt.datetime.fromtimestamp(ms / 1000, tz).date()
    return int(dt.datetime.combine(day, dt.time(), tz).timestamp() * 1000)


def compounds_of(tx, given):
    """The compounds asked for: the one named (it must exist here), a node's own, or every one at the hub."""
    rt = runtime()
    ids = live_ids(tx, "compounds", order="name")
    served = served_compounds()
    if served is not None:  # an account at the hub sees the compounds it serves
        ids = [i for i in ids if i in served]
    if given:
        if given not in ids or (rt.role == "node" and given != rt.compound_id):
            raise ApiError(400, f"no compound {given} here", fields={"compound_id": "unknown compound"})
        return (given,)
    if rt.role == "node" and rt.compound_id:
        return (rt.compound_id,)
    return tuple(ids) or ("",)  # no compound yet: an id no row has, so every figure is zero


def scope_from_request(extra=()):
    """The Scope the request's parameters ask for; a bad parameter is a 400 naming it."""
    unknown = sorted(set(request.args) - set(PARAMS) - set(extra))
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}", fields={unknown[0]: "unknown parameter"})
    rt = runtime()
    tz_name = current_app.config["TIMEZONE"]
    tz = ZoneInfo(tz_name)
    now = rt.wall()
    since, until = bounds()
    if since is None:  # by default today, or the day ``to`` names
        since = _local_day_start(now if until is None else until, tz)
    if until is None:
        until = max(now, since)
    if since > until:
        raise ApiError(400, "from must not be after to", fields={"from": "after to"})
    if until - since > MAX_DAYS * 86_400_000:
        raise ApiError(400, f"a period of at most {MAX_DAYS} days", fields={"from": f"more than {MAX_DAYS} days before to"})
    name = "gate" if request.args.get("gate") else "origin"  # a gate is the node that recorded the crossing
    origin = request.args.get(name) or None
    if origin is not None and not ORIGIN.match(origin):
        raise ApiError(400, f"{name} must be a gate's node id", fields={name: "not a node id"})
    building_id = request.args.get("building_id") or None
    with rt.store.read() as tx:
        compound_ids = compounds_of(tx, request.args.get("compound_id"))
        if building_id is not None:
            marks = ", ".join("?" * len(compound_ids))
            if not exists(tx, "buildings", f"id = ? AND compound_id IN ({marks})", (building_id, *compound_ids)):
                raise ApiError(400, f"no building {building_id} in this compound", fields={"building_id": "unknown"})
    return Scope(compound_ids, origin, building_id, since, until, tz_name)


def sync_health(scope):
    """Every node's sync health at the hub (stale ones marked); a node's own at a node."""
    rt = runtime()
    now = rt.wall()
    stale_ms = current_app.config["OUTAGE_GAP_S"] * 1000
    version = rt.catalog.schema_version
    if rt.role == "hub":
        nodes = [n for n in rt.registry.all() if n["compound_id"] in scope.compound_ids]
        return node_health(nodes, now, version, stale_ms)
    if not rt.enrolled:
        return []
    st = rt.state("sync_status", {})
    me = {"id": rt.replica.id, "label": "本机 this node", "compound_id": rt.compound_id, "revoked": False,
          "last_seen_ms": st.get("last_success_ms"), "skew_ms": st.get("skew_ms"), "schema_version": version,
          "pending": pending_changes(rt), "last_error": st.get("last_error")}
    return node_health([me], now, version, stale_ms)


def dashboard_data(scope):
    """The figures of ``scope`` with the nodes' sync health and the filters applied, as the API answers."""
    rt = runtime()
    with rt.store.read(snapshot=True) as tx:  # figures from one snapshot add up (totals, daily bars, who is out)
        out = figures(tx, scope, rt.wall(), rt.store.pg)
        out["fever_threshold"] = DEFAULTS["fever_threshold"] if len(scope.compound_ids) != 1 else \
            load_rules(tx, scope.compound_ids[0], scope.building_id, iso(scope.until_ms))["fever_threshold"]
    out["nodes"] = sync_health(scope)
    out["filters"] = {"compound_id": scope.compound_ids[0] if len(scope.compound_ids) == 1 else None,
                      "compound_ids": [c for c in scope.compound_ids if c], "gate": scope.origin,
                      "building_id": scope.building_id}
    return out


@api.get("/dashboard")
@allow(*VIEWERS)
def dashboard_api():
    """Figures per compound, gate and building for a period (default today): ?from=&to=&compound_id=&gate=&building_id=."""
    return jsonify(dashboard_data(scope_from_request()))


def chart_set(data):
    """The three charts of the dashboard and daily report, as inline SVG."""
    days = data["daily"]
    return {
        "daily": charts.grouped_bars("每日出入 People out and in per day", [d["date"][5:] for d in days], [
            ("出 out", [d["out"] for d in days], charts.COLOURS["out"]),
            ("入 in", [d["in"] for d in days], charts.COLOURS["in"]),
            ("拒 denied", [d["denied"] for d in days], charts.COLOURS["denied"])]),
        "reasons": charts.horizontal_bars("拒绝原因 Denials by reason", [
            (REASONS.get(code, code), n) for code, n in data["denials_by_reason"].items()]),
        "temperatures": charts.histogram("体温分布 Temperatures measured", [
            (t["celsius"], t["count"]) for t in data["temperatures"]], data["fever_threshold"]),
    }


def choices(scope, data):
    """What the filter form offers: compounds, gates (registered nodes and gates seen) and buildings."""
    rt = runtime()
    with rt.store.read() as tx:
        compounds = [c for c in live_tuples(tx, "compounds", ("id", "name"), order="name")
                     if served_compounds() is None or c[0] in served_compounds()]
        marks = ", ".join("?" * len(scope.compound_ids))
        buildings = live_tuples(tx, "buildings", ("id", "number", "name"), f"compound_id IN ({marks})",
                                scope.compound_ids)
    gates = {g["gate"] for g in data["gates"] if g["gate"]} | {n["id"] for n in data["nodes"]}
    if scope.origin:
        gates.add(scope.origin)
    buildings.sort(key=lambda b: (int(b[1]) if str(b[1]).isdigit() else 10**9, str(b[1])))
    return {"compounds": compounds, "gates": sorted(gates, key=place_name), "buildings": buildings}


def render_dashboard():
    """The dashboard page for the request's scope."""
    scope = scope_from_request()
    data = dashboard_data(scope)
    tz = ZoneInfo(scope.tz)
    shown = {"from": dt.datetime.fromtimestamp(scope.since_ms / 1000, tz).date().isoformat(),
             "to": dt.datetime.fromtimestamp(scope.until_ms / 1000, tz).date().isoformat()}
    return render_template("dashboard.html", d=data, charts=chart_set(data), pick=choices(scope, data),
                           shown=shown, reasons=REASONS, statuses=STATUSES, args=request.args,
                           is_hub=runtime().role == "hub")


@pages.get("/dashboard")
@allow(*VIEWERS)
def dashboard_page():
    """The dashboard: figures, charts and sync health (at a node, of its own compound)."""
    return render_dashboard()


@home.get("/")
@allow(*ROLES)
def home_page():
    """The hub's home: the dashboard, or for a building volunteer the basket they work in."""
    if current_principal().role == "volunteer":
        return redirect(url_for("basket_pages.basket_page"))
    return render_dashboard()


#: Pages a role may open but not work at: a node's "/" lets a volunteer or viewer in only to send them on.
NAV_ROLES = {"desk.desk_page": ("operator",)}
NAV = (  # (endpoint, label) in the bar's order; a link shows where the page exists and the role may open it
    ("desk.desk_page", "门岗 Gate desk"),  # a node's "/"
    ("home", "看板 Dashboard"),
    ("reconcile_pages.reconcile_page", "对账 Reconcile"),
    ("manage_pages.manage_page", "管理·通行证 Manage & passes"),
    ("roster_pages.roster_page", "排班 Roster"),
    ("basket_pages.basket_page", "菜篮子 Basket"),
    ("reports.daily_page", "日报 Daily report"),
    ("reports.audit_page", "审计 Audit"),
    ("exports.exports_page", "导出 Exports"),
)


@pages.app_context_processor
def nav_links():
    """The links of the shared nav bar (_nav.html): the pages this replica has that the signed-in role may open."""
    def links():
        try:
            who = current_principal()
        except ApiError:
            return []
        if who is None:
            return []
        views = current_app.view_functions
        out = []
        for endpoint, label in NAV:
            # Who may follow a link is the page's own access rule; the hub's "/" is the dashboard's (a
            # volunteer opening it is sent on to the basket, which has its own link).
            rule = "dashboard.dashboard_page" if endpoint == "home" else endpoint
            if endpoint == "home":
                endpoint = "dashboard_home.home_page" if "dashboard_home.home_page" in views else rule
            access = NAV_ROLES.get(endpoint) or getattr(views.get(rule), "menwei_access", None)
            if endpoint in views and access is not None and (access == "public" or who.may(access)):
                url = url_for(endpoint)
                out.append({"url": url, "label": label, "current": request.path == url})
        return out
    return {"nav_links": links, "iso": iso}
