"""The desk journey by keyboard alone, in a real headless Chromium: ten decisions, keystrokes counted.

Every action goes through the page (no API call of the test's own); what was recorded is read back from
the gate's database afterwards.
"""
import pytest

from conftest import CHROMIUM, HAVE_CHROMIUM, LiveServer

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"Chromium not found at {CHROMIUM}: scripts/test.sh installs it")


class Keyboard:
    """Presses keys on a page one by one and counts them (a chord such as Alt+3 is one keystroke)."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def type(self, text):
        """Type ``text`` a key at a time."""
        for ch in text:
            self.page.keyboard.type(ch)
            self.count += 1

    def press(self, *keys):
        """Press each key (or chord) once."""
        for k in keys:
            self.page.keyboard.press(k)
            self.count += 1

    def taken(self):
        """The keystrokes since the last call."""
        n, self.count = self.count, 0
        return n


@pytest.fixture
def compound(cluster):
    """A closed compound (one outing per household every two days): 1-101 王五; 1-102 孙丽婷;
    3-502 沈亮涛, 李雪芳, 沈思轩. ``slt`` finds 孙丽婷 first and 沈亮涛 second."""
    from menwei.times import iso
    hub, east = cluster.hub, cluster.nodes["east-gate"]

    def row(table, **data):
        r = hub.api("POST", f"/rows/{table}", json={"compound_id": cluster.compound_id, **data})
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    b1, b3 = row("buildings", number="1"), row("buildings", number="3")
    h101 = row("households", building_id=b1, room="101", label="1-101")
    h102 = row("households", building_id=b1, room="102", label="1-102")
    h502 = row("households", building_id=b3, room="502", label="3-502")
    row("residents", household_id=h101, name="王五")
    row("residents", household_id=h102, name="孙丽婷")
    for name in ("沈亮涛", "李雪芳", "沈思轩"):
        row("residents", household_id=h502, name=name)
    row("control_rules", effective_from=iso(cluster.base()), level="closed", outing_quota=1, outing_days=2)
    east.sync()
    return east


@pytest.fixture
def desk(compound, browser):
    """The east gate's desk at 1366×768, signed in as an operator, focus in the search box."""
    server = LiveServer(compound.app)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    compound.sign_in(page, server.url, "operator")
    page.evaluate("localStorage.setItem('menwei.lang', 'zh')")
    page.reload()
    expect(page.locator("#q")).to_be_focused()
    page.east = compound
    yield page
    page.close()
    server.stop()
    assert errors == [], errors


def _focused(page, element_id):
    # not wait_for_function: it evaluates a string in the page, which the pages' CSP (no 'unsafe-eval') refuses
    expect(page.locator(f"#{element_id}")).to_be_focused()


def _find(page, keys, text, *then):
    """Type a search and the keys that choose a result, then wait until the desk asks for the temperature."""
    keys.type(text)
    keys.press(*then, "Enter") if then else keys.press("Enter")
    _focused(page, "temp")


def _submit(page, keys, temperature):
    """Type the temperature, press Enter, and return the verdict once the desk is ready for the next person."""
    keys.type(temperature)
    keys.press("Enter")
    _focused(page, "q")
    expect(page.locator("#verdict")).to_be_visible()
    return page.locator("#verdict")


