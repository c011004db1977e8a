"""Who may call what: every route of hub and node against the expected roles (routes that take an id on real
rows, with the exact status), every table of the generic rows API with real rows per method and role, the public routes, sessions, CSRF and rate limits."""
import io
import itertools
import os

import pytest
from openpyxl import Workbook

from conftest import ADMIN, AUTH

C, O, V, W = "coordinator", "operator", "volunteer", "viewer"
EVERYONE = {C, O, V, W}
PUBLIC = "public"
#: The expected access to every route (hub and node alike unless a key says otherwise). A new route
#: must be added here: the test fails on any endpoint it does not know.
EXPECTED = {
    "accounts.login_page": PUBLIC, "accounts.login_submit": PUBLIC, "accounts.api_login": PUBLIC,
    "accounts.logout_submit": EVERYONE, "accounts.api_logout": EVERYONE, "accounts.me": EVERYONE,
    "accounts.list_accounts": {C}, "accounts.add_account": {C}, "accounts.change_account": {C},
    "api.list_tables": EVERYONE, "api.list_rows": EVERYONE, "api.get_row": EVERYONE,
    "api.create_row": EVERYONE, "api.update_row": EVERYONE, "api.delete_row": EVERYONE,  # then per table
    "api.list_conflicts": {C, W}, "api.resolve_conflict": {C}, "api.sync_status": EVERYONE,
    "assets.static": PUBLIC, "basket_assets.static": PUBLIC, "gate_assets.static": PUBLIC, "manage_assets.static": PUBLIC,
    "reconcile_assets.static": PUBLIC, "reports_assets.static": PUBLIC, "roster_assets.static": PUBLIC, "static": PUBLIC,
    "openapi.openapi_json": PUBLIC,
    "accounts_assets.static": PUBLIC,  # the login page's style
    "desk.desk_page": EVERYONE,  # a volunteer is sent on to the basket, a viewer to the dashboard
    "desk_api.alerts": {C, O, W}, "desk_api.desk_search": {C, O, W}, "desk_api.household_card": {C, O, W},
    "desk_api.incidents": {C, O, W}, "desk_api.recent_events": {C, O, W}, "desk_api.register_person": {C, O},
    "gate.check": {C, O}, "gate_rules.rules_in_force": EVERYONE, "gate_rules.preview_rule": {C},
    "passes_api.issue": {C}, "passes_api.issue_for_building": {C}, "passes_api.revoke": {C},
    "passes_pages.print_sheet": {C},
    "roster_api.fill_week": {C}, "roster_api.add_post": {C}, "roster_api.add_volunteer": {C}, "roster_api.coverage_view": {C, O, V, W}, "roster_api.on_duty_view": {C, O, V, W},
    "roster_api.check_in": {C, O, V}, "roster_api.check_out": {C, O, V}, "roster_api.add_handover": {C, O, V},
    "roster_api.list_handovers": {C, O, V, W}, "roster_pages.roster_page": {C, O, V, W},
    "roster_pages.roster_print": {C, O, V, W}, "roster_pages.roster_xlsx": {C, O, V, W},
    "basket_pages.basket_page": {C, V, W}, "basket_pages.ledger_xlsx": {C, V, W}, "basket_pages.labels_sheet": {C, V, W},
    "node_api.sync_now": {C, O, V},
    "hub_admin.list_nodes": {C, W}, "hub_admin.add_node": {C}, "hub_admin.revoke_node": {C},
    "reconcile.list_violations": {C, W}, "reconcile.node_summaries": {C, W}, "reconcile.node_report": {C, W},
    "reconcile.ack_violation": {C}, "reconcile.merge": {C}, "reconcile_pages.reconcile_page": {C, W},
    "manage_pages.manage_page": {C}, "manage_api.import_register": {C},
    "dashboard_home.home_page": EVERYONE,  # the hub's "/": a volunteer is sent on to the basket
    "dashboard.dashboard_page": {C, O, W}, "dashboard_api.dashboard_api": {C, O, W},
    "reports.daily_page": {C, W}, "reports.daily_xlsx": {C, W}, "reports.audit_page": {C, W},
    "reports_api.audit_api": {C, W},
    "exports.exports_page": {C}, "exports_api.export_csv": {C}, "exports_api.export_xlsx": {C},
    "sync.enroll": PUBLIC, "sync.pull": PUBLIC, "sync.push": PUBLIC, "sync.snapshot": PUBLIC,  # node tokens: tests/test_sync_protocol.py
    "sync_recovery.own_changes": PUBLIC,  # node tokens: tests/test_backup.py
}
for _name in ("handoff", "ledger_view", "list_orders", "list_proposals", "list_volunteers", "packing", "receipt_photo",
              "reply_to_group", "shopping_list_view"):
    EXPECTED[f"basket_api.{_name}"] = {C, V, W}
