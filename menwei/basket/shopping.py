"""The shopping basket's arithmetic, without I/O: merged shopping lists, supermarket sections, the ledger."""
from collections import defaultdict

# Weights convert to 斤 (500 g), the unit the market prices by; other units add only to themselves.
_TO_JIN = {"斤": 1, "公斤": 2, "千克": 2, "kg": 2, "克": 0.002, "g": 0.002, "两": 0.1}
SECTIONS = [
    ("蔬菜 vegetables", "菜 白菜 青菜 菠菜 芹菜 生菜 萝卜 土豆 番茄 西红柿 黄瓜 茄子 辣椒 姜 葱 蒜 豆芽 洋葱 南瓜 冬瓜 莲藕 香菜 韭菜 蘑菇 香菇 豆腐"),
    ("肉蛋禽 meat & eggs", "肉 猪 牛 羊 鸡 鸭 鱼 虾 蛋 排骨 火腿 香肠"),
    ("水果 fruit", "果 苹果 香蕉 橘 橙 梨 葡萄 西瓜 柚 草莓 猕猴桃 芒果"),
    ("粮油 grain & oil", "米 面 油 挂面 面条 面粉 饺子 汤圆 馒头 包子"),
    ("调料 seasoning", "盐 糖 酱油 醋 味精 鸡精 料酒 耗油 蚝油 辣酱 调料"),
    ("乳品饮料 dairy & drinks", "奶 酸奶 牛奶 水 饮料 果汁"),
    ("日用品 household", "纸 卫生纸 纸巾 洗洁精 洗衣 牙膏 肥皂 香皂 口罩 消毒 酒精 电池 垃圾袋"),
]


def section_of(item):
    """The supermarket section an item is found in (by the longest keyword it contains)."""
    best, best_len = "其他 other", 0
    for section, words in SECTIONS:
        for w in words.split():
            if w in item and len(w) > best_len:
                best, best_len = section, len(w)
    return best


def merge_quantities(entries):
    """Add up [(quantity, unit)] of one item: weights in 斤, other units each on their own; None stays apart."""
    totals, loose = defaultdict(float), 0
    for qty, unit in entries:
        if qty is None:
            loose += 1
        elif unit in _TO_JIN:
            totals["斤"] += qty * _TO_JIN[unit]
        else:
            totals[unit or ""] += qty
    out = [(round(v, 3) if not float(v).is_integer() else int(v), u) for u, v in totals.items()]
    if loose:
        out.append((None, f"{loose}×适量"))
    return out


def shopping_list(lines):
    """Merge order lines [{item, quantity, unit, household}] into {section: [{item, amounts, households}]}."""
    by_item = defaultdict(list)
    who = defaultdict(set)
    for ln in lines:
        by_item[ln["item"]].append((ln["quantity"], ln["unit"]))
        who[ln["item"]].add(ln.get("household"))
    sections = defaultdict(list)
    for item in sorted(by_item):
        sections[section_of(item)].append({"item": item, "amounts": merge_quantities(by_item[item]),
                                           "households": sorted(h for h in who[item] if h)})
    order = [s for s, _ in SECTIONS] + ["其他 other"]
    return {s: sections[s] for s in order if s in sections}


def ledger(charges, repayments):
    """Balances of who owes whom: charges [(household, volunteer, amount)], repayments likewise.

    Returns {"households": {h: owed}, "volunteers": {v: {"advanced", "repaid", "outstanding"}},
    "pairs": {(h, v): owed}}; by construction the households' total owed equals the volunteers'
    total outstanding, per pair and in sum.
    """
    pairs = defaultdict(float)
    vol = defaultdict(lambda: {"advanced": 0.0, "repaid": 0.0})
    for h, v, amount in charges:
        pairs[(h, v)] += amount
        vol[v]["advanced"] += amount
    for h, v, amount in repayments:
        pairs[(h, v)] -= amount
        vol[v]["repaid"] += amount
    households = defaultdict(float)
    for (h, _v), amount in pairs.items():
        households[h] += amount
    volunteers = {v: {**d, "outstanding": d["advanced"] - d["repaid"]} for v, d in vol.items()}
    return {"households": dict(households), "volunteers": volunteers, "pairs": dict(pairs)}


