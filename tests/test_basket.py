"""The shopping basket: chain import and review, merged shopping list, buying, packing, money, handoff."""
from hypothesis import given, strategies as st

from menwei.basket.shopping import ledger, merge_quantities, section_of

DAY = "2020-02-05"
CHAIN = """#接龙 2月5日 20栋买菜
1. 20-1702 张三 白菜2斤 鸡蛋1板 酱油一瓶 有的话带点姜
2. 1-101 王五 白菜3斤 鸡蛋6个 排骨500克
3. 20-9999 路人甲 可乐1瓶
"""


def _post(node, path, body, status=201):
    r = node.api("POST", "/basket" + path, json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _import(node, text=CHAIN, building="20"):
    return _post(node, "/chains/import", {"text": text, "building": building, "delivery_date": DAY})


def _orders(node):
    return {o["room_text"]: o for o in node.api("GET", f"/basket/orders?date={DAY}").get_json()["orders"]}


def test_preview_reads_the_chain_flags_unknown_rooms_and_writes_nothing(gate):
    lines = _post(gate.east, "/chains/preview", {"text": CHAIN, "building": "20", "delivery_date": DAY}, 200)["lines"]
    assert [(ln["room"], ln["state"], bool(ln["household_id"])) for ln in lines] == [
        ("20-1702", "new", True), ("1-101", "new", True), ("20-9999", "new", False)]
    assert lines[0]["notes"] == ["有的话带点姜"] and lines[2]["flags"] == ["unknown room 20-9999"]
    assert _orders(gate.east) == {}


def test_pasting_again_adds_only_new_lines_and_an_edited_line_waits_for_confirmation(gate):
    assert _import(gate.east) == {"created": 3, "unchanged": 0, "changed": 0, "flagged": 2}
    # the chain as reposted: a new neighbour joined, 王五 edited their line, 张三's line renumbered only
    more = CHAIN.replace("王五 白菜3斤", "王五 白菜4斤").replace("1. 20-1702", "1、 20-1702") + \
        "4. 20-1703 赵六 面条2包\n"
    again = _import(gate.east, more)
    assert again == {"created": 1, "unchanged": 2, "changed": 1, "flagged": 1}
    o = _orders(gate.east)["1-101"]
    assert "白菜4斤" in o["pending_line"] and [ln["quantity"] for ln in o["lines"]][0] == 3
    assert _post(gate.east, f"/orders/{o['id']}/confirm-change", {}, 200)["lines"][0]["quantity"] == 4
    o = _orders(gate.east)["1-101"]
    assert o["pending_line"] is None and [(ln["item"], ln["quantity"]) for ln in o["lines"]][0] == ("白菜", 4)


def test_shopping_list_merges_quantities_across_orders_and_units(gate):
    _import(gate.east)
    sections = gate.east.api("GET", f"/basket/shopping-list?date={DAY}").get_json()["sections"]
    items = {i["item"]: i for s in sections.values() for i in s}
    assert items["白菜"]["amounts"] == [[5, "斤"]] and items["白菜"]["households"] == ["1-101", "20-1702"]
    assert sorted(map(tuple, items["鸡蛋"]["amounts"])) == [(1, "板"), (6, "个")]  # cannot be added
    assert "蔬菜 vegetables" in sections and "白菜" in [i["item"] for i in sections["蔬菜 vegetables"]]


def test_units_that_are_weights_add_up_in_jin_and_others_stay_apart():
    assert merge_quantities([(2, "斤"), (500, "克"), (1, "公斤")]) == [(5, "斤")]
    assert merge_quantities([(1, "板"), (6, "个"), (None, None)]) == [(1, "板"), (6, "个"), (None, "1×适量")]
    assert section_of("五花肉") == "肉蛋禽 meat & eggs" and section_of("酱油") == "调料 seasoning"


def _volunteer(gate, name="张青青"):
    return gate.hub_row("volunteers", name=name, organisation="区委宣传部")


def test_buy_pack_deliver_and_the_handoff_list(gate):
    vol = _volunteer(gate)
    gate.sync()
    _import(gate.east)
    o = _orders(gate.east)["20-1702"]
    lines = [{"id": ln["id"], "bought_quantity": ln["quantity"], "price": p} for ln, p in zip(o["lines"], (6.0, 12.5))]
    lines.append({"id": o["lines"][2]["id"], "missing": True})
    assert _post(gate.east, f"/orders/{o['id']}/bought", {"paid_by": vol, "lines": lines}, 200)["status"] == \
        "partly_bought"
    packing = gate.east.api("GET", f"/basket/packing?date={DAY}").get_json()["orders"]
    assert [(p["label"], p["total"], p["missing"]) for p in packing] == [("20-1702", 18.5, "酱油")]
    _post(gate.east, f"/orders/{o['id']}/packed", {"bags": 2}, 200)
    _post(gate.east, f"/orders/{o['id']}/at-building", {}, 200)
    assert [h["label"] for h in gate.east.api("GET", f"/basket/handoff?date={DAY}").get_json()["orders"]] == ["20-1702"]
    _post(gate.east, f"/orders/{o['id']}/delivered", {"by": "物业小刘"}, 200)
    assert gate.east.api("GET", f"/basket/handoff?date={DAY}").get_json()["orders"] == []
    assert _orders(gate.east)["20-1702"]["delivered_by"] == "物业小刘"
    assert gate.east.api("POST", f"/basket/orders/{o['id']}/packed", json={}).status_code == 409


def test_ledger_shows_who_owes_whom_and_its_totals_agree(gate):
    a, b = _volunteer(gate, "张青青"), _volunteer(gate, "晏小莉")
    gate.sync()
    _import(gate.east)
    orders = _orders(gate.east)
    for room, vol, price in (("20-1702", a, 20.0), ("1-101", b, 35.5)):
        o = orders[room]
        _post(gate.east, f"/orders/{o['id']}/bought", {"paid_by": vol, "lines": [
            {"id": o["lines"][0]["id"], "price": price}]}, 200)
    _post(gate.east, "/receipts", {"volunteer_id": a, "delivery_date": DAY, "amount": 25.0})
    _post(gate.east, "/repayments", {"volunteer_id": b, "household_id": gate.h101, "amount": 30.0,
                                     "received_by": "晏小莉"})
    led = gate.east.api("GET", "/basket/ledger").get_json()
    owes = {h["room"]: h["owes"] for h in led["households"]}
    vols = {v["name"]: v for v in led["volunteers"]}
    assert owes == {"20-1702": 20.0, "1-101": 5.5}
    assert (vols["张青青"]["advanced"], vols["张青青"]["unallocated"]) == (20.0, 5.0)
    assert (vols["晏小莉"]["repaid"], vols["晏小莉"]["outstanding"]) == (30.0, 5.5)
    assert led["total_owed"] == led["total_outstanding"] == 25.5
    xlsx = gate.east.http.get("/basket/ledger.xlsx")
    from io import BytesIO
    from openpyxl import load_workbook
    ws = load_workbook(BytesIO(xlsx.data))["住户 households"]
    assert ("1-101", 5.5) in list(ws.iter_rows(values_only=True))


money = st.floats(0.01, 500, allow_nan=False).map(lambda x: round(x, 2))
party = st.tuples(st.sampled_from("ABCD"), st.sampled_from("xyz"), money)


@given(st.lists(party, max_size=40), st.lists(party, max_size=20))
def test_ledger_always_reconciles(charges, repayments):
    led = ledger(charges, repayments)
    eps = 1e-6
    assert abs(sum(led["households"].values()) - sum(v["outstanding"] for v in led["volunteers"].values())) < eps
    for v, d in led["volunteers"].items():
        owed_to_v = sum(x for (h, w), x in led["pairs"].items() if w == v)
        assert abs(owed_to_v - (d["advanced"] - d["repaid"])) < eps
    for h, owed in led["households"].items():
        assert abs(owed - (sum(c[2] for c in charges if c[0] == h) - sum(r[2] for r in repayments if r[0] == h))) < eps


def test_same_order_edited_at_two_offline_nodes_converges_with_the_clash_logged(gate):
    b20 = gate.cluster.nodes["building-20"]
    _import(gate.hub)
    gate.cluster.sync_all(rounds=1)
    oid = _orders(gate.east)["20-1702"]["id"]
    gate.east.api("PATCH", f"/rows/orders/{oid}", json={"notes": "东门：不要姜了"})
    gate.cluster.base.advance(30_000)
    b20.api("PATCH", f"/rows/orders/{oid}", json={"notes": "20栋：姜要两块", "bags": 2})
    gate.cluster.sync_all()
    seen = {(n.api("GET", f"/rows/orders/{oid}").get_json()["notes"], n.api("GET", f"/rows/orders/{oid}").get_json()[
        "bags"]) for n in (gate.east, b20, gate.hub)}
    assert seen == {("20栋：姜要两块", 2)}
    clash = [c for c in gate.hub.api("GET", "/conflicts").get_json()["conflicts"] if c["row_id"] == oid]
    assert [(c["field"], c["loser_value"]) for c in clash] == [("notes", "东门：不要姜了")]


def test_bad_basket_requests_name_the_field(gate):
    r = gate.east.api("POST", "/basket/chains/import", json={"text": CHAIN, "building": "20", "delivery_date": "2/5"})
    assert r.status_code == 400 and "delivery_date" in r.get_json()["fields"]
    assert gate.east.api("GET", "/basket/orders").status_code == 400
    _import(gate.east)
    o = _orders(gate.east)["20-1702"]
    r = gate.east.api("POST", f"/basket/orders/{o['id']}/bought", json={"paid_by": "v", "lines": [{"id": "nope"}]})
    assert r.status_code == 400 and "lines" in r.get_json()["fields"]
    assert gate.east.api("POST", f"/basket/orders/{o['id']}/delivered", json={}).status_code == 400
    assert gate.east.api("POST", "/basket/repayments", json={"volunteer_id": "v", "amount": 5}).status_code == 400


def test_browser_whole_chain_paste_review_list_buy_pack_deliver(gate, browser):
    import pytest
    from conftest import LiveServer
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    _volunteer(gate)
    gate.east.make_account("volunteer")  # accounts are made at the hub: before it goes down
    gate.sync()
    gate.cluster.close()  # the hub is down all along
    server = LiveServer(gate.east.app)
    try:
        page = browser.new_page()
        page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(d.message)))
        gate.east.sign_in(page, server.url, "volunteer", "/basket")
        page.fill("#day", DAY)
        page.select_option("#building", "20")  # the east gate serves no building's door: the chain's is chosen
        page.fill("#chain", CHAIN)
        page.click("#preview")
        expect(page.locator("#review tbody tr")).to_have_count(3)
        expect(page.locator("#review tr.flagged")).to_have_count(2)  # a note to read, an unknown room
        page.click("#import")
        expect(page.locator("#importmsg")).to_contain_text("新增 3")
        page.click("nav button[data-tab=list]")
        expect(page.locator("#shopping")).to_contain_text("白菜 5斤")
        page.locator("#shopping input[data-item=白菜]").check()
        expect(page.locator("#shopping label.done")).to_have_count(1)
        page.click("nav button[data-tab=buy]")
        page.select_option("#payer", label="张青青")  # who paid is chosen, never assumed
        first = page.locator("#buyorders .order").filter(has_text="20-1702")
        first.locator(".price").nth(0).fill("6")
        first.locator(".price").nth(1).fill("12.5")
        first.locator(".missing").nth(2).check()
        first.locator("button.bought").click()
        expect(page.locator("#buyorders .order").filter(has_text="20-1702")).to_have_count(0)
        page.click("nav button[data-tab=pack]")
        order = page.locator("#packing .order").filter(has_text="20-1702")
        expect(order).to_contain_text("¥18.5")
        expect(order).to_contain_text("缺 酱油")
        order.locator(".bags").fill("2")
        order.locator("button.packed").click()
        expect(page.locator("#labels .label")).to_contain_text("20-1702 张三")
        expect(page.locator("#labels .label")).to_contain_text("2 袋 bags")
        page.click("nav button[data-tab=handoff]")
        row = page.locator("#handofflist .order").filter(has_text="20-1702")
        row.locator(".by").fill("物业小刘")
        row.locator("button.delivered").click()
        expect(page.locator("#handofflist")).to_contain_text("全部送达")
        page.click("nav button[data-tab=money]")
        expect(page.locator("#ledger")).to_contain_text("¥18.5")
        page.close()
    finally:
        server.stop()
    assert _orders(gate.east)["20-1702"]["status"] == "delivered"