for _name in ("add_receipt", "add_repayment", "add_volunteer", "set_volunteer_active", "confirm_change", "import_chain", "mark_at_building", "mark_bought",
              "mark_delivered", "mark_packed", "mark_refused", "preview_chain", "reject_change"):
    EXPECTED[f"basket_api.{_name}"] = {C, V}
#: Generic row writes (/api/v1/rows/<table>) per table, stated here independently of the code's own table.
TABLE_WRITERS = {"incidents": {C, O}, "handovers": {C, O, V}, "orders": {C, V}, "order_lines": {C, V},
                 "receipts": {C, V}, "repayments": {C, V}, "accounts": set()}  # accounts: only /api/v1/accounts
TABLE_READERS = {"accounts": {C}}  # every other table: every role
TABLES = ("accounts", "buildings", "compounds", "control_rules", "gate_events", "handovers", "households",
          "incidents", "order_lines", "orders", "passes", "posts", "receipts", "repayments", "residents", "shifts",
          "vehicles", "violation_acks", "volunteers")
#: Where a node differs: accounts are made and changed only at the hub (sync.policy), so nobody may at a node.
AT_NODE = {"accounts.add_account": set(), "accounts.change_account": set()}
LAST = {"accounts.logout_submit", "accounts.api_logout"}  # they end the session: called after the rest
PASSWORD = "门卫-secret-2020"


def _accounts(cluster):
    """One account per role, made at the hub and synced to east-gate."""
    for role in (C, O, V, W):
        r = cluster.hub.api("POST", "/accounts", json={"username": f"{role}1", "password": PASSWORD, "role": role})
        assert r.status_code == 201, r.get_json()
    cluster.sync_all()


def _signed_in(app, role):
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": f"{role}1", "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return client, r.get_json()["csrf_token"]


def _url(rule):
    args = {a: 1 if type(rule._converters[a]).__name__ == "IntegerConverter" else "x" for a in rule.arguments}
    return rule.build(args, append_unknown=False)[1]


def _calls(app):
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint in LAST, r.endpoint))
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, _url(rule)


PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Er"
       "kJggg==")
DAY = "2020-02-05"