def amount_text(quantity, unit):
    """How an amount reads on the page and in the group: ``2斤``, ``¥8`` (a budget), ``适量`` (as the shopper sees fit)."""
    if unit == "元":
        return f"¥{_num(quantity)}"
    if quantity is None:
        return "适量"
    return f"{_num(quantity)}{unit or ''}"


def _num(v):
    return str(int(v)) if float(v).is_integer() else str(round(v, 3))


def _same_item(a, b):
    return a == b or (len(a) > 1 and len(b) > 1 and (a in b or b in a))


def _find(lines, name):
    """The line of that item: the same name, else one naming it within a longer name (鸡蛋 / 土鸡蛋)."""
    exact = [n for n, ln in enumerate(lines) if ln["item"] == name]
    return exact[0] if exact else next((n for n, ln in enumerate(lines) if _same_item(ln["item"], name)), None)


def _row(item):
    return {"item": item["item"], "quantity": item.get("quantity"), "unit": item.get("unit"), "note": item.get("note")}


def apply_changes(lines, changes):
    """Apply a correction's changes to an order's lines, one by one; returns (new lines, steps shown for review).

    ``lines`` are [{item, quantity, unit, note}]; ``changes`` are [(op, item name, new item dict or None)] with op
    add (adds to the same item in the same unit), set, remove or replace. Each step says what it does to which
    line, and ``found`` is False when the order has no such item (so the review can say so).
    """
    out = [_row(ln) for ln in lines]
    steps = []
    for op, name, new in changes:
        at = _find(out, name)
        before = out[at] if at is not None else None
        if op == "remove":
            if at is not None:
                del out[at]
            steps.append({"op": "remove", "item": before["item"] if before else name, "found": at is not None,
                          "before": amount_text(before["quantity"], before["unit"]) if before else None,
                          "after": None})
            continue
        new = _row(new)
        if before is None or (op == "add" and (before["unit"] != new["unit"] or None in (before["quantity"],
                                                                                      new["quantity"]))):
            out.append(new)  # a new line: nothing to change, or an amount that does not add to the one there
            steps.append({"op": "add", "item": new["item"], "from_item": None, "found": at is not None or op == "add",
                          "before": None, "after": amount_text(new["quantity"], new["unit"])})
            continue
        if op == "add":
            after = dict(before, quantity=before["quantity"] + new["quantity"])
        elif op == "replace" and new["quantity"] is None:
            after = dict(new, quantity=before["quantity"], unit=before["unit"])
        elif op == "replace":
            after = new
        else:
            after = dict(new, item=before["item"])
        out[at] = after
        steps.append({"op": "change", "item": after["item"],
                      "from_item": before["item"] if before["item"] != after["item"] else None, "found": True,
                      "before": amount_text(before["quantity"], before["unit"]),
                      "after": amount_text(after["quantity"], after["unit"])})
    return out, steps


def diff_lines(old, new):
    """The steps that turn an order's lines into ``new`` (a re-typed line or a copy), item by item."""
    old = [_row(ln) for ln in old]
    steps, left = [], list(old)
    for ln in new:
        at = _find(left, ln["item"])
        if at is None:
            steps.append({"op": "add", "item": ln["item"], "from_item": None, "found": True, "before": None,
                          "after": amount_text(ln.get("quantity"), ln.get("unit"))})
            continue
        was = left.pop(at)
        before, after = amount_text(was["quantity"], was["unit"]), amount_text(ln.get("quantity"), ln.get("unit"))
        steps.append({"op": "keep" if (before, was["item"]) == (after, ln["item"]) else "change", "item": ln["item"],
                      "from_item": was["item"] if was["item"] != ln["item"] else None, "found": True,
                      "before": before, "after": after})
    steps += [{"op": "remove", "item": ln["item"], "from_item": None, "found": True,
               "before": amount_text(ln["quantity"], ln["unit"]), "after": None} for ln in left]
    return steps


CANCELLED_REASON = "住户在群里取消 cancelled in the chain"
_BOUGHT = ("bought", "partly_bought", "packed", "at_building", "delivered")


def _money(v):
    return f"¥{_num(round(v, 2))}"


