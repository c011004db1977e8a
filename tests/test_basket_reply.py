"""The reply to the group chat: before shopping the orders as understood, after it what was bought, what was
missing and what each household owes to whom — checked line by line against a sample day's orders and ledger."""
import os

import pytest

DAY, EARLIER = "2020-02-07", "2020-02-05"
CHAIN = """#接龙 2月7日 20栋买菜
1. 20-1702 张三 白菜2斤 鸡蛋1板 酱油一瓶
2. 1-101 王五 大米一袋 8块钱的香菜
3. 20-601 小美 苹果3斤
"""
LATER = CHAIN + "20-601 取消\n更正：20-1702 白菜改成3斤\n"


def _post(node, path, body, status=201):
    r = node.api("POST", "/basket" + path, json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _orders(node, day=DAY):
    return {o["room_text"]: o for o in node.api("GET", f"/basket/orders?date={day}").get_json()["orders"]}


def _reply(node, stage):
    r = node.api("GET", f"/basket/reply?date={DAY}&stage={stage}&building=20")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _buy(node, order, paid_by, prices, missing=()):
    lines = [{"id": ln["id"], "price": p} for ln, p in zip(order["lines"], prices) if p is not None]
    lines += [{"id": order["lines"][n]["id"], "missing": True} for n in missing]
    _post(node, f"/orders/{order['id']}/bought", {"paid_by": paid_by, "lines": lines}, 200)


@pytest.fixture
def day(gate):
    """A sample day: an earlier day's debt, a chain with a cancellation and a correction, two shoppers."""
    gate.zhang_qq = gate.hub_row("volunteers", name="张青青", organisation="区委宣传部")
    gate.yan = gate.hub_row("volunteers", name="晏小莉", organisation="区委宣传部")
    gate.sync()
    east = gate.east
    _post(east, "/chains/import", {"text": "20-1702 张三 面条2包", "building": "20", "delivery_date": EARLIER})
    _buy(east, _orders(east, EARLIER)["20-1702"], gate.zhang_qq, [10.0])  # still owed from two days before
    _post(east, "/chains/import", {"text": CHAIN, "building": "20", "delivery_date": DAY})
    _post(east, "/chains/import", {"text": LATER, "building": "20", "delivery_date": DAY})
    cancel = _orders(east)["20-601"]
    _post(east, f"/orders/{cancel['id']}/confirm-change", {}, 200)
    return gate


def test_before_shopping_each_household_reads_its_order_as_understood(day):
    r = _reply(day.east, "before")
    assert r["text"].splitlines()[:2] == [
        "【2月7日 20栋代购 · 订单确认】",
        "请核对自己的订单，有误请在群里回复更正。Please check your order; reply in the group to correct it."]
    assert {h["room"]: h["line"] for h in r["households"]} == {
        "20-601": "20-601 小美：已取消",
        "1-101": "1-101 王五：大米1袋、香菜8元",
        "20-1702": "20-1702 张三：白菜2斤、鸡蛋1板、酱油1瓶（你的更正已收到，志愿者核对中 your change is being checked）"}
    assert r["text"].splitlines()[2:] == [h["line"] for h in r["households"]]


def test_after_shopping_each_household_reads_what_was_bought_missing_and_owed_to_whom(day):
    east = day.east
    o = _orders(east)["20-1702"]
    _post(east, f"/orders/{o['id']}/confirm-change", {}, 200)
    o = _orders(east)["20-1702"]
    assert [(ln["item"], ln["quantity"]) for ln in o["lines"]] == [("白菜", 3), ("鸡蛋", 1), ("酱油", 1)]
    _buy(east, o, day.zhang_qq, [6.0, 12.5], missing=[2])
    _buy(east, _orders(east)["1-101"], day.yan, [35.5, 8.0])
    _post(east, "/repayments", {"volunteer_id": day.yan, "household_id": day.h101, "amount": 30.0})
    r = _reply(east, "after")
    lines = {h["room"]: h["line"] for h in r["households"]}
    assert lines == {
        "20-601": "20-601 小美：已取消，无需付款。",
        "1-101": "1-101 王五：已买 大米1袋 ¥35.5、香菜8元 ¥8；本次 ¥43.5。请转账 ¥13.5 给 晏小莉。",
        "20-1702": "20-1702 张三：已买 白菜3斤 ¥6、鸡蛋1板 ¥12.5；缺货 酱油；本次 ¥18.5。请转账 ¥28.5 给 张青青。"}
    # the amounts asked for are the ledger's, household by household
    owes = {h["room"]: h["owes"] for h in east.api("GET", "/basket/ledger").get_json()["households"]}
    assert owes == {"20-1702": 28.5, "1-101": 13.5}
    assert r["text"].splitlines()[0] == "【2月7日 20栋代购 · 购物结果】"


def test_after_shopping_a_household_that_paid_everything_is_told_so_and_one_not_bought_yet_is_told_to_wait(day):
    east = day.east
    _buy(east, _orders(east)["1-101"], day.yan, [35.5, 8.0])
    _post(east, "/repayments", {"volunteer_id": day.yan, "household_id": day.h101, "amount": 43.5})
    lines = {h["room"]: h["line"] for h in _reply(east, "after")["households"]}
    assert lines["1-101"].endswith("本次 ¥43.5。已付清，无需转账。")
    assert lines["20-1702"] == "20-1702 张三：还没有买，买好再通知。"


def test_the_reply_needs_a_stage_and_a_day(gate):
    r = gate.east.api("GET", f"/basket/reply?date={DAY}&stage=later")
    assert r.status_code == 400 and "stage" in r.get_json()["fields"]
    assert gate.east.api("GET", "/basket/reply?stage=before").status_code == 400


def test_browser_one_click_gives_the_message_to_paste(day, browser):
    sync_api = pytest.importorskip("playwright.sync_api")
    from conftest import LiveServer
    expect = sync_api.expect
    server = LiveServer(day.east.app)
    try:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        day.east.sign_in(page, server.url, "volunteer", "/basket")
        page.fill("#day", DAY)
        page.select_option("#building", "20")  # the east gate serves no building's door: the chain's is chosen
        page.click("nav button[data-tab=reply]")
        page.click("#replybefore")
        expect(page.locator("#replytext")).to_have_value(_reply(day.east, "before")["text"])
        if os.environ.get("MENWEI_SCREENSHOT_DIR"):
            page.screenshot(path=os.path.join(os.environ["MENWEI_SCREENSHOT_DIR"], "basket-reply.png"))
        page.click("#copyreply")
        expect(page.locator("#copymsg")).to_contain_text("已复制")
        assert errors == []
        page.close()
    finally:
        server.stop()