class RealRows:
    """Real rows made through the replica's own API (the coordinator token), fresh ones for calls that change state."""

    def __init__(self, cluster, rep, side):
        self.cluster, self.rep, self.side, self.cid = cluster, rep, side, cluster.compound_id
        self.n = itertools.count(1)
        self.building = self.row("buildings", number="20", name="20栋")
        self.household = self.row("households", building_id=self.building, room="1702", label="20-1702")
        self.volunteer = self.row("volunteers", name="张青青")
        self.post = self.row("posts", name="东门", kind="gate")
        self.receipt = self.row("receipts", volunteer_id=self.volunteer, delivery_date=DAY, total=88.5, photo=PNG)
        self.account = next(a["id"] for a in cluster.hub.api("GET", "/accounts").get_json()["accounts"])
        self.conflicts = iter(self._conflicts())

    def row(self, table, **data):
        """A new row of ``table`` in the cluster's compound; its id."""
        r = self.rep.api("POST", f"/rows/{table}", json={"compound_id": self.cid, **data})
        assert r.status_code == 201, (table, r.get_json())
        return r.get_json()["id"]

    def pass_(self):
        return self.row("passes", kind="outing", code=f"T{next(self.n):07d}", household_id=self.household)

    def order(self, status, pending=None):
        """An order of one line (白菜3斤) for 20-1702 in ``status``, its chain line edited if ``pending``."""
        oid = self.row("orders", household_id=self.household, room_text="20-1702", name="张三", delivery_date=DAY,
                       status=status, source_line="1. 20-1702 张三 白菜3斤", pending_line=pending)
        self.row("order_lines", order_id=oid, position=0, item="白菜", quantity=3, unit="斤")
        return oid

    def order_line(self, oid):
        return self.rep.api("GET", f"/rows/order_lines?order_id={oid}").get_json()["rows"][0]["id"]

    def shift(self, checked_in=False):
        extra = {"checked_in_at": "2020-02-05T01:00:00Z"} if checked_in else {}
        return self.row("shifts", post_id=self.post, volunteer_id=self.volunteer, starts_at="2020-02-05T01:00:00Z",
                        ends_at="2020-02-05T05:00:00Z", **extra)

    def _conflicts(self):
        """Open conflicts recorded on this side: the same field edited at both gates while apart, one per caller."""
        cluster = self.cluster
        east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
        rids = [cluster.hub.api("POST", "/rows/residents", json={
            "compound_id": self.cid, "household_id": self.household, "name": f"住户{i}"}).get_json()["id"]
            for i in range(5)]
        cluster.sync_all(rounds=1)
        for rid in rids:
            east.api("PATCH", f"/rows/residents/{rid}", json={"notes": "东门"})
        cluster.base.advance(1000)
        for rid in rids:
            b20.api("PATCH", f"/rows/residents/{rid}", json={"notes": "20栋"})
        cluster.sync_all()
        found = [c["id"] for c in self.rep.api("GET", "/conflicts?status=open").get_json()["conflicts"]]
        assert len(found) >= 5, found
        return found

    def call(self, endpoint):
        """(method, url, body, the status an allowed role gets): a well-formed call on real rows that succeeds."""
        api, n = "/api/v1", next(self.n)
        if endpoint == "accounts.change_account":
            if self.side == "node":  # nobody changes an account at a node: a real one is refused
                return "PATCH", f"{api}/accounts/{self.account}", {"active": True}, 200
            r = self.cluster.hub.api("POST", "/accounts", json={"username": f"changed{n}", "password": PASSWORD,
                                                                "role": V})
            return "PATCH", f"{api}/accounts/{r.get_json()['id']}", {"active": False}, 200
        if endpoint == "api.resolve_conflict":
            return "POST", f"{api}/conflicts/{next(self.conflicts)}/resolve", {"keep": "loser", "by": "何主任"}, 200
        if endpoint == "basket_api.confirm_change" or endpoint == "basket_api.reject_change":
            verb = endpoint.split(".")[1].replace("_", "-")
            oid = self.order("requested", pending="1. 20-1702 张三 白菜4斤")
            return "POST", f"{api}/basket/orders/{oid}/{verb}", {}, 200
        if endpoint == "basket_api.mark_bought":
            oid = self.order("requested")
            lines = [{"id": self.order_line(oid), "bought_quantity": 3, "price": 6.0}]
            return "POST", f"{api}/basket/orders/{oid}/bought", {"paid_by": self.volunteer, "lines": lines}, 200
        steps = {"basket_api.mark_packed": ("bought", "packed", {"bags": 1}),
                 "basket_api.mark_at_building": ("packed", "at-building", None),
                 "basket_api.mark_delivered": ("at_building", "delivered", {"by": "物业小刘"}),
                 "basket_api.mark_refused": ("requested", "refused", {"reason": "家里有人发热"})}
        if endpoint in steps:
            status, verb, body = steps[endpoint]
            return "POST", f"{api}/basket/orders/{self.order(status)}/{verb}", body, 200
        if endpoint == "basket_api.set_volunteer_active":
            return "POST", f"{api}/basket/volunteers/{self.volunteer}/active", {"active": True}, 200
        if endpoint == "basket_api.receipt_photo":
            return "GET", f"{api}/basket/receipts/{self.receipt}/photo", None, 200
        if endpoint in ("exports_api.export_csv", "exports_api.export_xlsx"):
            return "GET", f"{api}/export/residents.{endpoint[-4:].lstrip('_')}", None, 200
        if endpoint == "desk_api.household_card":
            return "GET", f"{api}/gate/households/{self.household}", None, 200
        if endpoint == "passes_api.revoke":
            return "POST", f"{api}/gate/passes/{self.pass_()}/revoke", {"reason": "已返岗"}, 200
        if endpoint == "passes_pages.print_sheet":
            return "GET", f"/passes/print?id={self.pass_()}", None, 200
        if endpoint == "hub_admin.revoke_node":
            r = self.rep.api("POST", "/nodes", json={"id": f"spare-{n}", "compound_id": self.cid})
            assert r.status_code == 201, r.get_json()
            return "POST", f"{api}/nodes/spare-{n}/revoke", {}, 200
        if endpoint == "reconcile.node_report":
            return "GET", f"{api}/reconcile/nodes/east-gate", None, 200
        if endpoint == "roster_api.check_in":
            return "POST", f"{api}/roster/shifts/{self.shift()}/check-in", None, 200
        if endpoint == "roster_api.check_out":
            return "POST", f"{api}/roster/shifts/{self.shift(checked_in=True)}/check-out", None, 200
        raise KeyError(endpoint)

    def duplicated_room(self):
        """Two households of building 20 in one fresh room, as two offline gates register it: their ids."""
        room = str(1900 + next(self.n))
        return [self.row("households", building_id=self.building, room=room, label=f"20-{room}") for _ in range(2)]

    def violation(self):
        """A real open violation of this compound (a room registered twice), as the hub lists it: (kind, key)."""
        ids = set(self.duplicated_room())
        found = self.rep.api("GET", "/reconcile/violations?kind=duplicate_room&status=open").get_json()["violations"]
        [v] = [v for v in found if {h["household_id"] for h in v["households"]} == ids]
        return v["kind"], v["key"]

    def register_xlsx(self, n):
        """A small real register workbook: one new resident in a fresh room of building 20."""
        wb = Workbook()
        wb.active.append(["楼栋", "房号", "姓名", "电话"])
        wb.active.append(["20", str(2100 + n), f"登记{n}", "13812345678"])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def write(self, endpoint):
        """(body, the status an allowed role gets) for a write without an id, fresh names and rows each call."""
        n, day = next(self.n), DAY
        chain = f"{n}. 20-1702 张三 白菜{n}斤"
        if endpoint == "manage_api.import_register":  # multipart: the register as the form field 'file'
            return {"file": (io.BytesIO(self.register_xlsx(n)), f"登记表{n}.xlsx")}, 200
        if endpoint == "reconcile.merge":
            keep, merge = self.duplicated_room()
            return {"keep": keep, "merge": merge}, 200
        if endpoint == "reconcile.ack_violation":
            kind, key = self.violation()
            return {"kind": kind, "key": key, "note": f"已核实{n}"}, 201
        bodies = {
            "accounts.add_account": ({"username": f"added{n}", "password": PASSWORD, "role": W}, 201),
            "basket_api.add_volunteer": ({"name": f"志愿者{n}"}, 201),
            "basket_api.add_receipt": ({"volunteer_id": self.volunteer, "delivery_date": day, "amount": 8.5}, 201),
            "basket_api.add_repayment": ({"household_id": self.household, "volunteer_id": self.volunteer,
                                          "amount": 8.5}, 201),
            "basket_api.preview_chain": ({"text": chain, "building": "20", "delivery_date": day}, 200),
            "basket_api.import_chain": ({"text": chain, "building": "20", "delivery_date": day}, 201),
            "desk_api.register_person": ({"room": "20-1702", "name": f"新住户{n}"}, 201),
            "gate.check": ({"household_id": self.household, "direction": "in", "temperature": 36.5}, 201),
            "hub_admin.add_node": ({"id": f"new-{n}", "compound_id": self.cid}, 201),
            "passes_api.issue": ({"kind": "visitor", "holder_name": f"访客{n}", "reason": "送药",
                                  "valid_hours": 4}, 201),
            "passes_api.issue_for_building": ({"building_id": self.building}, 201),
            "roster_api.add_post": ({"name": f"岗{n}", "kind": "gate"}, 201),
            "roster_api.add_volunteer": ({"name": f"值班{n}"}, 201),
            "roster_api.add_handover": ({"post_id": self.post, "note": f"交接{n}"}, 201),
            "roster_api.fill_week": ({"post_id": self.row("posts", name=f"岗位{n}", kind="gate"),
                                      "start_date": "2020-02-10", "days": 1, "shift_hours": 12,
                                      "volunteer_ids": [self.volunteer]}, 201),
        }
        return bodies[endpoint]


