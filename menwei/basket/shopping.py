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
