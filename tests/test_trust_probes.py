"""Issue 17's eleven probes replayed over real HTTP against a hub with two compounds and their nodes.

Compound A has east-gate and building-20; compound B has b-gate (the stolen laptop: the attacker holds its
token and signs in at it) and b-door (honest). Honest gates keep checking people in and out while the
probes run; afterwards every honest replica syncs cleanly, holds what the hub holds of its compound, and
no gate event is lost or duplicated.
"""
import base64
import io
import os
import re
import stat
import time
import uuid
import zipfile

import pytest
import requests
from openpyxl import Workbook, load_workbook

from conftest import ADMIN, PASSWORD, LiveServer, Replica
from menwei.tables import SCHEMA_VERSION
from node import create_app as create_node
from node.cli import enroll_node

HTML = b"<script>alert(document.cookie)</script>"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
FORMULA = '=HYPERLINK("http://evil.example/","x")'


class Site:
    """A replica served over loopback HTTP, with sessions signed in through its real API."""

    def __init__(self, replica):
        self.replica, self.server = replica, LiveServer(replica.app)
        self.url = self.server.url

    def session(self, username, password=PASSWORD, addr=None):
        s = requests.Session()
        r = s.post(self.url + "/api/v1/auth/login", json={"username": username, "password": password}, timeout=10)
        assert r.status_code == 200, (username, r.status_code, r.text)
        s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return s


@pytest.fixture
def world(cluster, tmp_path):
    """The hub and four nodes over HTTP, each compound with a building, households, residents and accounts."""
    hub = cluster.hub
    w = type("World", (), {})()
    w.cluster, w.hub, w.a = cluster, hub, cluster.compound_id
    w.b = hub.api("POST", "/rows/compounds", json={"name": "江北花园"}).get_json()["id"]
    w.households, w.residents = {}, {}
    for cid, tag in ((w.a, "A"), (w.b, "B")):
        bld = hub.api("POST", "/rows/buildings", json={"compound_id": cid, "number": "1"}).get_json()["id"]
        for room in ("101", "102"):
            hh = hub.api("POST", "/rows/households", json={"compound_id": cid, "building_id": bld, "room": room,
                                                            "label": f"1-{room}"}).get_json()["id"]
            w.households[tag, room] = hh
            w.residents[tag, room] = hub.api("POST", "/rows/residents", json={
                "compound_id": cid, "household_id": hh, "name": f"居民{tag}{room}",
                "phone": "13812345678", "id_number": "36050219800101001X"}).get_json()["id"]
        hub.api("POST", "/rows/control_rules", json={"compound_id": cid, "effective_from": "2020-01-01T00:00:00+00:00",
                                                     "level": "closed", "outing_quota": 1, "outing_days": 2})
    for name, role, cid in (("op-a", "operator", w.a), ("vol-a", "volunteer", w.a), ("op-b", "operator", w.b),
                            ("basket", "volunteer", w.b), ("coord-b", "coordinator", w.b), ("view-a", "viewer", w.a)):
        assert hub.api("POST", "/accounts", json={"username": name, "password": PASSWORD, "role": role,
                                                  "compound_id": cid}).status_code == 201
    for node_id in ("b-gate", "b-door"):
        code = hub.api("POST", "/nodes", json={"id": node_id, "compound_id": w.b}).get_json()["code"]
        app = create_node({"DATABASE_URL": f"sqlite:///{tmp_path}/{node_id}.db", "CLOCK": cluster.base,
                           "ADMIN_TOKEN": ADMIN, "SQLITE_SYNCHRONOUS": "NORMAL"}, instance_path=str(tmp_path / node_id))
        enroll_node(app, cluster.server.url, code)
        cluster.nodes[node_id] = Replica(app, cluster.base)
        cluster.nodes[node_id].hub = hub
    cluster.sync_all()
    w.sites = {"hub": Site(hub), **{n: Site(r) for n, r in cluster.nodes.items()}}
    w.token = cluster.nodes["b-gate"].rt.state("token")
    w.seq = cluster.nodes["b-gate"].replica.own_seq()  # the attacker goes on from the stolen laptop's numbers
    yield w
    for s in w.sites.values():
        s.server.stop()