#: Routes read with a query they need: called with a real one, they answer 200.
QUERIES = {"basket_api.handoff": "date={DAY}", "basket_api.list_orders": "date={DAY}",
           "basket_api.list_proposals": "date={DAY}", "basket_api.packing": "date={DAY}",
           "basket_api.reply_to_group": "date={DAY}&stage=before", "basket_api.shopping_list_view": "date={DAY}",
           "basket_pages.labels_sheet": "date={DAY}", "roster_api.list_handovers": "post_id={post}"}
#: Writes without an id: called with a real body (RealRows.write: an uploaded register, a duplicated room to merge,
#: a real violation to acknowledge among them) they succeed with their exact 2xx.
NEEDS_A_BODY = {"accounts.add_account", "basket_api.add_receipt", "basket_api.add_repayment", "basket_api.add_volunteer",
                "basket_api.import_chain", "basket_api.preview_chain", "desk_api.register_person", "gate.check",
                "hub_admin.add_node", "manage_api.import_register", "passes_api.issue", "passes_api.issue_for_building",
                "reconcile.ack_violation", "reconcile.merge", "roster_api.add_handover", "roster_api.add_post",
                "roster_api.add_volunteer", "roster_api.fill_week"}
#: Writes whose body is a multipart form (an uploaded file), not JSON.
UPLOADS = {"manage_api.import_register"}
#: The generic rows API: every table with real rows, per method and role, in its own test below.
ROWS_PER_TABLE = {"api.list_rows", "api.get_row", "api.create_row", "api.update_row", "api.delete_row"}
#: The documented redirects: who may open "/" but works elsewhere is sent on (a volunteer to the basket, a viewer at
#: a node to the dashboard).
SENT_ON = {("hub", "dashboard_home.home_page", V), ("node", "desk.desk_page", V), ("node", "desk.desk_page", W)}