def _day_text(day):
    y, m, d = day.split("-")
    return f"{int(m)}月{int(d)}日"


def _who(order):
    return f"{order['label'] or order['room_text']}" + (f" {order['name']}" if order.get("name") else "")


def _amount_said(quantity, unit):
    """An amount as the group writes it: 2斤, 8元 (a budget); nothing when the shopper decides."""
    if quantity is None:
        return ""
    return f"{_num(quantity)}元" if unit == "元" else amount_text(quantity, unit)


def _wanted(ln):
    return ln["item"] + _amount_said(ln["quantity"], ln["unit"])


def reply_before(day, orders, building=None):
    """The message pasted back into the group before shopping: each household's order as understood.

    ``orders`` are the day's orders with their lines (as the basket API lists them). Returns (text, per
    household [(room, line)]).
    """
    head = [f"【{_day_text(day)} {building + '栋' if building else ''}代购 · 订单确认】",
            "请核对自己的订单，有误请在群里回复更正。Please check your order; reply in the group to correct it."]
    rows = []
    for o in orders:
        if o["status"] == "refused":
            what = "已取消" if o.get("refused_reason") == CANCELLED_REASON else f"不送：{o.get('refused_reason') or ''}"
        elif o["lines"]:
            what = "、".join(_wanted(ln) for ln in o["lines"])
        else:
            what = "（还没有物品 nothing yet）"
        if o.get("pending_line"):
            what += "（你的更正已收到，志愿者核对中 your change is being checked）"
        rows.append((o["label"] or o["room_text"], f"{_who(o)}：{what}"))
    return "\n".join(head + [r[1] for r in rows]), rows


def reply_after(day, orders, owed, volunteer_names, building=None):
    """The message pasted back into the group after shopping: bought, missing, the amount owed and to whom.

    ``owed`` is {(household_id, volunteer_id): amount still owed} from the ledger (all days, repayments taken
    off); ``volunteer_names`` {volunteer_id: name}. Returns (text, per household [(room, line)]).
    """
    head = [f"【{_day_text(day)} {building + '栋' if building else ''}代购 · 购物结果】",
            "已买的、缺货的和应付的钱如下，请按名字转账给垫付的志愿者。What was bought, what was missing, what to pay."]
    rows = []
    for o in orders:
        if o["status"] == "refused":
            what = "已取消，无需付款。" if o.get("refused_reason") == CANCELLED_REASON \
                else f"没有送出（{o.get('refused_reason') or ''}），本次无需付款。"
            rows.append((o["label"] or o["room_text"], f"{_who(o)}：{what}"))
            continue
        if o["status"] not in _BOUGHT:
            rows.append((o["label"] or o["room_text"], f"{_who(o)}：还没有买，买好再通知。"))
            continue
        bought = [ln for ln in o["lines"] if not ln["missing"]]
        missing = [ln["item"] for ln in o["lines"] if ln["missing"]]
        total = sum(ln["price"] or 0 for ln in bought)
        parts = []
        if bought:
            parts.append("已买 " + "、".join(
                ln["item"] + _amount_said(ln["quantity"] if ln["bought_quantity"] is None else ln["bought_quantity"],
                                          ln["unit"])
                + (f" {_money(ln['price'])}" if ln["price"] is not None else "") for ln in bought))
        if missing:
            parts.append("缺货 " + "、".join(missing))
        parts.append(f"本次 {_money(total)}")
        dues = sorted(((v, x) for (h, v), x in owed.items() if h == o["household_id"] and round(x, 2) > 0),
                      key=lambda vx: volunteer_names.get(vx[0]) or "")
        if o["household_id"] is None:
            pay = f"请转账 {_money(total)} 给 {volunteer_names.get(o['paid_by'], '垫付的志愿者')}（房号待核对）"
        elif dues:
            pay = "请转账 " + "，".join(f"{_money(x)} 给 {volunteer_names.get(v, '志愿者')}" for v, x in dues)
        else:
            pay = "已付清，无需转账"
        rows.append((o["label"] or o["room_text"], f"{_who(o)}：{'；'.join(parts)}。{pay}。"))
    return "\n".join(head + [r[1] for r in rows]), rows