def _push(w, changes, clock_ms=None):
    body = {"node_id": "b-gate", "schema_version": SCHEMA_VERSION, "clock_ms": clock_ms or w.hub.clock(),
            "pending": 0, "changes": changes}
    r = requests.post(w.sites["hub"].url + "/sync/v1/push", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {w.token}"})
    if r.status_code != 200:  # refused whole: the hub still expects the same numbers next
        w.seq -= len(changes)
    return r


def _forged(w, table, data, row_id=None):
    w.seq += 1
    return {"seq": w.seq, "hlc": w.hub.rt.clock.now(), "table": table, "id": row_id or str(uuid.uuid4()), "data": data}


def _honest_crossings(w, n):
    """People crossing at the honest gates of both compounds, as the probes go on: returns their event ids."""
    ids = []
    for node, tag in (("east-gate", "A"), ("b-door", "B")):
        op = w.sites[node].session(f"op-{tag.lower()}")
        for i in range(n):
            r = op.post(w.sites[node].url + "/api/v1/gate/checks", timeout=10, json={
                "resident_id": w.residents[tag, "102"], "direction": "out" if i % 2 == 0 else "in",
                "temperature": 36.6})
            assert r.status_code == 201, r.text
            ids.append(r.json()["event_id"])
    return ids


def test_the_eleven_probes_fail_and_every_honest_replica_stays_whole(world, tmp_path):
    w, hub = world, world.sites["hub"]
    events = _honest_crossings(w, 2)

    # 1. a node token mints no account; a node makes no account
    from werkzeug.security import generate_password_hash
    evil = {"compound_id": w.b, "username": "eviladmin", "role": "coordinator", "active": True,
            "password_hash": generate_password_hash(PASSWORD)}
    r = _push(w, [_forged(w, "accounts", evil)])
    assert r.status_code == 200 and [x["code"] for x in r.json()["refused"]] == ["hub_only"]
    assert requests.post(hub.url + "/api/v1/auth/login", json={"username": "eviladmin", "password": PASSWORD},
                         timeout=10).status_code == 401
    coord_b = w.sites["b-gate"].session("coord-b")
    r = coord_b.post(w.sites["b-gate"].url + "/api/v1/accounts", timeout=10,
                     json={"username": "evil2", "password": PASSWORD, "role": "coordinator"})
    assert r.status_code == 403 and r.json()["code"] == "hub_only"

    # 2. no stored script through a receipt photo, by any route
    basket = w.sites["b-gate"].session("basket")
    html = "data:text/html;base64," + base64.b64encode(HTML).decode()
    receipt = {"volunteer_id": str(uuid.uuid4()), "delivery_date": "2020-02-04", "total": 9.5, "photo": html}
    assert basket.post(w.sites["b-gate"].url + "/api/v1/rows/receipts", json=receipt, timeout=10).status_code == 400
    assert _push(w, [_forged(w, "receipts", dict(receipt, compound_id=w.b))]).status_code == 400
    ok = basket.post(w.sites["b-gate"].url + "/api/v1/rows/receipts", timeout=10,
                     json=dict(receipt, photo="data:image/png;base64," + base64.b64encode(PNG).decode()))
    assert ok.status_code == 201
    photo = basket.get(f"{w.sites['b-gate'].url}/api/v1/basket/receipts/{ok.json()['id']}/photo", timeout=10)
    assert photo.headers["Content-Type"] == "image/png" and photo.headers["X-Content-Type-Options"] == "nosniff"

    # 3. the hub keeps each account to its compound
    op_a, vol_a = hub.session("op-a"), hub.session("vol-a")
    assert op_a.get(f"{hub.url}/api/v1/rows/residents?compound_id={w.b}", timeout=10).status_code == 403
    assert {x["name"] for x in op_a.get(hub.url + "/api/v1/rows/residents", timeout=10).json()["rows"]} == \
        {"居民A101", "居民A102"}
    assert op_a.post(hub.url + "/api/v1/rows/incidents", timeout=10, json={
        "compound_id": w.b, "kind": "other", "status": "open", "title": "x"}).status_code == 403
    assert vol_a.post(hub.url + "/api/v1/rows/orders", timeout=10, json={
        "compound_id": w.b, "household_id": w.households["B", "101"], "delivery_date": "2020-02-04",
        "status": "requested"}).status_code == 403

    # 4. no reference into another compound
    card = op_a.get(f"{hub.url}/api/v1/gate/households/{w.households['A', '101']}", timeout=10).json()
    r = _push(w, [_forged(w, "gate_events", {
        "compound_id": w.b, "gate": "b-gate", "direction": "out", "decision": "allowed", "purpose": "outing",
        "at": "2020-02-03T08:00:00+00:00", "household_id": w.households["A", "101"]}),
        _forged(w, "residents", {"compound_id": w.b, "household_id": w.households["A", "101"], "name": "注入"})])
    assert r.status_code == 200 and len(r.json()["refused"]) == 2
    again = op_a.get(f"{hub.url}/api/v1/gate/households/{w.households['A', '101']}", timeout=10).json()
    assert (again["may_go_out"], again["outings_left"], [x["name"] for x in again["residents"]]) == \
        (card["may_go_out"], card["outings_left"], [x["name"] for x in card["residents"]])

    # 5. a tiny workbook claiming a huge merged area imports in seconds
    wb = Workbook()
    for row in (["楼栋", "房号", "姓名"], ["1", "103", "新住户"], ["1", "104", "新住户二"]):
        wb.active.append(row)
    raw, out = io.BytesIO(), io.BytesIO()
    wb.save(raw)
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A3:T100002"/>'
                                    b'</mergeCells>')
            dst.writestr(item, data)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    t0 = time.monotonic()
    r = requests.post(hub.url + "/api/v1/registry/import", headers=admin, data={"compound_id": w.a}, timeout=60,
                      files={"file": ("登记表.xlsx", out.getvalue())})
    assert r.status_code in (200, 400) and time.monotonic() - t0 < 5

    # 6. formulas stay text in the roster export and the basket ledger
    post = w.hub.api("POST", "/rows/posts", json={"compound_id": w.a, "name": "东门", "kind": "gate"}).get_json()["id"]
    vol = w.hub.api("POST", "/rows/volunteers", json={"compound_id": w.a, "name": FORMULA}).get_json()["id"]
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(w.hub.clock() / 1000 + 3600))
    later = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(w.hub.clock() / 1000 + 5 * 3600))
    w.hub.api("POST", "/rows/shifts", json={"compound_id": w.a, "post_id": post, "volunteer_id": vol,
                                            "starts_at": now, "ends_at": later})
    for path in ("/roster/export.xlsx", "/basket/ledger.xlsx"):
        got = requests.get(hub.url + path, headers=admin, timeout=10)
        assert got.status_code == 200
        cells = [c for ws in load_workbook(io.BytesIO(got.content)).worksheets for r in ws.iter_rows() for c in r]
        assert not [c for c in cells if c.data_type == "f"], path

    # 7 and 9. sign-in goes only to this site, and odd input is no 500
    for next_ in ("/\t/evil.example", "/\n/x"):
        s = requests.Session()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', s.get(hub.url + "/login", timeout=10).text).group(1)
        r = s.post(hub.url + "/login", allow_redirects=False, timeout=10, data={
            "csrf_token": csrf, "username": "op-a", "password": PASSWORD, "next": next_})
        assert r.status_code == 302 and r.headers["Location"] in ("/", hub.url + "/")
    for cid in ("名", 'a";x='):
        r = requests.get(hub.url + "/api/v1/export/residents.csv", params={"compound_id": cid}, headers=admin, timeout=10)
        assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["Content-Disposition"]
    r = requests.post(hub.url + "/api/v1/registry/import", headers=admin, data={"compound_id": w.a}, timeout=10,
                      files={"file": ("坏的.xlsx", b"not a zip at all")})
    assert r.status_code == 400 and "坏的.xlsx" in r.json()["error"]

    # 8. sign-out ends the session at the server
    s = hub.session("view-a")
    cookie = s.cookies.get("session")
    assert s.post(hub.url + "/api/v1/auth/logout", timeout=10).status_code == 200
    assert requests.get(hub.url + "/api/v1/auth/me", cookies={"session": cookie}, timeout=10).status_code == 401

    # 10. rate limits: enrolment codes, and a noisy address does not lock out a known user
    codes = [requests.post(hub.url + "/sync/v1/enroll", json={"code": f"ZZZZ-{i:04d}", "node_id": "x"},
                           timeout=10).status_code for i in range(60)]
    assert 429 in codes and set(codes) <= {403, 429}
    for i in range(21):
        requests.post(hub.url + "/api/v1/auth/login", json={"username": f"guess{i}", "password": "nope-nope"}, timeout=10)
    hub.session("op-a")  # signed in from this address before: still gets in

    # 11. absurd clocks are refused; files are private
    r = _push(w, [], clock_ms=2 ** 53)
    assert r.status_code == 400 and "clock_ms" in r.json()["fields"]
    if os.name == "posix":
        for node_id in w.cluster.nodes:
            assert stat.S_IMODE(os.stat(tmp_path / f"{node_id}.db").st_mode) == 0o600

    # every honest replica still syncs and holds what the hub holds of its compound; nothing was lost
    events += _honest_crossings(w, 2)
    w.cluster.sync_all(rounds=2)
    hub_events = w.hub.table("gate_events")
    assert set(events) <= set(hub_events) and len(events) == len(set(events))
    for node_id, node in w.cluster.nodes.items():
        if node_id == "b-gate":
            continue  # the stolen laptop: revoked below
        status = node.api("GET", "/sync/status").get_json()
        assert status["last_error"] is None and status["pending"] == 0 and status["parked"] == [], node_id
        cid = node.rt.compound_id
        for table in ("residents", "households", "accounts", "gate_events"):  # compound_id is each one's first field
            mine = {k: v for k, v in w.hub.table(table).items() if v[0] == cid}
            assert node.table(table) == mine, (node_id, table)
    assert requests.post(hub.url + "/api/v1/nodes/b-gate/revoke", headers=admin, timeout=10).status_code == 200
    assert _push(w, []).status_code == 403