def _without_id(side, endpoint, method, role):
    """The exact status an allowed role gets from a route without an id and body (called with its query, if any)."""
    if (side, endpoint, role) in SENT_ON:
        return 302
    if endpoint in ROWS_PER_TABLE:  # called here on table "x": past the role check, the unknown table is named
        return 404
    if endpoint in LAST:
        return 200 if method == "POST" and endpoint == "accounts.api_logout" else 302
    return 200


#: Routes that take an id (or, for the pass sheet, ids in the query): called on real rows, exact status per role.
#: Every route with a path argument must be here but the generic rows API (its own test below) and static files.
REAL_ID_ROUTES = {"accounts.change_account", "api.resolve_conflict", "basket_api.confirm_change",
                  "basket_api.reject_change", "basket_api.mark_bought", "basket_api.mark_packed",
                  "basket_api.mark_at_building", "basket_api.mark_delivered", "basket_api.mark_refused",
                  "basket_api.receipt_photo", "basket_api.set_volunteer_active", "exports_api.export_csv", "exports_api.export_xlsx",
                  "desk_api.household_card", "passes_api.revoke", "passes_pages.print_sheet", "hub_admin.revoke_node",
                  "reconcile.node_report", "roster_api.check_in", "roster_api.check_out"}


@pytest.mark.parametrize("side", ["hub", "node"])
def test_every_route_admits_exactly_its_roles(cluster, side):
    """Anonymous and a wrong token: 401 (a page: the login); each role: 403 where not allowed, else the exact
    status: routes that take an id are called on real rows with a body that succeeds (2xx), reads with the query they
    need (200), writes without an id with a real body, an uploaded register included (their exact 2xx)."""
    _accounts(cluster)
    rep = cluster.hub if side == "hub" else cluster.nodes["east-gate"]
    app = rep.app
    unknown = {r.endpoint for r in app.url_map.iter_rules()} - set(EXPECTED)
    assert not unknown, f"routes without an expected access rule: {unknown}"
    with_ids = {r.endpoint for r in app.url_map.iter_rules() if r.arguments and not r.endpoint.startswith("api.")
                or r.endpoint == "api.resolve_conflict"} - {e for e in EXPECTED if EXPECTED[e] == PUBLIC}
    assert with_ids <= REAL_ID_ROUTES, f"routes with an id not called on real rows: {with_ids - REAL_ID_ROUTES}"
    real = RealRows(cluster, rep, side)
    sessions = {role: _signed_in(app, role) for role in (C, O, V, W)}
    anonymous = app.test_client()
    checked = succeeded = 0
    expected = {**EXPECTED, **(AT_NODE if side == "node" else {})}
    for endpoint, method, url in _calls(app):
        allowed = expected[endpoint]
        if allowed == PUBLIC:
            continue
        if endpoint in LAST:  # signing out ends the session: each of these gets fresh ones
            sessions = {role: _signed_in(app, role) for role in (C, O, V, W)}
        body = {} if method != "GET" else None
        if endpoint in REAL_ID_ROUTES:
            method, url, body, _ = real.call(endpoint)
        elif endpoint in QUERIES:
            url += "?" + QUERIES[endpoint].format(DAY=DAY, post=real.post)
        r = anonymous.open(url, method=method, json=body)
        page = method == "GET" and not url.startswith("/api/")
        assert r.status_code == (302 if page else 401), (endpoint, method, r.status_code)
        if page:
            assert "/login?next=" in r.headers["Location"]
        r = anonymous.open(url, method=method, headers={"Authorization": "Bearer not-the-token"})
        assert r.status_code == 401, (endpoint, "wrong token", r.status_code)
        for role, (client, csrf) in sessions.items():
            want = _without_id(side, endpoint, method, role)
            if endpoint in REAL_ID_ROUTES:  # a fresh row for each role: a refusal must change nothing either
                method, url, body, want = real.call(endpoint)
            sent = {"json": body}
            if endpoint in NEEDS_A_BODY and role in allowed:  # a fresh real body (or upload) for each allowed role
                real_body, want = real.write(endpoint)
                sent = {"data" if endpoint in UPLOADS else "json": real_body}
            r = client.open(url, method=method, headers={"X-CSRF-Token": csrf}, **sent)
            said = r.get_data()[:200]
            r.close()  # a streamed answer (an export) keeps its request's context, and the signed-in caller, till closed
            if role not in allowed:
                assert r.status_code == 403, (endpoint, method, role, r.status_code)
            else:
                assert r.status_code == want, (endpoint, method, role, r.status_code, said)
                succeeded += 200 <= r.status_code < 300
            checked += 1
    assert checked > 200 and succeeded > 150, (checked, succeeded)  # 185 at the hub, 171 at a node


