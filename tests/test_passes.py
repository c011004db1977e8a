"""Passes: issued with short codes, a building's in one go, revoked everywhere, printed as QR cards."""
import re

import pytest

from conftest import PASSWORD


def _issue(node, **body):
    r = node.api("POST", "/gate/passes", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_issued_pass_has_a_short_readable_code_and_lets_the_household_out(gate):
    p = _issue(gate.east, kind="outing", household_id=gate.h1702)
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", p["code"])
    answer = gate.check(code=p["code"].lower(), direction="out")
    assert answer["allowed"] and answer["person"]["room"] == "20-1702"


def test_visitor_pass_expires_after_its_hours(gate):
    p = _issue(gate.east, kind="visitor", holder_name="维修工何师傅", reason="锁地下车库门", valid_hours=2,
               household_id=gate.h1702)
    assert gate.check(code=p["code"], direction="in")["allowed"]
    gate.cluster.base.advance(2 * 3_600_000 + 1000)
    assert [r["code"] for r in gate.check(code=p["code"], direction="out")["reasons"]] == ["pass_expired"]


def test_pass_revoked_at_the_hub_is_refused_at_the_gate_after_its_next_pull(gate):
    p = _issue(gate.hub, kind="outing", household_id=gate.h1702)
    gate.sync()
    r = gate.hub.api("POST", f"/gate/passes/{p['id']}/revoke", json={"reason": "家属确诊"})
    assert r.status_code == 200
    gate.sync()
    reasons = gate.check(code=p["code"], direction="out")["reasons"]
    assert reasons[0]["code"] == "pass_revoked" and "家属确诊" in reasons[0]["message"]


def test_a_whole_building_gets_one_pass_per_household_once(gate):
    gate.hub_row("households", building_id=gate.b20, room="1701", label="20-1701")
    first = gate.east.api("POST", "/gate/passes/batch", json={"building_id": gate.b20}).get_json()
    assert [p["household_id"] for p in first["issued"]] == [gate.h1702]  # 20-1701 not pulled yet
    gate.sync()
    second = gate.east.api("POST", "/gate/passes/batch", json={"building_id": gate.b20}).get_json()
    assert [p["household_id"] for p in second["issued"]] == [_hid(gate, "20-1701")] and second["skipped"] == 1
    again = gate.east.api("POST", "/gate/passes/batch", json={"building_id": gate.b20}).get_json()
    assert again["issued"] == [] and again["skipped"] == 2


def _hid(gate, label):
    return gate.east.api("GET", f"/rows/households?label={label}").get_json()["rows"][0]["id"]


def test_print_sheet_has_a_qr_card_per_pass(gate):
    gate.east.api("POST", "/gate/passes/batch", json={"building_id": gate.b20})
    _issue(gate.east, kind="work", resident_id=gate.zhang, employer="新余市人民医院")
    page = gate.east.http.get(f"/passes/print?building_id={gate.b20}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="card') == 2 and html.count("<svg") == 2
    assert "20-1702" in html and "工作通行证" in html and "新余市人民医院" in html
    assert "http" not in html.split("<body>")[1]  # nothing fetched from anywhere


@pytest.mark.parametrize("body, field", [
    ({"kind": "visitor", "valid_hours": 2}, "holder_name"),
    ({"kind": "visitor", "holder_name": "x", "reason": "y"}, "valid_hours"),
    ({"kind": "work", "household_id": "h"}, "employer"),
    ({"kind": "vehicle"}, "vehicle_id"),
    ({"kind": "outing"}, "household_id"),
    ({"kind": "boat", "household_id": "h"}, "kind"),
    ({"kind": "outing", "household_id": "h", "valid_until": "next tuesday"}, "valid_until"),
])
def test_bad_pass_request_gets_400_naming_the_field(gate, body, field):
    r = gate.east.api("POST", "/gate/passes", json=body)
    assert r.status_code == 400 and field in r.get_json()["fields"]


def test_pass_for_unknown_household_gets_404(gate):
    assert gate.east.api("POST", "/gate/passes", json={"kind": "outing", "household_id": "nope"}).status_code == 404


def test_pass_printing_needs_a_coordinator(gate):
    anonymous = gate.hub.app.test_client()
    r = anonymous.get(f"/passes/print?building_id={gate.b20}")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    r = anonymous.get(f"/passes/print?building_id={gate.b20}", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert gate.hub.api("POST", "/gate/passes/batch", json={"building_id": gate.b20}).status_code == 201
    for role in ("operator", "volunteer", "viewer", "coordinator"):
        made = gate.hub.api("POST", "/accounts", json={"username": f"{role}-p", "password": PASSWORD, "role": role})
        assert made.status_code == 201, made.get_json()
        client = gate.hub.app.test_client()
        assert client.post("/api/v1/auth/login", json={"username": f"{role}-p", "password": PASSWORD}).status_code == 200
        sheet = client.get(f"/passes/print?building_id={gate.b20}")
        assert sheet.status_code == (200 if role == "coordinator" else 403), role
