"""The desk registers a person missing from the register, and its household card reflects a fever."""
import pytest

from menwei.gate.desk import REGISTERED_AT_GATE


def _live(node, table):
    t = node.rt.catalog[table]
    return [dict(zip(t.field_names, r)) for r in node.table(table).values() if not r[-1]]


def test_registering_a_person_in_a_known_room_adds_a_flagged_resident_only(gate):
    households = gate.east.table("households")
    r = gate.east.api("POST", "/gate/register", json={"room": "20栋1702", "name": "张小三", "phone": "13900001111"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["household_id"] == gate.h1702 and body["new_household"] is False and body["label"] == "20-1702"
    added = [p for p in _live(gate.east, "residents") if p["name"] == "张小三"]
    assert len(added) == 1 and added[0]["household_id"] == gate.h1702
    assert added[0]["notes"].startswith(REGISTERED_AT_GATE)
    assert gate.east.table("households") == households  # no household added or changed
    card = gate.east.api("GET", f"/gate/households/{gate.h1702}").get_json()
    assert "张小三" in [p["name"] for p in card["residents"]]


def test_registering_a_person_in_an_unknown_room_of_a_known_building_adds_the_household_too(gate):
    r = gate.east.api("POST", "/gate/register", json={"room": "20-999", "name": "新住户"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["new_household"] is True
    hh = [h for h in _live(gate.east, "households") if h["label"] == "20-999"]
    assert len(hh) == 1 and hh[0]["building_id"] == gate.b20 and hh[0]["notes"].startswith(REGISTERED_AT_GATE)
    check = gate.check(resident_id=body["resident_id"], direction="out")
    assert check["person"]["room"] == "20-999"


@pytest.mark.parametrize("body, field, status", [
    ({"room": "no room", "name": "某人"}, "room", 400),
    ({"room": "99-101", "name": "某人"}, "room", 404),  # no building 99: a gate adds people, not buildings
    ({"room": "20-1702", "name": ""}, "name", 400),
    ({"room": "20-1702", "name": "某人", "phone": "call me"}, "phone", 400),
    ({"room": "20-1702"}, "name", 400),
])
def test_a_bad_registration_names_the_field_and_writes_nothing(gate, body, field, status):
    before = (len(gate.east.table("households")), len(gate.east.table("residents")))
    r = gate.east.api("POST", "/gate/register", json=body)
    assert r.status_code == status and field in r.get_json()["fields"], r.get_json()
    assert (len(gate.east.table("households")), len(gate.east.table("residents"))) == before


def test_the_household_card_stops_offering_an_outing_after_a_members_fever(gate):
    assert gate.east.api("GET", f"/gate/households/{gate.h1702}").get_json()["may_go_out"] is True
    gate.check(resident_id=gate.li, direction="out", temperature=38.4)
    card = gate.east.api("GET", f"/gate/households/{gate.h1702}").get_json()
    assert card["may_go_out"] is False and len(card["fevers"]) == 1
    gate.east.api("PATCH", f"/rows/incidents/{card['fevers'][0]['id']}", json={"status": "closed"})
    assert gate.east.api("GET", f"/gate/households/{gate.h1702}").get_json()["may_go_out"] is True


def test_a_fever_alert_names_the_person_the_temperature_and_the_room(gate):
    gate.check(resident_id=gate.li, direction="in", temperature=38.4)
    [alert] = gate.east.api("GET", "/gate/alerts").get_json()["alerts"]
    assert (alert["person_name"], alert["temperature"], alert["room"], alert["gate"]) == ("李四", 38.4, "20-1702", "east-gate")


@pytest.mark.parametrize("role, lands", [("volunteer", "/basket"), ("viewer", "/dashboard"), ("operator", "/")])
def test_signing_in_at_a_node_lands_each_role_on_its_own_page(gate, role, lands):
    """A volunteer or viewer who signs in at a gate laptop is not left on a refusal of the desk."""
    from conftest import PASSWORD
    east = gate.east
    username = f"{role}-landing"
    assert gate.hub.api("POST", "/accounts", json={"username": username, "password": PASSWORD, "role": role}).status_code == 201
    gate.sync()
    browser = east.app.test_client()
    r = browser.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                     "csrf_token": _login_csrf(browser)})
    assert r.status_code in (302, 303)
    r = browser.get(r.headers["Location"], follow_redirects=True)
    assert r.status_code == 200 and r.request.path == lands


def _login_csrf(browser):
    import re
    page = browser.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
