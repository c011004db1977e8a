"""The shopping basket's whole day in a real browser, through the pages only: from the group chat's chain
to bags at the building door and a ledger settled to zero (a volunteer on a 390×844 phone)."""
import os
import re

import pytest

from conftest import CHROMIUM, HAVE_CHROMIUM, LiveServer

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"Chromium not found at {CHROMIUM}: scripts/test.sh installs it")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright drives Chromium: pip install -e '.[test]'")
pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 reads the printed labels: pip install -e '.[test]'")
expect = sync_api.expect

DAY = "2020-02-05"
ITEMS = {"101": "白菜2斤", "102": "鸡蛋1板", "103": "西红柿3斤", "104": "大米1袋", "105": "土豆2斤 苹果3斤",
         "106": "酱油1瓶", "107": "牛奶1箱", "108": "面条2包", "109": "猪肉1斤", "1702": "青菜2斤"}


def _shot(page, name):
    """Keep a screenshot for a person to look at when MENWEI_SCREENSHOT_DIR is set."""
    if os.environ.get("MENWEI_SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["MENWEI_SCREENSHOT_DIR"], f"basket-journey-{name}.png"), full_page=True)


def _chain(edited=False):
    lines = ["#接龙 2月5日 20栋买菜，截止8点"]
    for n, (room, items) in enumerate(ITEMS.items(), 1):
        if edited and room == "103":
            items = "西红柿5斤"
        lines.append(f"{n}. 20-{room} {items}")
    return "\n".join(lines) + "\n"


def test_basket_journey_from_the_chain_to_a_settled_ledger(gate, browser, tmp_path):
    for room in list(ITEMS)[:-1]:  # 20-1702 is in the register already
        gate.hub_row("households", building_id=gate.b20, room=room, label=f"20-{room}")
    gate.sync()
    server = LiveServer(gate.east.app)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    errors, dialogs = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    charged = {}  # the test's own record: what each household was charged at the till
    try:
        gate.east.sign_in(page, server.url, "volunteer", "/basket")
        page.fill("#day", DAY)
        page.select_option("#building", "20")  # the east gate serves no building's door: the chain's is chosen

        # 1. paste the chain, review it, import it; paste again with one line edited and confirm the edit
        page.fill("#chain", _chain())
        page.click("#preview")
        expect(page.locator("#review tbody tr")).to_have_count(10)
        page.click("#import")
        expect(page.locator("#importmsg")).to_contain_text("新增 10")
        page.fill("#chain", _chain(edited=True))
        page.click("#preview")
        page.click("#import")
        expect(page.locator("#importmsg")).to_contain_text("有修改待确认 1")
        card = page.locator("#proposals .proposal-card")
        expect(card).to_have_count(1)
        expect(card).to_contain_text("西红柿 3斤 → 5斤")
        card.locator("button.confirm").click()
        expect(page.locator("#proposals")).to_have_text("—")

        # 2. the shopping list by section
        page.click("nav button[data-tab=list]")
        expect(page.locator("#shopping")).to_contain_text("西红柿 5斤")

        # 3. at the till: someone must pay; one line is out of stock although a price was typed for it
        page.click("nav button[data-tab=buy]")
        expect(page.locator("#status")).to_contain_text("还没有付款志愿者")
        page.locator(".order button.bought").first.click()
        expect(page.locator("#status")).to_contain_text("请先选择付款志愿者")
        page.fill("#add-volunteer input[name=name]", "王建国")
        page.click("#add-volunteer button")
        expect(page.locator("#payer option:checked")).to_have_text("王建国")
        _shot(page, "buy")
        price = 10
        while page.locator("#buyorders .order").count():
            order = page.locator("#buyorders .order").first
            room = order.locator("b").inner_text()
            charged[room] = 0
            for i in range(order.locator("[data-line]").count()):
                line = order.locator("[data-line]").nth(i)
                line.locator("input.price").fill(str(price))
                if room == "20-105" and "苹果" in line.inner_text():
                    line.locator("input.missing").check()  # out of stock: not charged
                else:
                    charged[room] += price
                price += 1
            order.locator("button.bought").click()
            expect(page.locator("#status")).to_contain_text(f"{room} 已买")
            expect(page.locator("#buyorders .order b", has_text=re.compile(f"^{room}$"))).to_have_count(0)
        assert len(charged) == 10

        # 4. pack every household's bags and print the labels
        page.click("nav button[data-tab=pack]")
        expect(page.locator("#packing")).to_contain_text("部分买到 partly bought")
        expect(page.locator("#packing button.packed")).to_have_count(10)
        while page.locator("#packing button.packed").count():
            n = page.locator("#packing button.packed").count()
            page.locator("#packing button.packed").first.click()
            expect(page.locator("#packing button.packed")).to_have_count(n - 1)
        with page.context.expect_page() as opened:
            page.click("#printlabels")
        sheet = opened.value
        sheet.wait_for_load_state()
        _shot(sheet, "labels")
        expect(sheet.locator(".label")).to_have_count(10)
        pdf = tmp_path / "labels.pdf"
        sheet.pdf(path=str(pdf), format="A4")
        sheet.close()
        doc = pdfium.PdfDocument(str(pdf))
        text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
        doc.close()
        assert all(room in text for room in charged), text

        # 5. the bags at the building door
        page.click("nav button[data-tab=handoff]")
        expect(page.locator("#handofflist button.delivered")).to_have_count(10)
        while page.locator("#handofflist button.delivered").count():
            n = page.locator("#handofflist button.delivered").count()
            page.locator("#handofflist button.delivered").first.click()
            expect(page.locator("#handofflist button.delivered")).to_have_count(n - 1)
        expect(page.locator("#handofflist")).to_contain_text("全部送达")

        # 6. the ledger: each household owes exactly what was bought for it; each pays the volunteer back
        page.click("nav button[data-tab=money]")
        expect(page.locator("#pairs tbody tr")).to_have_count(10)
        _shot(page, "ledger")
        owed = {}
        for i in range(10):
            cells = page.locator("#pairs tbody tr").nth(i).locator("td")
            owed[cells.nth(0).inner_text()] = float(re.sub(r"[^\d.]", "", cells.nth(2).inner_text()))
            assert cells.nth(1).inner_text() == "王建国"
        assert owed == {room: float(total) for room, total in charged.items()}
        for left in range(9, -1, -1):
            page.locator("#pairs button.repay").first.click()
            page.click("#repayment button:not([type=button])")
            expect(page.locator("#pairs button.repay")).to_have_count(left)
        expect(page.locator("#pairs")).to_contain_text("都已结清 all settled")
        expect(page.locator("#ledger")).to_contain_text("未还 ¥0")
        _shot(page, "settled")
    finally:
        page.close()
        server.stop()
    assert errors == [] and dialogs == []


def _api(node, path, body=None, status=201):
    r = node.api("POST" if body is not None else "GET", "/basket" + path, json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _packed(gate, text="#接龙 2月5日 20栋买菜\n1. 20-1702 张三 白菜2斤\n"):
    """The state the handoff starts from, set up through the API: 20-1702's order bought and packed."""
    _api(gate.east, "/chains/import", {"text": text, "building": "20", "delivery_date": DAY})
    vid = _api(gate.east, "/volunteers", {"name": "李秀英"})["id"]
    order = _api(gate.east, f"/orders?date={DAY}", status=200)["orders"][0]
    _api(gate.east, f"/orders/{order['id']}/bought", {"paid_by": vid, "lines": [
        {"id": ln["id"], "price": 5} for ln in order["lines"]]}, status=200)
    _api(gate.east, f"/orders/{order['id']}/packed", {"bags": 1}, status=200)
    return order["id"], vid


@pytest.fixture
def basket_page(gate, browser):
    """Open the east gate's basket page for a role: ``open(role)`` → the page (signed in, day chosen)."""
    server = LiveServer(gate.east.app)
    pages, errors, dialogs = [], [], []

    def open_as(role, viewport=(1366, 768)):
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        gate.east.sign_in(page, server.url, role, "/basket")
        page.fill("#day", DAY)
        pages.append(page)
        return page

    yield open_as
    for p in pages:
        p.close()
    server.stop()
    assert errors == [] and dialogs == [], (errors, dialogs)


def _order_row(gate, oid):
    return gate.east.api("GET", f"/rows/orders/{oid}").get_json()


def test_basket_journey_handoff_names_the_signed_in_volunteer_and_refuses_nobody(gate, basket_page):
    oid, _ = _packed(gate)
    page = basket_page("volunteer")
    me = f"volunteer-{gate.east.rt.replica.id}"  # the account's display name is its username
    page.click("nav button[data-tab=handoff]")
    row = page.locator("#handofflist .order").filter(has_text="20-1702")
    expect(row.locator("input.by")).to_have_value(me)
    row.locator("input.by").fill("  ")
    row.locator("button.delivered").click()
    expect(page.locator("#status")).to_contain_text("送达人 delivered by")
    expect(row.locator("input.by")).to_be_focused()
    assert _order_row(gate, oid)["status"] == "packed"  # nothing recorded, and never "物业"
    row.locator("input.by").fill(me)
    row.locator("button.delivered").click()
    expect(page.locator("#handofflist")).to_contain_text("全部送达")
    assert (_order_row(gate, oid)["status"], _order_row(gate, oid)["delivered_by"]) == ("delivered", me)


def test_a_deliverer_of_blanks_is_refused_naming_the_field(gate):
    oid, _ = _packed(gate)
    r = gate.east.api("POST", f"/basket/orders/{oid}/delivered", json={"by": "   "})
    assert r.status_code == 400 and list(r.get_json()["fields"]) == ["by"]
    assert _order_row(gate, oid)["status"] == "packed"


EDITING = ("#chain", "#preview", "#import", "#payer", "#add-volunteer", "#receipt", "#repayment", "button.confirm",
           "button.reject", "button.bought", "input.price", "input.missing", "button.packed", "input.bags",
           "button.delivered", "input.by", "button.repay")


def _visit_every_tab(page):
    """Open each tab of the basket page and return the editing controls found on any of them."""
    found = set()
    for tab in ("paste", "list", "buy", "pack", "handoff", "money", "reply"):
        page.click(f"nav button[data-tab={tab}]")
        expect(page.locator(f"section#{tab}")).to_be_visible()
        page.wait_for_load_state("networkidle")
        found |= {sel for sel in EDITING if page.locator(sel).count()}
    return found


def test_basket_journey_a_viewer_is_offered_no_editing_controls(gate, basket_page):
    _packed(gate, "#接龙 2月5日 20栋买菜\n1. 20-1702 张三 白菜2斤\n2. 20-1702 张三 更正：白菜改成3斤\n")
    _api(gate.east, "/chains/import", {"text": "1. 1-101 王五 鸡蛋1板\n", "building": "1", "delivery_date": DAY})
    # the same page for a volunteer offers every kind of control (so the viewer's check below can fail)
    volunteer = basket_page("volunteer")
    assert _visit_every_tab(volunteer) >= {"#chain", "#preview", "#payer", "button.confirm", "button.bought",
                                           "button.delivered", "button.repay", "#receipt"}
    viewer = basket_page("viewer")
    expect(viewer.locator("#proposals .proposal-card")).to_have_count(1)  # reads what waits, cannot act on it
    assert _visit_every_tab(viewer) == set()
    expect(viewer.locator("#handofflist")).to_contain_text("20-1702")
    expect(viewer.locator("#ledger")).to_contain_text("20-1702")


def _sign_in(page, url, username):
    page.goto(f"{url}/login?next=/basket")
    page.fill("#username", username)
    page.fill("#password", "menwei-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/basket")


def test_basket_journey_the_payer_is_the_signed_in_volunteer(gate, browser):
    _api(gate.east, "/chains/import", {"text": "1. 20-1702 张三 白菜2斤\n", "building": "20", "delivery_date": DAY})
    ids = {name: _api(gate.east, "/volunteers", {"name": name})["id"] for name in ("王建国", "李秀英", "赵志强")}
    r = gate.hub.api("POST", "/accounts", json={"username": "lixiuying", "password": "menwei-pass-1", "role": "volunteer",
                                                "display_name": "李秀英", "compound_id": gate.cluster.compound_id})
    assert r.status_code == 201, r.get_json()
    gate.sync()
    server = LiveServer(gate.east.app)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        _sign_in(page, server.url, "lixiuying")
        page.fill("#day", DAY)
        page.click("nav button[data-tab=buy]")
        expect(page.locator("#payer option:checked")).to_have_text("李秀英")
        order = page.locator("#buyorders .order").first
        order.locator("input.price").fill("4.5")
        order.locator("button.bought").click()
        expect(page.locator("#status")).to_contain_text("20-1702 已买")
    finally:
        page.close()
        server.stop()
    (order,) = _api(gate.east, f"/orders?date={DAY}", status=200)["orders"]
    assert (order["status"], order["paid_by"]) == ("bought", ids["李秀英"])


def test_basket_journey_the_chain_building_is_the_door_the_node_serves(cluster, browser):
    hub, door = cluster.hub, cluster.nodes["building-20"]
    cid = cluster.compound_id
    b = {n: hub.api("POST", "/rows/buildings", json={"compound_id": cid, "number": n}).get_json()["id"]
         for n in ("2", "10", "20")}
    hub.api("POST", "/rows/households", json={"compound_id": cid, "building_id": b["20"], "room": "1702",
                                               "label": "20-1702"})
    assert hub.api("POST", "/rows/posts", json={"compound_id": cid, "name": "20栋门", "kind": "building_door",
                                                "node_id": "building-20", "building_id": b["20"]}).status_code == 201
    cluster.sync_all()
    for node, building in ((door, "20"), (cluster.nodes["east-gate"], "")):
        server = LiveServer(node.app)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        try:
            node.sign_in(page, server.url, "volunteer", "/basket")
            expect(page.locator("#building")).to_have_value(building)
            assert page.locator("#building option").all_inner_texts()[1:] == ["2", "10", "20"]  # in natural order
            page.fill("#day", DAY)
            page.fill("#chain", "1. 1702 张三 白菜2斤\n")  # a room number alone: the building's
            page.click("#preview")
            if building:
                expect(page.locator("#review tbody tr td").nth(1)).to_have_text("20-1702")
            else:
                expect(page.locator("#status")).to_contain_text("楼栋 building")
                expect(page.locator("#review tbody tr")).to_have_count(0)
        finally:
            page.close()
            server.stop()


def _orders_on(gate, day, wait_for=None):
    """The rooms ordered for ``day`` (waiting up to 5 s until they are ``wait_for``: the page imports after a click)."""
    import time
    deadline = time.monotonic() + 5
    while True:
        rooms = [o["room_text"] for o in _api(gate.east, f"/orders?date={day}", status=200)["orders"]]
        if wait_for is None or rooms == wait_for or time.monotonic() > deadline:
            return rooms
        time.sleep(0.1)


def test_basket_journey_a_chain_titled_for_another_day_asks_which_day_before_importing(gate, basket_page):
    page = basket_page("volunteer", (390, 844))
    page.fill("#day", "2020-02-04")  # the chain for tomorrow, pasted today
    page.select_option("#building", "20")
    page.fill("#chain", "#接龙 2月5日 20栋买菜，截止8点\n1. 20-1702 张三 白菜2斤\n")
    page.click("#preview")
    ask = page.locator("dialog#menwei-ask")
    page.click("#import")
    expect(ask).to_be_visible()
    expect(ask).to_contain_text("2月5日")
    expect(ask).to_contain_text("2月4日")
    ask.locator("button.cancel").click()  # neither: nothing is imported
    expect(ask).to_be_hidden()
    assert _orders_on(gate, "2020-02-04") == [] and _orders_on(gate, DAY) == []
    page.click("#import")
    ask.locator("button", has_text="2月5日").click()
    expect(page.locator("#importmsg")).to_contain_text("新增 1")
    expect(page.locator("#day")).to_have_value(DAY)
    assert _orders_on(gate, DAY, ["20-1702"]) == ["20-1702"] and _orders_on(gate, "2020-02-04") == []
    # the same chain for the page's day, chosen in the dialog; a title naming the page's day asks nothing
    page.fill("#day", "2020-02-06")
    page.click("#import")
    ask.locator("button", has_text="2月6日").click()
    expect(page.locator("#importmsg")).to_contain_text("新增 1")
    assert _orders_on(gate, "2020-02-06", ["20-1702"]) == ["20-1702"]
    page.fill("#chain", "#接龙 2月7日 20栋买菜\n1. 20-1702 张三 鸡蛋1板\n")
    page.fill("#day", "2020-02-07")
    page.click("#import")
    assert _orders_on(gate, "2020-02-07", ["20-1702"]) == ["20-1702"]
    expect(ask).to_be_hidden()


def test_basket_journey_a_volunteer_deactivated_is_not_offered_and_the_ledger_keeps_the_name(gate, basket_page):
    oid, vid = _packed(gate)  # 李秀英 paid for 20-1702's order
    _api(gate.east, "/chains/import", {"text": "1. 1-101 王五 鸡蛋1板\n", "building": "1", "delivery_date": DAY})
    _api(gate.east, "/volunteers", {"name": "王建国"})
    page = basket_page("volunteer", (390, 844))
    page.click("nav button[data-tab=buy]")
    expect(page.locator("#payer option")).to_have_text(["— 选择 choose —", "李秀英", "王建国"])
    page.locator("#team summary").click()
    li = page.locator("#teamlist li").filter(has_text="李秀英")
    li.locator("button.deactivate").click()
    ask = page.locator("dialog#menwei-ask")
    expect(ask).to_contain_text("李秀英")
    ask.locator("button.cancel").click()  # asked first: not yet
    expect(page.locator("#payer option")).to_have_count(3)
    li.locator("button.deactivate").click()
    ask.locator("button.danger").click()
    expect(li.locator("button.reactivate")).to_be_visible()
    expect(page.locator("#payer option")).to_have_text(["— 选择 choose —", "王建国"])
    page.click("nav button[data-tab=handoff]")
    expect(page.locator("#team-names option")).to_have_count(1)
    assert page.locator("#team-names option").get_attribute("value") == "王建国"
    page.click("nav button[data-tab=money]")
    expect(page.locator("#receipt select option")).to_have_text(["— 选择 choose —", "王建国"])
    expect(page.locator("#pairs")).to_contain_text("李秀英")  # history keeps the name
    assert gate.east.api("GET", f"/rows/volunteers/{vid}").get_json()["inactive"] is True
    # the till refuses a deactivated payer by name, then takes them again once reactivated
    order = next(o for o in _api(gate.east, f"/orders?date={DAY}", status=200)["orders"] if o["status"] == "requested")
    lines = [{"id": ln["id"], "price": 3} for ln in order["lines"]]
    r = gate.east.api("POST", f"/basket/orders/{order['id']}/bought", json={"paid_by": vid, "lines": lines})
    assert r.status_code == 400 and list(r.get_json()["fields"]) == ["paid_by"]
    page.click("nav button[data-tab=buy]")  # the team list is still open
    page.locator("#teamlist li").filter(has_text="李秀英").locator("button.reactivate").click()
    expect(page.locator("#payer option")).to_have_text(["— 选择 choose —", "李秀英", "王建国"])
    assert gate.east.api("GET", f"/rows/volunteers/{vid}").get_json()["inactive"] is False
    _api(gate.east, f"/orders/{order['id']}/bought", {"paid_by": vid, "lines": lines}, status=200)


def test_basket_journey_the_ledger_names_the_rooms_not_in_the_register(gate, basket_page):
    chain = "#接龙 2月5日\n1. 20-9998 路人甲 可乐1瓶\n2. 20-9999 路人乙 雪碧1瓶\n3. 20-1702 张三 白菜2斤\n"
    _api(gate.east, "/chains/import", {"text": chain, "building": "20", "delivery_date": DAY})
    vid = _api(gate.east, "/volunteers", {"name": "李秀英"})["id"]
    price = {"20-9998": 3.0, "20-9999": 4.0, "20-1702": 5.0}
    for o in _api(gate.east, f"/orders?date={DAY}", status=200)["orders"]:
        _api(gate.east, f"/orders/{o['id']}/bought", {"paid_by": vid, "lines": [
            {"id": ln["id"], "price": price[o["room_text"]] if i == 0 else 0} for i, ln in enumerate(o["lines"])]},
            status=200)
    led = _api(gate.east, "/ledger", status=200)
    assert sorted((p["room"], p["owes"], p["household_id"] is None) for p in led["pairs"]) == [
        ("20-1702", 5.0, False), ("20-9998", 3.0, True), ("20-9999", 4.0, True)]
    assert led["total_owed"] == led["total_outstanding"] == 12.0
    page = basket_page("volunteer")
    page.click("nav button[data-tab=money]")
    rows = page.locator("#pairs tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("20-9998")
    expect(rows.nth(1)).to_contain_text("未登记")
    expect(rows.nth(2)).to_contain_text("20-9999")
    expect(rows.filter(has_text="20-1702").locator("button.repay")).to_have_count(1)
    expect(rows.filter(has_text="未登记").locator("button.repay")).to_have_count(0)  # no household to record it on
