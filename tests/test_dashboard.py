"""The dashboard: figures per compound, gate and building from the events a gate recorded, charts and sync health."""
import pytest

from menwei.reports import charts
from menwei.reports.dashboard import local_days, node_health
from menwei.tables import SCHEMA_VERSION


@pytest.fixture
def day(gate):
    """One morning at east gate (3 February 2020, Shanghai), synced to the hub.

    张三 and 李四 (building 20) go out; 王五 (building 1) goes out and comes back; a courier comes in; room
    1-101 is refused at 38.2 °C (a fever incident). Two basket orders for the day, one delivered.
    """
    g = gate
    g.check(resident_id=g.zhang, direction="out")
    g.check(resident_id=g.li, direction="out")
    g.check(resident_id=g.wang, direction="out")
    g.cluster.base.advance(3_600_000)
    g.check(resident_id=g.wang, direction="in")
    g.check(visitor={"name": "快递员", "reason": "送货"}, direction="in")
    fever = g.east.api("POST", "/gate/checks", json={"household_id": g.h101, "direction": "in", "temperature": 38.2})
    assert fever.status_code == 201 and fever.get_json()["decision"] == "denied"
    g.hub_row("orders", household_id=g.h1702, delivery_date="2020-02-03", status="delivered")
    g.hub_row("orders", household_id=g.h101, delivery_date="2020-02-03", status="requested")
    g.hub_row("orders", household_id=g.h101, delivery_date="2020-02-04", status="requested")  # tomorrow's
    g.sync()
    return g


def _dash(replica, status=200, **params):
    r = replica.http.get("/api/v1/dashboard", query_string=params)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _by(rows, key, value):
    return next(r for r in rows if r[key] == value)


def test_the_hub_counts_what_the_gate_recorded_per_gate_and_building(day):
    d = _dash(day.hub)
    assert d["period"]["from_date"] == d["period"]["to_date"] == "2020-02-03"  # today, in Shanghai
    t = d["totals"]
    assert (t["out"], t["in"], t["denied"], t["fevers"], t["visitors"]) == (3, 2, 1, 1, 1)
    assert t["currently_out"] == 2 and t["open_incidents"] == 1  # 王五 came back
    assert d["denials_by_reason"] == {"fever": 1}
    assert d["deliveries"]["delivered"] == 1 and d["deliveries"]["requested"] == 1
    assert d["incidents"]["by_kind"] == {"fever": 1}
    east = _by(d["gates"], "gate", "east-gate")
    assert (east["out"], east["in"], east["currently_out"], east["denials"]) == (3, 2, 2, {"fever": 1})
    b20, b1 = _by(d["buildings"], "building_id", day.b20), _by(d["buildings"], "building_id", day.b1)
    assert (b20["out"], b20["in"], b20["currently_out"], b20["building"]) == (2, 0, 2, "20栋")
    assert (b1["out"], b1["in"], b1["denied"], b1["fevers"], b1["currently_out"]) == (1, 1, 1, 1, 0)
    assert b1["deliveries"]["requested"] == 1 and b20["deliveries"]["delivered"] == 1
    assert _by(d["buildings"], "building_id", None)["visitors"] == 1  # the courier has no building
    assert [(x["celsius"], x["count"]) for x in d["temperatures"]] == [(36.5, 5), (38.2, 1)]
    assert len(d["daily"]) == 7 and d["daily"][-1] == {"date": "2020-02-03", "out": 3, "in": 2, "denied": 1}


def test_building_gate_origin_compound_and_period_filters_narrow_the_totals(day):
    b1 = _dash(day.hub, building_id=day.b1)["totals"]
    assert (b1["out"], b1["in"], b1["denied"], b1["currently_out"], b1["visitors"]) == (1, 1, 1, 0, 0)
    assert _dash(day.hub, origin="east-gate")["totals"] == _dash(day.hub, gate="east-gate")["totals"]
    other_gate = _dash(day.hub, gate="building-20")
    assert other_gate["totals"]["out"] == 0 and other_gate["totals"]["currently_out"] == 0
    assert _dash(day.hub, compound_id=day.cluster.compound_id)["totals"]["out"] == 3
    yesterday = _dash(day.hub, **{"from": "2020-02-02", "to": "2020-02-02"})
    assert yesterday["totals"]["out"] == 0 and yesterday["totals"]["currently_out"] == 0
    tomorrow = _dash(day.hub, **{"from": "2020-02-04", "to": "2020-02-04"})
    assert tomorrow["deliveries"]["requested"] == 1 and tomorrow["totals"]["currently_out"] == 2


@pytest.mark.parametrize("params,field", [
    ({"from": "yesterday"}, "from"), ({"to": "2020-13-01"}, "to"), ({"from": "2020-02-05", "to": "2020-02-01"}, "from"),
    ({"from": "2019-01-01", "to": "2020-02-01"}, "from"), ({"gate": "east gate; drop"}, "gate"),
    ({"building_id": "no-such-building"}, "building_id"), ({"compound_id": "no-such"}, "compound_id"),
    ({"origin": "east/gate"}, "origin"), ({"gate_id": "east-gate"}, "gate_id"),
])
def test_bad_parameters_are_refused_naming_the_field(gate, params, field):
    body = _dash(gate.hub, 400, **params)
    assert field in body["fields"], body