def test_receipt_with_a_photo_is_kept_and_served_back(gate):
    import base64
    vol = _volunteer(gate)
    gate.sync()
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    rid = _post(gate.east, "/receipts", {"volunteer_id": vol, "delivery_date": DAY, "amount": 88.5, "photo": url})["id"]
    r = gate.east.api("GET", f"/basket/receipts/{rid}/photo")
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data == png
    bad = gate.east.api("POST", "/basket/receipts", json={"volunteer_id": vol, "delivery_date": DAY, "amount": 1,
                                                          "photo": "javascript:alert(1)"})
    assert bad.status_code == 400 and "photo" in bad.get_json()["fields"]
    gate.sync()
    assert gate.hub.api("GET", f"/basket/receipts/{rid}/photo").data == png  # it travelled to the hub


def test_an_order_re_dated_while_it_is_read_is_still_found(gate, monkeypatch):
    # An order is found by its day, then among that day's orders: two queries, one snapshot. At a hub on
    # PostgreSQL a coordinator moving the order to another day between them made the volunteer's step a 500.
    from conftest import after_statement
    hub = gate.hub
    vol = _volunteer(gate)
    _import(hub)
    o = _orders(hub)["20-1702"]
    moved = after_statement(monkeypatch, "SELECT delivery_date FROM orders",
                            lambda: hub.replica.write([("orders", o["id"], {"delivery_date": "2020-02-06"})]))
    lines = [{"id": ln["id"], "bought_quantity": ln["quantity"], "price": 1.0} for ln in o["lines"]]
    assert _post(hub, f"/orders/{o['id']}/bought", {"paid_by": vol, "lines": lines}, 200)["status"] == "bought"
    assert moved


