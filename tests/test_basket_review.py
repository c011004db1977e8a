"""The review of a chain's corrections, cancellations and repeats: proposals item by item, confirm or reject."""
import json
import os
import re

import pytest

DAY = "2020-02-06"
CHAIN = """#接龙 2月6日 20栋买菜
截止今晚8点
1. 20-1702 冯 白菜2斤 鸡蛋1板 酱油一瓶
2. 1-101 王五 大米一袋
"""


def _post(node, path, body, status=201):
    r = node.api("POST", "/basket" + path, json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _import(node, text, building="20"):
    return _post(node, "/chains/import", {"text": text, "building": building, "delivery_date": DAY})


def _orders(node):
    return {o["room_text"]: o for o in node.api("GET", f"/basket/orders?date={DAY}").get_json()["orders"]}


def _lines(order):
    return [(ln["item"], ln["quantity"], ln["unit"]) for ln in order["lines"]]


def _proposals(node):
    return node.api("GET", f"/basket/proposals?date={DAY}").get_json()["proposals"]


def _steps(p):
    return [(s["op"], s["item"], s["before"], s["after"]) for s in p["steps"]]


def _shopping(node):
    sections = node.api("GET", f"/basket/shopping-list?date={DAY}").get_json()["sections"]
    return {i["item"]: i["amounts"] for items in sections.values() for i in items}


def test_a_correction_is_proposed_item_by_item_and_confirming_keeps_what_it_did_not_mention(gate):
    assert _import(gate.east, CHAIN) == {"created": 2, "unchanged": 0, "changed": 0, "flagged": 0}
    again = CHAIN + "更正：20-1702 白菜改成3斤 再加牛奶1箱\n"
    assert _import(gate.east, again) == {"created": 0, "unchanged": 2, "changed": 1, "flagged": 0}
    order = _orders(gate.east)["20-1702"]
    assert _lines(order) == [("白菜", 2, "斤"), ("鸡蛋", 1, "板"), ("酱油", 1, "瓶")]  # nothing changed yet
    [p] = _proposals(gate.east)
    assert (p["kind"], p["room"], p["name"]) == ("change", "20-1702", "冯")
    assert _steps(p) == [("change", "白菜", "2斤", "3斤"), ("add", "牛奶", None, "1箱")]
    assert _shopping(gate.east)["白菜"] == [[2, "斤"]]
    done = _post(gate.east, f"/orders/{order['id']}/confirm-change", {"line": p["entry"]}, 200)
    assert done["kind"] == "change"
    order = _orders(gate.east)["20-1702"]
    assert _lines(order) == [("白菜", 3, "斤"), ("鸡蛋", 1, "板"), ("酱油", 1, "瓶"), ("牛奶", 1, "箱")]
    assert order["pending_line"] is None and _proposals(gate.east) == []
    # the chain pasted once more: the correction was handled, it is not proposed again
    assert _import(gate.east, again) == {"created": 0, "unchanged": 3, "changed": 0, "flagged": 0}
    assert _proposals(gate.east) == []


def test_rejecting_a_correction_leaves_the_order_as_it_was_and_a_repaste_does_not_bring_it_back(gate):
    _import(gate.east, CHAIN)
    again = CHAIN + "20-1702 冯 鸡蛋不要了\n"
    _import(gate.east, again)
    [p] = _proposals(gate.east)
    assert _steps(p) == [("remove", "鸡蛋", "1板", None)]
    _post(gate.east, f"/orders/{p['order_id']}/reject-change", {"line": p["entry"]}, 200)
    assert _lines(_orders(gate.east)["20-1702"]) == [("白菜", 2, "斤"), ("鸡蛋", 1, "板"), ("酱油", 1, "瓶")]
    assert _import(gate.east, again)["changed"] == 0 and _proposals(gate.east) == []
    r = gate.east.api("POST", f"/basket/orders/{p['order_id']}/confirm-change", json={"line": p["entry"]})
    assert r.status_code == 409 and "no change" in r.get_json()["error"]


def test_a_correction_naming_an_item_the_order_lacks_says_so(gate):
    _import(gate.east, CHAIN + "20-1702 冯 牛肉改成2斤\n")
    [p] = _proposals(gate.east)
    assert p["problem"] == "牛肉" and [s["found"] for s in p["steps"]] == [False]


def test_a_cancellation_waits_for_confirmation_then_the_order_leaves_the_shopping_list(gate):
    _import(gate.east, CHAIN)
    _import(gate.east, CHAIN + "20-1702 冯 不要了 谢谢\n")
    [p] = _proposals(gate.east)
    assert p["kind"] == "cancel" and [s["op"] for s in p["steps"]] == ["remove", "remove", "remove"]
    assert "白菜" in _shopping(gate.east)
    assert _post(gate.east, f"/orders/{p['order_id']}/confirm-change", {}, 200)["status"] == "refused"
    order = _orders(gate.east)["20-1702"]
    assert order["status"] == "refused" and "取消" in order["refused_reason"]
    assert "白菜" not in _shopping(gate.east) and "大米" in _shopping(gate.east)


def test_a_cancellation_of_a_room_without_an_order_writes_nothing(gate):
    assert _import(gate.east, "20-1702 取消\n") == {"created": 0, "unchanged": 0, "changed": 0, "flagged": 0}
    assert _orders(gate.east) == {}


def test_same_as_the_line_above_copies_that_household_once_confirmed_and_rejecting_the_copy_removes_it(gate):
    text = "1. 20-1702 冯 白菜2斤 鸡蛋1板\n2. 1-101 同上 再加牛奶1箱\n"
    assert _import(gate.east, text) == {"created": 2, "unchanged": 0, "changed": 0, "flagged": 1}
    copy = _orders(gate.east)["1-101"]
    assert copy["lines"] == [] and copy["flagged"]
    [p] = _proposals(gate.east)
    assert (p["kind"], p["ref"]) == ("copy", "20-1702")
    assert _steps(p) == [("add", "白菜", None, "2斤"), ("add", "鸡蛋", None, "1板"), ("add", "牛奶", None, "1箱")]
    assert _shopping(gate.east)["白菜"] == [[2, "斤"]]  # the copy is not bought before it is confirmed
    _post(gate.east, f"/orders/{copy['id']}/confirm-change", {}, 200)
    assert _lines(_orders(gate.east)["1-101"]) == [("白菜", 2, "斤"), ("鸡蛋", 1, "板"), ("牛奶", 1, "箱")]
    assert _shopping(gate.east)["白菜"] == [[4, "斤"]]
    assert _import(gate.east, text) == {"created": 0, "unchanged": 2, "changed": 0, "flagged": 0}


def test_rejecting_a_copy_that_was_the_whole_order_removes_that_order(gate):
    _import(gate.east, "1. 20-1702 冯 白菜2斤\n2. 1-101 和1702一样\n")
    [p] = _proposals(gate.east)
    assert p["ref"] == "20-1702"
    assert _post(gate.east, f"/orders/{p['order_id']}/reject-change", {}, 200)["removed"] is True
    assert set(_orders(gate.east)) == {"20-1702"}


def test_a_copy_of_a_room_without_an_order_cannot_be_confirmed(gate):
    _import(gate.east, "1-101 和1702一样\n")
    [p] = _proposals(gate.east)
    assert p["lines"] is None and "20-1702" in p["problem"]
    r = gate.east.api("POST", f"/basket/orders/{p['order_id']}/confirm-change", json={})
    assert r.status_code == 409 and "20-1702" in r.get_json()["error"]


def test_preview_gives_each_line_its_meaning_and_keeps_header_lines_apart(gate):
    text = CHAIN + "更正：20-1702 白菜改成3斤\n1-101 取消\n20-1702 同上\n收到\n"
    r = _post(gate.east, "/chains/preview", {"text": text, "building": "20", "delivery_date": DAY}, 200)
    assert [(ln["line_no"], ln["kind"], ln["number"]) for ln in r["lines"]] == [
        (3, "order", 1), (4, "order", 2), (5, "correction", None), (6, "cancel", None), (7, "repeat", None)]
    assert r["lines"][2]["changes"] == [{"op": "set", "item": "白菜", "new": {
        "item": "白菜", "quantity": 3, "unit": "斤", "note": None}}]
    assert r["lines"][4]["ref"] == "1-101"
    assert [(i["line_no"], i["kind"]) for i in r["ignored"]] == [(1, "header"), (2, "header"), (8, "chatter")]
    assert _orders(gate.east) == {}


def test_a_stale_confirmation_of_a_line_no_longer_waiting_is_refused(gate):
    _import(gate.east, CHAIN + "20-1702 再加牛奶1箱\n")
    [p] = _proposals(gate.east)
    _post(gate.east, f"/orders/{p['order_id']}/confirm-change", {"line": p["entry"]}, 200)
    r = gate.east.api("POST", f"/basket/orders/{p['order_id']}/confirm-change", json={"line": p["entry"]})
    assert r.status_code == 409
    r = gate.east.api("POST", f"/basket/orders/{p['order_id']}/confirm-change", json={"line": 5})
    assert r.status_code == 400 and "line" in r.get_json()["fields"]


CORPUS = json.load(open(os.path.join(os.path.dirname(__file__), "data", "chain_corpus.json"), encoding="utf-8"))
INSTRUCTION_WORDS = ("取消", "撤回", "同上", "楼上", "一样", "更正", "改成", "改为", "换成", "再加", "不要", "左右", "大概",
                     "多一点", "接龙", "截止", "例", "格式", "收到", "谢谢")


def test_the_shopping_list_never_holds_a_name_a_bare_number_or_an_instruction_word(gate):
    # every line and chain of the corpus pasted as one day's chain, every proposal that can be confirmed confirmed
    text = "\n".join([c["line"] for c in CORPUS["lines"]] + [c["text"] for c in CORPUS["chains"]])
    _import(gate.east, text)
    for p in _proposals(gate.east):
        if p["lines"] is not None and p["status"] == "requested":
            gate.east.api("POST", f"/basket/orders/{p['order_id']}/confirm-change", json={"line": p["entry"]})
    names = {c["name"] for c in CORPUS["lines"] if c.get("name")} | \
        {e["name"] for c in CORPUS["chains"] for e in c["expect"] if e.get("name")} | \
        {n for ns in CORPUS["registry"]["names"].values() for n in ns}
    names.discard("姜")  # ginger as well as a surname: this registry has no 姜 in 20-402, so here it is ginger
    items = _shopping(gate.east)
    assert len(items) > 40
    assert not names & set(items)
    assert not [i for i in items if re.fullmatch(r"[\d.]+", i)]
    assert not [i for i in items if any(w in i for w in INSTRUCTION_WORDS)]


def test_basket_page_has_no_inline_script_or_style(gate):
    # a strict Content-Security-Policy (script-src 'self'; style-src 'self') must be able to serve this page
    r = gate.east.http.get("/basket")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "菜篮子" in html and 'class="menwei-nav"' in html
    assert re.findall(r"<script\b[^>]*>", html) and all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers either
    for asset in ("basket/basket.js", "basket/basket.css", "nav.css"):
        assert f"/assets/{asset}" in html and gate.east.http.get(f"/assets/{asset}").status_code == 200


def test_browser_review_confirm_a_correction_reject_a_cancellation_confirm_a_copy(gate, browser, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from conftest import LiveServer
    expect = sync_api.expect
    _import(gate.east, CHAIN)
    server = LiveServer(gate.east.app)
    try:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        browser_dialogs = []  # the page asks in its own dialog, never the browser's confirm()
        page.on("dialog", lambda d: (browser_dialogs.append(d.message), d.dismiss()))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        gate.east.sign_in(page, server.url, "volunteer", "/basket")
        page.fill("#day", DAY)
        page.select_option("#building", "20")  # the east gate serves no building's door: the chain's is chosen
        page.fill("#chain", CHAIN + "3. 20-601 🌸小美 跟1702一样\n更正：20-1702 白菜改成3斤 再加牛奶1箱\n1-101 王五 取消\n收到\n")
        page.click("#preview")
        expect(page.locator("#review tbody tr")).to_have_count(5)
        expect(page.locator("#review tr.proposal")).to_have_count(3)
        expect(page.locator("#review tbody tr").nth(2)).to_contain_text("照抄 copy of 20-1702")
        expect(page.locator("#ignored")).to_contain_text("截止今晚8点")
        expect(page.locator("#ignored tr")).to_have_count(3)
        page.click("#import")
        expect(page.locator("#importmsg")).to_contain_text("新增 1")
        cards = page.locator("#proposals .proposal-card")
        expect(cards).to_have_count(3)
        change = cards.filter(has_text="更正 correction")
        expect(change).to_contain_text("白菜 2斤 → 3斤")
        expect(change).to_contain_text("+ 牛奶 1箱")
        copy = cards.filter(has_text="照抄 copy")
        expect(copy).to_contain_text("+ 白菜 2斤")
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        if os.environ.get("MENWEI_SCREENSHOT_DIR"):
            page.screenshot(path=os.path.join(os.environ["MENWEI_SCREENSHOT_DIR"], "basket-review.png"), full_page=True)
        change.locator("button.confirm").click()
        expect(cards).to_have_count(2)
        cancel = cards.filter(has_text="取消 cancellation")
        cancel.locator("button.reject").click()
        ask = page.locator("dialog#menwei-ask")
        expect(ask).to_be_visible()
        expect(ask).to_contain_text("1-101 王五 取消")
        page.keyboard.press("Escape")  # not after all: the line still waits
        expect(ask).to_be_hidden()
        expect(cards).to_have_count(2)
        cancel.locator("button.reject").click()
        ask.locator("button.danger").click()
        expect(cards).to_have_count(1)
        # the copy is of 20-1702 as it stands now, with the correction confirmed
        expect(cards.first).to_contain_text("+ 白菜 3斤")
        cards.first.locator("button.confirm").click()
        expect(page.locator("#proposals")).to_have_text("—")
        page.click("nav button[data-tab=list]")
        expect(page.locator("#shopping")).to_contain_text("白菜 6斤")
        assert errors == [] and browser_dialogs == []
        page.close()
    finally:
        server.stop()
    orders = _orders(gate.east)
    assert _lines(orders["20-1702"]) == [("白菜", 3, "斤"), ("鸡蛋", 1, "板"), ("酱油", 1, "瓶"), ("牛奶", 1, "箱")]
    assert _lines(orders["20-601"]) == _lines(orders["20-1702"]) and orders["20-601"]["name"] == "小美"
    assert orders["1-101"]["status"] == "requested" and _lines(orders["1-101"]) == [("大米", 1, "袋")]


def test_an_edited_line_is_shown_item_by_item_before_it_replaces_the_order(gate):
    _import(gate.east, CHAIN)
    _import(gate.east, CHAIN.replace("白菜2斤 鸡蛋1板 酱油一瓶", "白菜4斤 鸡蛋1板 香菜5元"))
    [p] = _proposals(gate.east)
    assert p["kind"] == "edit"
    assert _steps(p) == [("change", "白菜", "2斤", "4斤"), ("keep", "鸡蛋", "1板", "1板"), ("add", "香菜", None, "¥5"),
                         ("remove", "酱油", "1瓶", None)]
    _post(gate.east, f"/orders/{p['order_id']}/confirm-change", {}, 200)
    assert _shopping(gate.east)["香菜"] == [[5, "元"]]  # a budget reaches the list as yuan to spend


def test_the_same_correction_confirmed_at_two_offline_replicas_is_applied_once(gate):
    # two volunteers, at the hub and at the east gate, confirm the same waiting line before they sync again
    _import(gate.hub, CHAIN + "更正：20-1702 白菜改成3斤\n")
    gate.cluster.sync_all()
    oid = _orders(gate.hub)["20-1702"]["id"]
    for node in (gate.hub, gate.east):
        _post(node, f"/orders/{oid}/confirm-change", {}, 200)
    gate.cluster.sync_all()
    for node in (gate.hub, gate.east):
        assert _lines(_orders(node)["20-1702"]) == [("白菜", 3, "斤"), ("鸡蛋", 1, "板"), ("酱油", 1, "瓶")]


def test_a_chain_line_longer_than_an_order_can_hold_is_refused_naming_the_line(gate):
    r = gate.east.api("POST", "/basket/chains/import", json={
        "text": "1. 20-1702 冯 白菜2斤\n2. 1-101 " + "大米一袋 " * 500, "building": "20", "delivery_date": DAY})
    assert r.status_code == 400 and "line 2" in r.get_json()["fields"]["text"][0]
    assert _orders(gate.east) == {}