def _static_file(app, endpoint):
    """The name of a real file served by a static endpoint (None if its folder does not exist: Flask's own)."""
    folder = app.static_folder if endpoint == "static" else app.blueprints[endpoint.split(".")[0]].static_folder
    if not os.path.isdir(folder):
        return None
    return next(f for f in sorted(os.listdir(folder)) if os.path.isfile(os.path.join(folder, f)))


@pytest.mark.parametrize("side", ["hub", "node"])
def test_public_routes_answer_everyone_and_never_crash(cluster, side):
    _accounts(cluster)
    app = cluster.hub.app if side == "hub" else cluster.nodes["east-gate"].app
    callers = {"anonymous": (app.test_client(), None), **{role: _signed_in(app, role) for role in (C, O, V, W)}}
    public = [r for r in app.url_map.iter_rules() if EXPECTED[r.endpoint] == PUBLIC]
    assert {"openapi.openapi_json", "accounts.login_page", *(["sync.push"] if side == "hub" else [])} <= {
        r.endpoint for r in public}
    for rule in public:
        real_file = _static_file(app, rule.endpoint) if "filename" in rule.arguments else None
        args = {a: real_file or "x" for a in rule.arguments}
        url = rule.build(args, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            got = {}
            for who, (client, csrf) in callers.items():
                r = client.open(url, method=method, headers={"X-CSRF-Token": csrf} if csrf else {},
                                json={} if method != "GET" else None)
                got[who] = r.status_code
            assert max(got.values()) < 500, (rule.endpoint, method, got)
            if real_file or rule.endpoint in ("openapi.openapi_json", "accounts.login_page"):
                assert set(got.values()) == {200}, (rule.endpoint, got)


_n = itertools.count()


def _row(table, compound_id):
    """A valid new row of ``table``: every required field filled by its type."""
    out = {}
    for f in table.fields:
        if not f.required:
            continue
        if f.name == "compound_id":
            out[f.name] = compound_id
        elif f.choices:
            out[f.name] = f.choices[0]
        elif f.type == "ref":
            out[f.name] = "01a24000-0000-7000-8000-000000000001"
        elif f.type == "datetime":
            out[f.name] = "2020-02-04T13:00:00Z" if f.name.startswith("end") else "2020-02-04T09:00:00Z"
        elif f.type == "date":
            out[f.name] = "2020-02-04"
        elif f.type == "float":
            out[f.name] = 1.0
        else:
            out[f.name] = f"x{next(_n)}"
    return out


def _expected(side, table, method, role):
    """The exact status a generic rows call must get, from the rules stated at the top of this file."""
    if method == "GET":
        return 200 if role in TABLE_READERS.get(table, EVERYONE) else 403
    if role not in TABLE_WRITERS.get(table, {C}):
        return 403
    if table == "compounds" and method == "POST":
        return 403  # a node writes only its own compound; an account only the compounds it serves (not a new one)
    if table == "gate_events" and method in ("PATCH", "DELETE"):
        return 405  # gate events are never changed once written
    return 201 if method == "POST" else 200


@pytest.mark.parametrize("side", ["hub", "node"])
def test_generic_rows_api_gives_each_role_exactly_its_rights_on_every_table(cluster, side):
    """Real rows of every table, every method, every role: 2xx where allowed, 403 where not, nothing else."""
    _accounts(cluster)
    rep = cluster.hub if side == "hub" else cluster.nodes["east-gate"]
    catalog = rep.rt.catalog
    assert sorted(t.name for t in catalog) == sorted(TABLES), "a table without a stated access rule"
    cid = cluster.compound_id

    hub_seq = __import__("itertools").count(1)

    def fresh(name):  # a real row, written directly (as a sync would), for this call alone
        if name == "compounds":  # an account reaches only the compounds it serves, at the hub too
            return cid
        row_id = str(__import__("uuid").uuid4())
        body = _row(catalog[name], cid)
        if name == "compounds":
            body.pop("compound_id", None)
        if name == "accounts":
            body["password_hash"] = "scrypt:not-a-real-hash"
        if name == "accounts" and side == "node":  # a node never writes an account: it merges one from the hub
            rep.rt.replica.apply_remote([{"seq": next(hub_seq), "hlc": rep.rt.clock.now(), "table": name,
                                          "id": row_id, "data": body}], origin="the-hub")
            return row_id
        rep.rt.replica.write([(name, row_id, body)], create=True)
        return row_id

    sessions = {role: _signed_in(rep.app, role) for role in (O, V, W, C)}  # C last: deletes the node's compound
    wrong = []
    for name in sorted(TABLES, key=lambda t: t == "compounds"):  # the node's own compound last: it is deleted
        for role, (client, csrf) in sessions.items():
            body = _row(catalog[name], cid)
            change = {k: v for k, v in body.items() if k != "compound_id"}
            calls = [("GET", f"/api/v1/rows/{name}", None), ("GET", f"/api/v1/rows/{name}/{fresh(name)}", None),
                     ("POST", f"/api/v1/rows/{name}", body), ("PATCH", f"/api/v1/rows/{name}/{fresh(name)}", change),
                     ("DELETE", f"/api/v1/rows/{name}/{fresh(name)}", None)]
            for method, url, json in calls:
                r = client.open(url, method=method, json=json, headers={"X-CSRF-Token": csrf})
                want = _expected(side, name, method, role)
                if r.status_code != want:
                    wrong.append((name, method, role, r.status_code, want, r.get_data(as_text=True)[:120]))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_write_from_a_session_without_the_csrf_token_is_refused(cluster):
    _accounts(cluster)
    client, csrf = _signed_in(cluster.nodes["east-gate"].app, O)
    r = client.post("/api/v1/rows/incidents", json={"kind": "other", "summary": "x"})
    assert r.status_code == 403 and r.get_json()["code"] == "csrf"
    r = client.post("/api/v1/rows/incidents", json={"kind": "other"}, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403 and r.get_json()["code"] == "csrf"


def test_the_login_form_needs_its_csrf_token(cluster):
    _accounts(cluster)
    client = cluster.hub.app.test_client()
    r = client.post("/login", data={"username": "coordinator1", "password": PASSWORD})
    assert r.status_code == 403
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "coordinator1", "password": PASSWORD, "csrf_token": token,
                                    "next": "https://evil.example/"})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_accounts_made_at_the_hub_sign_in_at_an_offline_gate(cluster):
    _accounts(cluster)
    cluster.server.stop()  # the hub is gone; the gate still knows its people
    client, _ = _signed_in(cluster.nodes["east-gate"].app, O)
    me = client.get("/api/v1/auth/me").get_json()
    assert me["username"] == "operator1" and me["role"] == O
    assert client.get("/").status_code == 200
    # With no one checked in on the roster, the signed-in operator is recorded on the gate event.
    hh = cluster.nodes["east-gate"].api("POST", "/rows/households", json={
        "compound_id": cluster.compound_id, "building_id": "b", "room": "101", "label": "1-101"}).get_json()["id"]
    r = client.post("/api/v1/gate/checks", json={"household_id": hh, "direction": "in", "temperature": 36.4},
                    headers={"X-CSRF-Token": me["csrf_token"]})
    assert r.status_code == 201, r.get_json()
    event = cluster.nodes["east-gate"].api("GET", f"/rows/gate_events/{r.get_json()['event_id']}").get_json()
    assert event["operator"] == "operator1"