def test_sync_health_marks_nodes_not_heard_from(day):
    nodes = {n["id"]: n for n in _dash(day.hub)["nodes"]}
    assert not nodes["east-gate"]["stale"] and nodes["east-gate"]["schema_version"] == SCHEMA_VERSION
    assert nodes["east-gate"]["pending"] == 0 and nodes["building-20"]["why"] == ["never synced"]
    day.cluster.base.advance(301_000)  # OUTAGE_GAP_S is 300
    nodes = {n["id"]: n for n in _dash(day.hub)["nodes"]}
    assert nodes["east-gate"]["stale"] and "not heard from" in nodes["east-gate"]["why"]
    page = day.hub.http.get("/").get_data(as_text=True)
    assert '<tr data-node="east-gate" class="stale">' in page


def test_the_node_shows_its_own_figures_and_its_own_sync(day):
    day.check(resident_id=day.wang, direction="out")  # not synced yet: only the gate knows
    d = _dash(day.east)
    assert d["totals"]["out"] == 4 and d["totals"]["currently_out"] == 3
    assert [n["id"] for n in d["nodes"]] == ["east-gate"] and d["nodes"][0]["pending"] == 1
    assert _dash(day.hub)["totals"]["out"] == 3
    page = day.east.http.get("/dashboard")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)


def test_the_dashboard_page_draws_its_charts_inline(day):
    html = day.hub.http.get("/").get_data(as_text=True)
    assert html.count("<svg") == 3 and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "/assets/page.js" in html and 'class="menwei-nav"' in html
    assert '<div class="v">3</div><div class="k">出门 People out' in html
    assert "发热 fever" in html and "≥37.3°C" in html  # the denial reason and the fever threshold line


