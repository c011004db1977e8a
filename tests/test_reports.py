"""Reports: the daily report (.xlsx and printable page), table exports (.csv, .xlsx) and the audit trail."""
import csv
import html
import io
import logging
import re

import pytest
from openpyxl import load_workbook

from conftest import PASSWORD

ID_NUMBER = "360502198005011234"


@pytest.fixture
def day(gate):
    """3 February 2020 at east gate: two out, one back, a courier in, a fever refused; one order delivered."""
    gate.check(resident_id=gate.zhang, direction="out")
    gate.check(resident_id=gate.wang, direction="out")
    gate.cluster.base.advance(3_600_000)
    gate.check(resident_id=gate.wang, direction="in", temperature=36.9)
    gate.check(visitor={"name": "快递员", "reason": "送货"}, direction="in")
    gate.check(resident_id=gate.li, direction="out", temperature=38.4)
    gate.hub_row("orders", household_id=gate.h1702, delivery_date="2020-02-03", status="delivered")
    gate.sync()
    return gate


def _sheet(wb, prefix):
    return next(ws for ws in wb.worksheets if ws.title.startswith(prefix))


def _rows(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _signed_in(replica, role):
    r = replica.api("POST", "/accounts", json={"username": f"{role}-x", "password": PASSWORD, "role": role})
    assert r.status_code == 201, r.get_json()
    client = replica.app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": f"{role}-x", "password": PASSWORD})
    return client, r.get_json()["csrf_token"]


def test_daily_report_xlsx_holds_the_figures_per_gate_and_building(day):
    r = day.hub.http.get("/reports/daily.xlsx?date=2020-02-03")
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('menwei-daily-2020-02-03.xlsx')
    wb = load_workbook(io.BytesIO(r.data))
    summary = {row[0]: row[1] for row in _rows(_sheet(wb, "概况")) if row and row[0]}
    assert summary["日期 Date"] == "2020-02-03" and summary["小区 Compound"] == "绿景水岸小区"
    assert (summary["出门 People out"], summary["进门 People in"], summary["拒绝 Denied"]) == (2, 2, 1)
    assert (summary["发热 Fevers"], summary["外来人员 Non-residents"], summary["尚未返回 Out at day's end"]) == (1, 1, 1)
    assert summary["发热 fever"] == 1 and summary["已送达 delivered"] == 1
    gates = _rows(_sheet(wb, "门岗"))
    head = gates[0]
    east = dict(zip(head, next(g for g in gates if g[0] == "east-gate")))
    assert (east["出门 People out"], east["进门 People in"], east["发热 fever"]) == (2, 2, 1)
    assert gates[-1][0] == "合计 Total" and gates[-1][1] == 2
    buildings = {b[0]: dict(zip(_rows(_sheet(wb, "楼栋"))[0], b)) for b in _rows(_sheet(wb, "楼栋"))[1:]}
    assert buildings["20栋"]["出门 People out"] == 1 and buildings["20栋"]["发热 Fevers"] == 1
    assert buildings["20栋"]["已送达 delivered"] == 1 and buildings["1栋"]["进门 People in"] == 1
    assert buildings["— 外来 no building"]["外来人员 Non-residents"] == 1
    temps = dict(_rows(_sheet(wb, "体温"))[1:])
    assert temps == {36.5: 3, 36.9: 1, 38.4: 1}
    sync = _rows(_sheet(wb, "同步"))
    assert {row[0] for row in sync[1:]} == {"east-gate", "building-20"}


def test_daily_report_page_is_printable_with_the_same_figures(day):
    r = day.hub.http.get("/reports/daily?date=2020-02-03")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert '<tr data-key="out"><th>出门 People out</th><td class="n">2</td>' in page
    figure = r'<tr data-key="\w+"><th>([^<]+)</th><td class="n">(\d+)</td>'
    shown = {html.unescape(label): int(n) for label, n in re.findall(figure, page)}
    wb = load_workbook(io.BytesIO(day.hub.http.get("/reports/daily.xlsx?date=2020-02-03").data))
    summary = {row[0]: row[1] for row in _rows(_sheet(wb, "概况")) if row and row[0]}
    assert len(shown) >= 6 and shown == {label: summary[label] for label in shown}  # every total, as in the workbook
    assert page.count("<svg") == 3 and "/assets/reports/dashboard.css" in page  # its @media print hides the controls
    assert 'href="/reports/daily.xlsx?date=2020-02-03' in page
    other_day = day.hub.http.get("/reports/daily?date=2020-02-02").get_data(as_text=True)
    assert '<tr data-key="out"><th>出门 People out</th><td class="n">0</td>' in other_day


@pytest.mark.parametrize("query,field", [("date=3.2.2020", "date"), ("compound_id=nope", "compound_id"),
                                         ("day=2020-02-03", "day")])
def test_daily_report_bad_parameters_name_the_field(gate, query, field):
    r = gate.hub.http.get("/reports/daily.xlsx?" + query, headers={"Accept": "application/json"})
    assert r.status_code == 400 and field in r.get_json()["fields"]


def test_csv_export_gives_coordinators_everything_and_defuses_formulas(gate, caplog):
    gate.hub_row("residents", household_id=gate.h101, name="=HYPERLINK(\"http://x\",\"点我\")", phone="+8613800001111",
                 id_number=ID_NUMBER, notes="@SUM(1)", party_member=True)
    gone = gate.hub_row("residents", household_id=gate.h101, name="已删除")
    gate.hub.api("DELETE", f"/rows/residents/{gone}")
    with caplog.at_level(logging.DEBUG):
        r = gate.hub.api("GET", "/export/residents.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="menwei-residents.csv"; filename*=UTF-8\'\'menwei-residents.csv'
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the Chinese as UTF-8
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert len(rows) == 4 and "已删除" not in text  # 张三, 李四, 王五 and the new one; no tombstones
    new = next(row for row in rows if row["id_number"])
    assert new["id_number"] == ID_NUMBER and new["phone"] == "'+8613800001111"  # full, but never a formula
    assert new["name"].startswith("'=HYPERLINK") and new["notes"] == "'@SUM(1)" and new["party_member"] == "1"
    assert ID_NUMBER not in caplog.text and "13800001111" not in caplog.text


def test_xlsx_export_keeps_formula_text_as_text_and_hides_password_hashes(gate):
    gate.hub_row("residents", household_id=gate.h101, name="=1+2", id_number=ID_NUMBER)
    gate.hub.api("POST", "/accounts", json={"username": "op-a", "password": PASSWORD, "role": "operator"})
    wb = load_workbook(io.BytesIO(gate.hub.api("GET", "/export/residents.xlsx").data))
    rows = _rows(wb.active)
    cells = {c.value: c.data_type for row in wb.active.iter_rows() for c in row}
    assert cells["=1+2"] == "s" and ID_NUMBER in [r[rows[0].index("id_number")] for r in rows]
    accounts = gate.hub.api("GET", "/export/accounts.csv").data.decode()
    assert "op-a" in accounts and "password_hash" not in accounts and "scrypt" not in accounts


def test_export_of_gate_events_by_period_and_compound_in_pages(day, monkeypatch):
    import menwei.reports.exports
    monkeypatch.setattr(menwei.reports.exports, "PAGE", 2)  # five events come out over three pages, each once
    text = day.hub.api("GET", "/export/gate_events.csv").data.decode()
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert len(rows) == 5 and len({r["id"] for r in rows}) == 5
    assert {r["decision"] for r in rows} == {"allowed", "denied"} and '"code": "fever"' not in text
    fever = next(r for r in rows if r["decision"] == "denied")
    assert '"code":"fever"' in fever["reasons"]
    cid = day.cluster.compound_id
    assert day.hub.api("GET", f"/export/gate_events.csv?compound_id={cid}&from=2020-02-04").data.decode().count("\n") == 1
    q = f"/export/gate_events.xlsx?compound_id={cid}&from=2020-02-03&to=2020-02-03"
    assert len(_rows(load_workbook(io.BytesIO(day.hub.api("GET", q).data)).active)) == 6
    orders = day.hub.api("GET", "/export/orders.csv?from=2020-02-03&to=2020-02-03").data.decode()
    assert orders.count("\n") == 2  # header and the one order of that delivery day


@pytest.mark.parametrize("path,status,field", [
    ("/export/nothing.csv", 404, None), ("/export/residents.csv?from=2020-02-03", 400, "from"),
    ("/export/gate_events.xlsx?from=soon", 400, "from"), ("/export/residents.csv?limit=5", 400, "limit"),
])
def test_bad_exports_are_refused(gate, path, status, field):
    r = gate.hub.api("GET", path)
    assert r.status_code == status and (field is None or field in r.get_json()["fields"])


def test_only_coordinators_export(gate):
    for role in ("operator", "volunteer", "viewer"):
        client, _ = _signed_in(gate.hub, role)
        for path in ("/api/v1/export/residents.csv", "/api/v1/export/residents.xlsx", "/exports"):
            assert client.get(path).status_code == 403, (role, path)
    coordinator, _ = _signed_in(gate.hub, "coordinator")
    for path in ("/api/v1/export/residents.csv", "/api/v1/export/residents.xlsx", "/exports"):
        r = coordinator.get(path)
        assert r.status_code == 200, path
        r.close()  # a streamed export keeps its request (and its caller) open until closed


def test_audit_trail_says_who_changed_what_where(gate):
    hub = gate.hub
    client, csrf = _signed_in(hub, "coordinator")
    r = client.patch(f"/api/v1/rows/residents/{gate.zhang}", json={"phone": "13900002222", "notes": "腿脚不便"},
                     headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    gate.check(resident_id=gate.zhang, direction="out", operator="值班员老李")
    gate.sync()
    trail = hub.api("GET", f"/audit?row_id={gate.zhang}").get_json()["entries"]
    assert [e["kind"] for e in trail] == ["write", "write"]
    edit, made = trail
    assert edit["actor"] == "coordinator-x" and edit["actor_known"] and edit["origin"] == "hub"
    assert edit["fields"] == ["notes", "phone"] and edit["values"]["phone"] == "139****2222"
    assert made["actor"] == "api-token" and made["values"]["name"] == "张三"
    events = hub.api("GET", "/audit?table=gate_events&origin=east-gate").get_json()["entries"]
    assert len(events) == 1 and events[0]["actor"] == "值班员老李" and not events[0]["actor_known"]
    assert events[0]["at"].startswith("2020-02-03T03:20")
    page = hub.http.get(f"/audit?row_id={gate.zhang}").get_data(as_text=True)
    assert "coordinator-x" in page and "139****2222" in page and "13900002222" not in page


def test_audit_pages_backwards_without_gaps_or_repeats(gate):
    for i in range(5):
        gate.hub.api("PATCH", f"/rows/residents/{gate.wang}", json={"notes": f"第{i}次"})
    gate.check(resident_id=gate.wang, direction="out")
    gate.sync()
    seen, before = [], None
    while True:
        r = gate.hub.api("GET", "/audit?limit=3" + (f"&before={before}" if before else "")).get_json()
        seen += [e["seq"] for e in r["entries"]]
        before = r["next_before"]
        if before is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen))
    assert len(seen) == len(gate.hub.api("GET", "/audit?limit=500").get_json()["entries"])


@pytest.mark.parametrize("query,field", [("table=people", "table"), ("limit=0", "limit"), ("limit=501", "limit"),
                                         ("before=x", "before"), ("from=nope", "from"), ("who=me", "who")])
def test_audit_bad_parameters_name_the_field(gate, query, field):
    r = gate.hub.api("GET", "/audit?" + query)
    assert r.status_code == 400 and field in r.get_json()["fields"]