def test_password_hashes_never_leave_the_api(cluster):
    _accounts(cluster)
    hub = cluster.hub
    listed = hub.api("GET", "/accounts").get_json()["accounts"]
    rows = hub.api("GET", "/rows/accounts").get_json()["rows"]
    assert len(listed) == 4 and rows and all("password_hash" not in a for a in listed + rows)
    stored = hub.table("accounts")
    assert all(v[4].startswith("scrypt:") for v in stored.values())  # a standard, salted, slow hash
    assert hub.api("GET", "/rows/accounts?password_hash=x").status_code == 400


@pytest.mark.parametrize("body,field", [
    ({"username": "a", "password": PASSWORD, "role": O}, "username"),
    ({"username": "ok-name", "password": "short", "role": O}, "password"),
    ({"username": "ok-name", "password": PASSWORD, "role": "boss"}, "role"),
    ({"username": "ok-name", "password": PASSWORD}, "role"),
])
def test_bad_account_bodies_name_the_field(cluster, body, field):
    r = cluster.hub.api("POST", "/accounts", json=body)
    assert r.status_code == 400 and field in r.get_json()["fields"]


def test_a_taken_username_is_refused(cluster):
    _accounts(cluster)
    r = cluster.hub.api("POST", "/accounts", json={"username": "Operator1", "password": PASSWORD, "role": V})
    assert r.status_code == 409 and "username" in r.get_json()["fields"]