def test_desk_journey_ten_decisions_by_keyboard_alone(desk):
    keys, taken = Keyboard(desk), {}

    # 1. A room, a temperature, Enter: the household goes out.
    _find(desk, keys, "1-101")
    verdict = _submit(desk, keys, "36.6")
    expect(verdict).to_have_class("verdict allowed")
    expect(verdict).to_contain_text("出")
    taken["room"] = keys.taken()

    # 2. Initials with two matches: ArrowDown highlights the second and Enter takes it, not the first.
    keys.type("slt")
    expect(desk.locator("#results li[data-i]")).to_have_count(2)
    second = desk.locator("#results li[data-i='1'] b").inner_text()
    keys.press("ArrowDown")
    expect(desk.locator("#results li.sel")).to_contain_text(second)
    keys.press("Enter")
    _focused(desk, "temp")
    expect(desk.locator("#subject")).to_contain_text(second)
    expect(_submit(desk, keys, "36.5")).to_contain_text(second)
    taken["second result"] = keys.taken()

    # 3. The third member of a household by Alt+3: denied, the household has used its outing.
    _find(desk, keys, "3-502")
    expect(desk.locator("#card .status")).to_contain_text("今天不可外出")
    keys.press("Alt+3")
    expect(desk.locator("#subject")).to_contain_text("沈思轩")
    verdict = _submit(desk, keys, "36.4")
    expect(verdict).to_contain_text("沈思轩")
    expect(verdict.locator("li[data-code=quota_used]")).to_have_count(1)
    taken["third member"] = keys.taken()

    # 4. The same household as 1 again: its outing is used.
    _find(desk, keys, "1-101")
    expect(_submit(desk, keys, "36.7").locator("li[data-code=quota_used]")).to_have_count(1)
    taken["room again"] = keys.taken()

    # 5. Coming back in (Alt+I): shown large, repeated in the verdict, then back to "out".
    keys.press("Alt+i")
    expect(desk.locator("#dirshow")).to_have_class("dirshow in")
    expect(desk.locator("#dirshow")).to_contain_text("进")
    _find(desk, keys, "1-101")
    verdict = _submit(desk, keys, "36.5")
    expect(verdict).to_have_class("verdict allowed")
    expect(verdict.locator(".vdir")).to_contain_text("进")
    expect(desk.locator("#dirshow")).to_have_class("dirshow out")
    taken["coming in"] = keys.taken()

    # 6. A fever: denied, the alert stands, and the household card stops saying "may go out".
    _find(desk, keys, "1-102")
    expect(desk.locator("#card .status")).to_contain_text("今天可外出")
    expect(_submit(desk, keys, "38.6").locator("li[data-code=fever]")).to_have_count(1)
    expect(desk.locator("#alerts")).to_contain_text("1-102 · 38.6 °C")
    taken["fever"] = keys.taken()
    _find(desk, keys, "1-102")
    expect(desk.locator("#card .status")).to_have_class("status no")
    expect(desk.locator("#card .status")).not_to_contain_text("今天可外出")
    keys.press("Escape")  # not this one after all: back to the search box, its text selected
    _focused(desk, "q")
    keys.taken()

    # 7. An impossible temperature is a hint at the field, not a verdict; the corrected one decides.
    _find(desk, keys, "3-502")
    keys.press("Alt+2")
    expect(desk.locator("#subject")).to_contain_text("李雪芳")
    keys.type("365")
    keys.press("Enter")
    expect(desk.locator("#temp_msg")).to_contain_text("36.5")
    expect(desk.locator("#verdict")).to_be_hidden()
    expect(desk.locator("#temp")).to_be_focused()
    verdict = _submit(desk, keys, "36.5")  # the typo is selected: typing replaces it
    expect(verdict).to_contain_text("李雪芳")
    taken["typo corrected"] = keys.taken()

    # 8. A delivery worker, registered in the visitor form with Enter.
    keys.press("Alt+v")
    _focused(desk, "v_name")
    keys.type("Liu")
    keys.press("Tab", "Tab", "Tab")
    keys.type("parcel")
    keys.press("Enter")
    _focused(desk, "temp")
    expect(desk.locator("#subject")).to_contain_text("Liu")
    expect(_submit(desk, keys, "36.3").locator("li[data-code=unknown_person]")).to_have_count(1)
    taken["visitor"] = keys.taken()

    # 9. Denied on the volunteer's own judgement, the reason typed in the page's dialog.
    _find(desk, keys, "1-101")
    keys.type("36.5")
    keys.press("Alt+d")
    _focused(desk, "deny_reason")
    keys.type("no mask")
    keys.press("Enter")
    _focused(desk, "q")
    expect(desk.locator("#verdict li[data-code=operator]")).to_contain_text("no mask")
    taken["own judgement"] = keys.taken()

    # 10. Direction locked to "in": it stays for the next person.
    keys.press("Alt+i", "Alt+l")
    expect(desk.locator("#dirshow")).to_contain_text("已锁定")
    _find(desk, keys, "slt")  # Enter takes the first result, 孙丽婷
    verdict = _submit(desk, keys, "36.6")
    expect(verdict).to_contain_text("孙丽婷")
    expect(verdict).to_have_class("verdict allowed")
    expect(desk.locator("#dirshow")).to_have_class("dirshow in")
    taken["locked in"] = keys.taken()

    # The fever alert, acknowledged at the desk with a note.
    keys.press("Shift+Tab")
    expect(desk.locator("#alerts button.ack")).to_be_focused()
    keys.press("Enter")
    _focused(desk, "ack_note")
    keys.type("doctor called")
    keys.press("Enter")
    expect(desk.locator("#alerts .alert")).to_have_count(0)

    for what in ("room", "room again", "fever", "second result", "third member", "coming in"):
        assert taken[what] <= 12, (what, taken)
    assert taken == {"room": 11, "second result": 10, "third member": 12, "room again": 11, "coming in": 12,
                     "fever": 11, "typo corrected": 16, "visitor": 19, "own judgement": 19, "locked in": 11}, taken

    events = sorted(desk.east.table("gate_events").values(), key=lambda e: e[0])
    east = desk.east.rt.catalog["gate_events"]
    names = list(east.field_names)
    rows = [dict(zip(names, e)) for e in events]
    rows.sort(key=lambda e: e["at"])
    assert [(e["person_name"], e["direction"], e["decision"]) for e in rows] == [
        ("1-101", "out", "allowed"), (second, "out", "allowed"), ("沈思轩", "out", "denied"),
        ("1-101", "out", "denied"), ("1-101", "in", "allowed"), ("1-102", "out", "denied"),
        ("李雪芳", "out", "denied"), ("Liu", "out", "denied"), ("1-101", "out", "denied"), ("孙丽婷", "in", "allowed")]
    incidents = [dict(zip(desk.east.rt.catalog["incidents"].field_names, r)) for r in desk.east.table("incidents").values()]
    assert [(i["status"], i["notes"].split(" (")[0]) for i in incidents] == [("investigating", "doctor called")]