def test_an_out_of_stock_line_is_never_charged_even_with_a_price_typed(gate):
    """A price typed before ticking 缺货 must not reach the ledger, the packing total or the reply."""
    node = gate.east
    r = node.api("POST", "/basket/chains/import", json={"text": "20-1702 白菜2斤 苹果3斤", "building": "20",
                                                       "delivery_date": "2020-02-05"})
    assert r.status_code == 201, r.get_json()
    order = node.api("GET", "/basket/orders?date=2020-02-05").get_json()["orders"][0]
    vid = node.api("POST", "/basket/volunteers", json={"name": "王建国"}).get_json()["id"]
    cabbage, apples = sorted(order["lines"], key=lambda ln: ln["item"] != "白菜")
    r = node.api("POST", f"/basket/orders/{order['id']}/bought", json={"paid_by": vid, "lines": [
        {"id": cabbage["id"], "price": 6.5}, {"id": apples["id"], "price": 12, "missing": True}]})
    assert r.status_code == 200 and r.get_json()["status"] == "partly_bought"
    ledger = node.api("GET", "/basket/ledger").get_json()
    assert [(p["room"], p["owes"]) for p in ledger["pairs"]] == [("20-1702", 6.5)]
    assert node.api("GET", "/basket/packing?date=2020-02-05").get_json()["orders"][0]["total"] == 6.5


def test_a_basket_volunteer_adds_who_pays_and_a_name_twice_is_refused_in_words(gate):
    node = gate.east
    assert node.api("POST", "/basket/volunteers", json={"name": "李秀英"}).status_code == 201
    again = node.api("POST", "/basket/volunteers", json={"name": "李秀英"})
    assert again.status_code == 409 and "已在名单上" in again.get_json()["error"]
    assert [v["name"] for v in node.api("GET", "/basket/volunteers").get_json()["volunteers"]] == ["李秀英"]
    assert node.api("POST", "/basket/volunteers", json={"name": ""}).status_code == 400