def test_failed_logins_are_rate_limited_then_released(cluster):
    _accounts(cluster)
    client = cluster.hub.app.test_client()
    for _ in range(5):
        r = client.post("/api/v1/auth/login", json={"username": "operator1", "password": "wrong-password"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "operator1", "password": PASSWORD})
    assert r.status_code == 429  # even the right password waits: the attacker must not learn it worked
    cluster.base.advance(16 * 60 * 1000)
    assert client.post("/api/v1/auth/login", json={"username": "operator1", "password": PASSWORD}).status_code == 200


def test_a_new_password_or_deactivation_ends_open_sessions(cluster):
    _accounts(cluster)
    hub = cluster.hub
    client, _ = _signed_in(hub.app, O)
    assert client.get("/api/v1/auth/me").status_code == 200
    acct = next(a for a in hub.api("GET", "/accounts").get_json()["accounts"] if a["username"] == "operator1")
    assert hub.api("PATCH", f"/accounts/{acct['id']}", json={"password": "another-pass-1"}).status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401
    client2 = hub.app.test_client()
    assert client2.post("/api/v1/auth/login", json={"username": "operator1",
                                                     "password": "another-pass-1"}).status_code == 200
    hub.api("PATCH", f"/accounts/{acct['id']}", json={"active": False})
    assert client2.get("/api/v1/auth/me").status_code == 401


def test_sessions_expire_after_session_hours(cluster):
    _accounts(cluster)
    client, _ = _signed_in(cluster.hub.app, W)
    cluster.base.advance(11 * 3600 * 1000)
    assert client.get("/api/v1/auth/me").status_code == 200
    cluster.base.advance(2 * 3600 * 1000)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_node_sync_token_opens_no_api(cluster):
    token = cluster.nodes["east-gate"].rt.state("token")
    client = cluster.hub.app.test_client()
    assert client.get("/api/v1/rows/residents", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/rows/residents", headers=AUTH).status_code == 200
    assert ADMIN not in client.get("/api/v1/nodes", headers=AUTH).get_data(as_text=True)