def test_desk_journey_members_reached_with_tab_and_picked_with_a_digit(desk):
    keys = Keyboard(desk)
    _find(desk, keys, "3-502")
    keys.press("Escape", "Tab")  # back to the search box, then on to the household's first member
    expect(desk.locator("#card button.pick").first).to_be_focused()
    keys.press("2")
    _focused(desk, "temp")
    expect(desk.locator("#subject")).to_contain_text("李雪芳")
    expect(desk.locator("#card button.pick.chosen")).to_contain_text("李雪芳")


SEED_ROOMS = ("504", "1401", "1404", "1702")  # the rooms of building 20 the seed's story names


@pytest.fixture
def door(cluster, browser):
    """Building 20's door (node building-20, post 20栋门 naming building 20) at 1366×768, an operator signed in.
    Building 3 has a 1702 too: a room number alone must mean this building's."""
    hub, node = cluster.hub, cluster.nodes["building-20"]

    def row(table, **data):
        r = hub.api("POST", f"/rows/{table}", json={"compound_id": cluster.compound_id, **data})
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    b3, b20 = row("buildings", number="3"), row("buildings", number="20")
    row("households", building_id=b3, room="1702", label="3-1702")
    homes = {room: row("households", building_id=b20, room=room, label=f"20-{room}") for room in SEED_ROOMS}
    row("posts", name="20栋门", kind="building_door", node_id="building-20", building_id=b20)
    node.sync()
    server = LiveServer(node.app)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    node.sign_in(page, server.url, "operator")
    expect(page.locator("#q")).to_be_focused()
    page.node, page.homes = node, homes
    yield page
    page.close()
    server.stop()
    assert errors == [], errors


def test_desk_journey_at_a_building_door_takes_the_building_as_given(door):
    keys, taken = Keyboard(door), {}
    for room in SEED_ROOMS:
        _find(door, keys, room)  # the room number alone, then Enter
        expect(door.locator("#subject")).to_contain_text(f"20-{room}")
        expect(_submit(door, keys, "36.5")).to_contain_text(f"20-{room}")
        taken[room] = keys.taken()
    assert taken == {"504": 9, "1401": 10, "1404": 10, "1702": 10}, taken  # room + temperature + Enter ≤ 12
    names = door.node.rt.catalog["gate_events"].field_names
    events = [dict(zip(names, e)) for e in door.node.table("gate_events").values()]
    assert sorted((e["gate"], e["household_id"]) for e in events) == sorted(
        ("building-20", door.homes[room]) for room in SEED_ROOMS)