def test_charts_escape_labels_and_scale_to_a_round_top():
    svg = charts.horizontal_bars("t", [("<script>", 7)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    bars = charts.grouped_bars("t", ["a", "b"], [("out", [3, 7], "#000")])
    assert '<text x="40" y="28.0" text-anchor="end">10</text>' in bars  # 7 rounds up to an axis of 10
    assert "no temperatures" in charts.histogram("t", [])


def test_local_days_follow_the_time_zone():
    days = local_days(1_580_659_200_000, 1_580_745_599_999, "Asia/Shanghai")  # 2020-02-02T16:00Z … 02-03T15:59Z
    assert [d.isoformat() for d, _, _ in days] == ["2020-02-03"]


def test_node_health_says_why_a_node_needs_a_look():
    base = {"id": "n", "label": "", "compound_id": "c", "revoked": False, "last_seen_ms": 1000, "pending": 0,
            "skew_ms": 0, "schema_version": 3, "last_error": None}
    assert node_health([base], 2000, 3, 300_000)[0]["stale"] is False
    assert node_health([{**base, "schema_version": 2}], 2000, 3, 300_000)[0]["why"] == ["schema differs"]
    assert node_health([{**base, "last_error": "skew"}], 2000, 3, 300_000)[0]["why"] == ["last sync refused"]


def test_reasons_written_by_hand_in_any_shape_count_as_other_and_break_nothing(gate):
    from menwei.times import iso
    for reasons in ({"code": "fever"}, "fever", [1, {"code": "quota_used"}], None):
        r = gate.hub.api("POST", "/rows/gate_events", json={
            "compound_id": gate.cluster.compound_id, "gate": "hand", "direction": "out", "decision": "denied",
            "at": iso(gate.cluster.base()), "reasons": reasons})
        assert r.status_code == 201, r.get_json()
    d = _dash(gate.hub)
    assert d["denials_by_reason"] == {"other": 4, "quota_used": 1} and d["totals"]["denied"] == 4
    assert d["totals"]["fevers"] == 0  # only the gate's own list of reasons says fever


def test_whole_days_come_from_the_cache_and_a_late_event_refreshes_its_day(day, monkeypatch):  # noqa: F811
    from menwei.reports import dashboard_cache
    from menwei.times import iso
    g = day
    g.cluster.base.advance(2 * 86_400_000)  # 5 February: 张三 comes back
    g.check(resident_id=g.zhang, direction="in")
    g.sync()
    week = {"from": "2020-01-30", "to": "2020-02-05"}
    first = _dash(g.hub, **week)
    with g.hub.rt.store.read() as tx:
        stored = [d for (d,) in tx.rows("SELECT day FROM dashboard_days ORDER BY day")]
    assert stored == ["2020-01-30", "2020-01-31", "2020-02-01", "2020-02-02", "2020-02-03", "2020-02-04"]
    assert (first["totals"]["out"], first["totals"]["in"]) == (3, 3)  # today, 5 February, counted live
    # A gate that was offline delivers a crossing of 3 February two days late.
    r = g.hub.api("POST", "/rows/gate_events", json={
        "compound_id": g.cluster.compound_id, "gate": "west-gate", "direction": "out", "decision": "allowed",
        "purpose": "outing", "at": iso(1_580_706_000_000), "household_id": g.h101, "temperature": 36.6})
    assert r.status_code == 201
    again = _dash(g.hub, **week)
    assert again["totals"]["out"] == 4 and _by(again["daily"], "date", "2020-02-03")["out"] == 4
    assert _by(again["gates"], "gate", "west-gate")["out"] == 1
    assert _dash(g.hub, gate="west-gate", **week)["totals"]["out"] == 1  # a gate's rows picked from the cache
    cached = {k: _dash(g.hub, **week)[k] for k in ("totals", "gates", "buildings", "denials_by_reason", "daily",
                                                   "temperatures", "deliveries")}
    monkeypatch.setattr(dashboard_cache, "MIN_CACHED_DAYS", 10**6)  # every figure counted live instead
    live = _dash(g.hub, **week)
    assert cached == {k: live[k] for k in cached}


NAV_PAGES = {  # what each role finds in the nav bar at the hub and at a gate node
    "hub": {"coordinator": {"/", "/reconcile", "/manage", "/roster", "/basket", "/reports/daily", "/audit", "/exports"},
            "operator": {"/", "/roster"}, "volunteer": {"/roster", "/basket"},
            "viewer": {"/", "/reconcile", "/roster", "/basket", "/reports/daily", "/audit"}},
    "node": {"coordinator": {"/", "/dashboard", "/manage", "/roster", "/basket", "/reports/daily", "/audit", "/exports"},
             "operator": {"/", "/dashboard", "/roster"}, "volunteer": {"/roster", "/basket"},
             "viewer": {"/dashboard", "/roster", "/basket", "/reports/daily", "/audit"}},
}


@pytest.mark.parametrize("side", ["hub", "node"])
def test_the_nav_bar_links_exactly_the_pages_a_role_may_open(gate, side):
    import re
    from conftest import PASSWORD
    for role in NAV_PAGES[side]:
        r = gate.hub.api("POST", "/accounts", json={"username": f"nav-{role}", "password": PASSWORD, "role": role})
        assert r.status_code == 201, r.get_json()
    gate.sync()
    app = gate.hub.app if side == "hub" else gate.east.app
    for role, expected in NAV_PAGES[side].items():
        client = app.test_client()
        assert client.post("/api/v1/auth/login", json={"username": f"nav-{role}", "password": PASSWORD}).status_code == 200
        page = client.get("/roster").get_data(as_text=True)  # a page every role may open
        nav = page.split('<nav class="menwei-nav"')[1].split("</nav>")[0]
        links = set(re.findall(r'<a href="([^"]+)"', nav))
        assert links == expected, (side, role, links)
        for url in links:  # and every one of them opens for this role (or sends it on, never to the sign-in)
            r = client.get(url)
            assert r.status_code == 200 or (r.status_code == 302 and "/login" not in r.headers["Location"]), (
                side, role, url, r.status_code)


def test_a_short_period_is_charted_with_whole_days_before_it(gate):
    r = gate.hub.api("POST", "/rows/gate_events", json={  # 28 January, 09:00 in Shanghai: earlier in the day than now
        "compound_id": gate.cluster.compound_id, "gate": "east-gate", "direction": "out", "decision": "allowed",
        "purpose": "outing", "at": "2020-01-28T01:00:00.000Z"})
    assert r.status_code == 201
    daily = _dash(gate.hub)["daily"]
    assert [d["date"] for d in daily] == [f"2020-01-{d}" for d in range(28, 32)] + ["2020-02-01", "2020-02-02",
                                                                                   "2020-02-03"]
    assert daily[0] == {"date": "2020-01-28", "out": 1, "in": 0, "denied": 0}


def test_figures_come_from_one_snapshot_while_a_late_batch_lands(day, monkeypatch):
    # On PostgreSQL each query of a read sees a newer snapshot unless asked otherwise: an offline gate's
    # batch landing between the crossings query and the daily series' one made today's bar disagree
    # with the totals on the same page.
    from conftest import after_statement
    from menwei.times import iso
    from sync.ids import new_id
    landed = after_statement(monkeypatch, "GROUP BY g.gate, g.household_id", lambda: day.hub.replica.write([(
        "gate_events", new_id(), {"compound_id": day.cluster.compound_id, "gate": "west-gate", "direction": "out",
                                  "at": iso(day.cluster.base()), "decision": "allowed", "resident_id": day.li,
                                  "household_id": day.h1702})]))
    d = _dash(day.hub)
    assert landed, "the late batch never landed: the crossings query changed"
    assert d["totals"]["out"] == d["daily"][-1]["out"] == sum(g["out"] for g in d["gates"]) == 3
    monkeypatch.undo()
    d = _dash(day.hub)
    assert d["totals"]["out"] == d["daily"][-1]["out"] == 4  # the next look counts it everywhere
