"""Parsing a group chat's chain order (接龙) into draft orders and proposals, without I/O.

`3. 20-1702 张三 白菜2斤 鸡蛋1板 酱油一瓶 有的话带点姜` → room 20-1702, name 张三, three items with
quantity and unit, and the fragment it could not read kept as a note, flagged: nothing is dropped.

Each line also gets what it means for the order (``kind``):
- ``order``: a household's order;
- ``correction``: ``更正：白菜改成3斤``, ``再加一瓶酱油``, ``鸡蛋不要了``, ``苹果换成梨`` → item-by-item ``changes``
  to that household's existing order, to be confirmed (never a silent replacement);
- ``cancel``: ``取消``, ``撤回``, ``不要了`` → a proposed cancellation;
- ``repeat``: ``同上``, ``跟楼上一样``, ``和1402一样`` → a proposed copy of the order of room ``ref`` ("above"
  until the chain resolves it), plus ``changes`` on top of the copy;
- ``header``: the chain's title, date, deadline, format and example lines; ``chatter``: ``收到``, thanks,
  separators, "撤回了一条消息" — both kept visible, never orders.
Quoted text (「…」, “…”, ``回复 X：``) is kept in ``quoted`` and never gives the line its room.
"""
import datetime
import re
import unicodedata
from dataclasses import dataclass, field

from menwei.gate.labels import BUILDING_MARK, ROOM_IN_TEXT, ROOM_MARK, find_room, registry_label

UNITS = ("公斤", "千克", "斤", "两", "克", "kg", "g", "个", "只", "板", "箱", "瓶", "袋", "包", "盒", "把", "颗",
         "根", "条", "桶", "提", "份", "块", "罐", "支", "棵", "头", "串", "捆", "盒", "听", "片", "卷", "排")
_UNIT_RE = "|".join(sorted(set(UNITS), key=len, reverse=True))
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9, "十": 10, "半": 0.5}
_QTY = r"(?:\d+(?:\.\d+)?|[一二两俩三四五六七八九十]+半?|半)"
_WORD = r"[\u4e00-\u9fffA-Za-z]"
_ITEM_QTY = re.compile(rf"(?P<item>{_WORD}+?)\s*(?P<qty>{_QTY})\s*(?P<unit>{_UNIT_RE})(?P<half>半)?")
_QTY_ITEM = re.compile(rf"(?P<qty>{_QTY})\s*(?P<unit>{_UNIT_RE})(?P<half>半)?\s*(?P<item>{_WORD}+)")
_STARTS_WITH_QTY = re.compile(rf"^{_QTY}\s*(?:{_UNIT_RE})")
_QTY_ONLY = re.compile(rf"^(?P<qty>{_QTY})\s*(?P<unit>{_UNIT_RE})(?P<half>半)?$")
_GLUE = re.compile(rf"\s+({_QTY})\s*({_UNIT_RE})(?=[\s,，、;；]|$)")
# Money: "8块钱的香菜", "香菜5元", "10元左右的苹果"; a plain 块 is a unit (豆腐2块), 块钱 / 块的 / 元 are money.
_MONEY = r"(?P<amt>\d+(?:\.\d+)?|[一二两三四五六七八九十]+)\s*(?:块钱|元钱|元|块(?=的|左右))"
_GLUE_MONEY = re.compile(r"\s+(\d+(?:\.\d+)?\s*(?:块钱|元钱|元)(?:左右|上下|以内)?)(?=[\s,，、;；]|$)")
_BUDGET = re.compile(rf"^(?:买)?(?P<pre>{_WORD}*?)\s*{_MONEY}\s*(?P<approx>左右|上下|以内)?\s*的?\s*(?P<post>{_WORD}*)$")
# Multipliers: "矿泉水x3", "面包*2", "可乐×2", "矿泉水1箱x2".
_TIMES = re.compile(rf"^(?P<item>{_WORD}+?)(?:(?P<qty>{_QTY})(?P<unit>{_UNIT_RE}))?\s*[xX×*]\s*(?P<n>\d+)$")
_APPROX_PRE = re.compile(r"^(大概|大约|差不多|约)")
_APPROX_POST = re.compile(r"(左右|上下|多一点|少一点|多点|少点|以内)的?$")
_APPROX_WORDS = {"左右", "上下", "多一点", "少一点", "多点", "少点", "以内", "大概", "大约", "差不多"}
# Fragments that are wishes, conditions or thanks, not things to buy: kept whole as notes.
_NOTE_PREFIXES = ("有的话", "如果", "没有", "不要", "要是", "最好", "尽量", "谢谢", "感谢", "辛苦", "麻烦", "改",
                  "备注", "注", "随便", "要甜", "要新鲜", "要大", "其他", "其它", "明天", "家里", "多一点", "少一点",
                  "多点", "少点")
_NOTE_SUFFIXES = ("也行", "都行", "就行", "也可以", "都可以", "没关系", "不要紧")
# "另外要一瓶老抽", "还要两斤土豆": a verb before the quantity, the item after it.
_VERB_QTY_ITEM = re.compile(rf"^(?P<lead>{_WORD}*?)(?:另外要|还要|再要|要|买|来)(?P<rest>{_QTY}\s*(?:{_UNIT_RE}){_WORD}+)$")
_NUMBER = re.compile(r"^\s*(?:第\s*)?(\d{1,3})\s*(?:[.、．):：）]|(\s))\s*")
_SEP = re.compile(r"[\s,，、;；+＋/()（）\[\]【】。!！]+")
_CLAUSE_SEP = re.compile(r"[\s,，;；。!！()（）]+")
_SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
                "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
                "莫孔向汤晏欧阳")
_FILLER = {"要", "买", "帮买", "麻烦", "谢谢", "感谢", "辛苦了", "辛苦", "谢谢了", "你们辛苦了", "志愿者辛苦了",
           "我也要", "我要", "也要", "的", "了", "另外", "还有", "再", ""}
# Forms of address (称呼): 马阿姨, 王师傅, 老李, 小张, 宝妈, 朵朵妈妈, 乐乐爸, 陈老师, 周先生.
_ADDRESS = re.compile(r"^(?:[\u4e00-\u9fff](?:阿姨|叔叔|叔|师傅|姐|哥|婶|奶奶|爷爷|大爷|大妈|老师|先生|女士|太太|总|工|"
                      r"医生|阿婆|伯伯|伯|嫂子|嫂|姨)|宝妈|宝爸|[\u4e00-\u9fff]{1,2}(?:妈妈|爸爸|妈|爸|妈咪|奶奶|爷爷))$")
# 老李, 小张, 小李子, 阿强 — but 小葱, 小米 are goods, so these are weighed after the goods words.
_FAMILIAR = re.compile(r"^[老小阿][\u4e00-\u9fff]{1,2}$")
# Words that say "this is something to buy": a token in the name's place made of them is an item, not a name.
_GOODS = set("白菜 青菜 菠菜 芹菜 生菜 萝卜 土豆 番茄 西红柿 黄瓜 茄子 辣椒 姜 葱 蒜 豆芽 洋葱 南瓜 冬瓜 莲藕 香菜 韭菜 蘑菇 "
             "香菇 豆腐 猪肉 牛肉 羊肉 鸡 鸭 鱼 虾 鸡蛋 排骨 火腿 香肠 苹果 香蕉 橘子 橙子 梨 葡萄 西瓜 草莓 芒果 大米 米 面 "
             "油 面条 面粉 饺子 汤圆 馒头 包子 盐 糖 酱油 醋 牛奶 酸奶 水 可乐 口罩 酒精 卫生纸 纸巾 金针菇 白萝卜 胡萝卜 "
             "红薯 山药 木耳 海带 紫菜 花生 黄豆 绿豆 红枣 核桃 面包 蛋糕 饼干 奶粉 啤酒 白酒 黄酒 料酒 蚝油 鸡精 味精 "
             "方便面 挂面 粉丝 年糕 腊肉 鸡翅 鸡腿 鸭蛋 皮蛋 咸蛋 白萝卜 黄豆芽 蒜苗 蒜薹 西兰花 花菜 包菜 卷心菜 空心菜 "
             "油麦菜 娃娃菜 小白菜 大白菜 黄花菜 金桔 柚子 猕猴桃 橘 桔子 荔枝 桃 李子 杏 枣 樱桃 哈密瓜 火龙果 蓝莓 "
             "石榴 柠檬 青椒 红椒 尖椒 丝瓜 苦瓜 毛豆 豌豆 玉米 龙虾 鲫鱼 草鱼 鲈鱼 带鱼 黄鱼 雪碧 矿泉水 果汁 豆浆".split())
_GOODS_ENDINGS = tuple("菜瓜果肉蛋鱼虾米面油盐糖醋奶茶水酒纸巾粉薯椒菇笋葱蒜姜茄梨桃枣莓橙柚橘柑饼糕肠腿翅酱罐豆")
_CORRECTION_MARK = re.compile(r"(?:更正|修改|订正|修正|纠正|更改|改一下|改下)(?:一下)?\s*[:：]?")
_CANCEL = re.compile(r"^(?:今天|明天|先|就|全部|都|我)?(?:取消(?:订单|接龙|了)?|撤回(?:上一条|上条|订单)?|撤销|不要了|不买了|不用了|"
                     r"不需要了|算了不要了|订单取消|不用买了|全部取消)(?:了)?$")
_CHANGE_TO = re.compile(r"^(?:把)?(?P<x>.*?)(?:改成|改为|换成|改到|变成)(?P<y>.+)$")
_REMOVE_PRE = re.compile(r"^(?:不要|去掉|删掉|删除|取消)(?P<x>.+?)了?$")
_REMOVE_POST = re.compile(r"^(?P<x>.+?)(?:也不要了|就不要了|不要了|去掉|删掉|取消|不要)$")
_ADD_PRE = re.compile(rf"^(?:麻烦)?(?:再帮我加|帮我加|再帮忙加|再加|多加|追加|另加|再要|再来|加(?={_QTY}))(?P<y>.+)$")
_ADD_POST = re.compile(rf"^(?P<x>{_WORD}+?)(?:再加|多加|加)(?P<y>{_QTY}\s*(?:{_UNIT_RE}))$")
_REF_ROOM = rf"(?:\d{{1,2}}\s*(?:{BUILDING_MARK})\s*)?\d{{3,4}}(?:{ROOM_MARK})?"  # the room grammar of labels.py
_REPEAT_ROOM = re.compile(rf"(?:跟|和|同|与|照)\s*(?P<r>{_REF_ROOM})\s*(?:家|的)?\s*(?:一样的?|相同|同款|来一份|一份)?"
                          rf"|(?P<r2>{_REF_ROOM})\s*(?:家|的)?\s*(?:同款|一样)")
_REPEAT_ABOVE = re.compile(r"同上|(?:跟|和|同|与)\s*楼上\s*(?:的)?\s*(?:一样的?|相同|同款)?")
_REPEAT_QUOTED = re.compile(r"(?:跟|和|同|与)\s*(?:这个|这条|他家|她家|他|她|上面)\s*(?:的)?\s*(?:一样的?|相同)"
                            r"|我也要一份|也来一份|我也一样|一样来一份")
_QUOTE = re.compile(r"[「『“\"](.*?)[」』”\"]")
_REPLY = re.compile(r"^\s*回复\s*[^:：\s]{1,20}\s*[:：]")
_SEPARATOR = re.compile(r"(?:[-—_－~～=]\s*){3,}")
_EXAMPLE = re.compile(r"^(?:例|示例|举例|格式|模板|范例)")
_HEADER = re.compile(r"接龙|截止|截至|配送|格式|以下|示例|注意|规则|团购|代购|统一|一户一|请大家|请按|请各位|群公告|"
                     r"\d{1,2}月\d{1,2}[日号]|\d{4}年|周[一二三四五六日天]|星期")
_CHATTER = re.compile(r"撤回了一条消息|^(?:收到|好的|好|ok|OK|嗯|谢谢.*|感谢.*|辛苦.*|@.*)$")
_EMOJI_MARK = "\ue000"
#: Longer lines are not read item by item (a real chain line is well under 200 characters).
MAX_LINE_CHARS = 200


def _is_emoji(ch):
    return unicodedata.category(ch) in ("So", "Sk", "Cs", "Co") or 0x1F000 <= ord(ch) <= 0x1FAFF \
        or ch in "\u200d\ufe0f"


def normalise(text):
    """Fold full-width characters, drop emoji and other symbols that are not words."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not _is_emoji(ch))


def _fold(text):
    """Like normalise, but each run of emoji becomes one marker (a nickname decorated with emoji is a name)."""
    text = unicodedata.normalize("NFKC", text)
    out = "".join(_EMOJI_MARK if _is_emoji(ch) else ch for ch in text)
    return re.sub(_EMOJI_MARK + "+", _EMOJI_MARK, out)


def quantity(text):
    """Read a quantity: ``2``, ``1.5``, ``一``, ``两``, ``十二``, ``半`` (0.5), ``一半``/``两半`` (1.5, 2.5)."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        v = float(text)
        return int(v) if v.is_integer() else v
    half = text.endswith("半") and len(text) > 1
    core = text[:-1] if half else text
    if core == "半":
        return 0.5
    if "十" in core:
        tens, _, ones = core.partition("十")
        v = (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    else:
        v = 0
        for ch in core:
            v = v * 10 + _CN_DIGITS[ch]
    return v + 0.5 if half else v


@dataclass
class Item:
    """One thing to buy: a quantity and unit, or a budget in yuan, or neither (as the shopper sees fit)."""

    item: str
    quantity: float | None
    unit: str | None
    note: str = ""
    budget: float | None = None


@dataclass
class Change:
    """One proposed change to an order: ``add`` / ``set`` an item, ``remove`` it, or ``replace`` it by ``new``."""

    op: str
    item: str
    new: Item | None = None


@dataclass
class ChainLine:
    """One person's line of the chain, as read."""

    line_no: int
    raw: str
    number: int | None = None
    room: str | None = None
    name: str | None = None
    items: list = field(default_factory=list)
    notes: list = field(default_factory=list)     # fragments that could not be read as items: kept, flagged
    flags: list = field(default_factory=list)     # e.g. "no room", "unknown room 20-9999", "corrected by line 7"
    kind: str = "order"                           # order, correction, cancel, repeat, header, chatter
    changes: list = field(default_factory=list)   # corrections, and what a repeat changes on its copy
    ref: str | None = None                        # the room a repeat copies ("above" until the chain resolves it)
    quoted: list = field(default_factory=list)    # quoted text: kept, never the line's own room


def _ref_room(text, building, rooms):
    room, _ = find_room(text, building, rooms)
    if room is None and re.fullmatch(r"\d{3,4}", text.strip("室号 ")) and building:
        room = registry_label(building, text.strip("室号 "), rooms)
    return room


def _goods_like(tok):
    return tok in _GOODS or tok.endswith(_GOODS_ENDINGS) or tok in _APPROX_WORDS


def _is_name(tok, registry_names, decorated):
    """Whether the token in the name's place is a name or a form of address rather than something to buy."""
    if not tok or re.search(r"\d", tok) or len(tok) > 12:
        return False
    if tok in registry_names or (len(tok) == 1 and any(n.startswith(tok) for n in registry_names)):
        return True
    if _ADDRESS.match(tok):
        return True
    if _goods_like(tok) or tok in _FILLER or tok.startswith(_NOTE_PREFIXES) or _CANCEL.match(tok):
        return False
    if _FAMILIAR.match(tok) or (re.fullmatch(r"[\u4e00-\u9fff]{1,4}", tok) and tok[0] in _SURNAMES):
        return True
    if re.fullmatch(r"[A-Za-z][A-Za-z ]{1,11}", tok):
        return True
    return decorated and re.fullmatch(rf"{_WORD}{{1,8}}", tok) is not None


def _take_name(text, room, names, decorated):
    """(name, text without it): a registry name at the start, else the first token if it reads as a name."""
    registry_names = set(names.get(room, ())) if names and room else set()
    body = text.lstrip(" ,，:：")
    for n in sorted(registry_names, key=len, reverse=True):
        if body.startswith(n):
            return n, body[len(n):]
    parts = re.split(r"([\s,，:：]+)", body, maxsplit=1)
    tok = parts[0]
    if _is_name(tok, registry_names, tok in decorated):
        return tok, parts[2] if len(parts) > 2 else ""
    return None, text


def parse_line(raw, line_no=1, building=None, rooms=None, names=None):
    """Parse one chain line.

    ``building`` completes a bare room number (``1702`` → ``20-1702``); ``rooms`` (the registry's room labels)
    settles leading zeros and floor-and-unit forms and flags unknown rooms; ``names`` ({room: [names]}) helps
    tell a one-character surname from an item.
    """
    out = ChainLine(line_no, raw)
    text = _fold(raw).strip()
    if len(text) > MAX_LINE_CHARS:
        # Some of the patterns below cost the square of a line's length: a line far longer than anyone
        # writes in a chain (or sent to stall the node) is kept, with its room, for a person to read.
        out.room, _ = find_room(text[:40], building, rooms)
        out.notes.append(text[:MAX_LINE_CHARS] + "…")
        out.flags.append(f"这一行太长（{len(text)}字），请人工核对 / line too long to read ({len(text)} characters)")
        return out
    decorated = {t.replace(_EMOJI_MARK, "") for t in re.split(r"[\s,，:：]+", text) if _EMOJI_MARK in t}
    text = text.replace(_EMOJI_MARK, " ")
    out.quoted = [q.strip() for q in _QUOTE.findall(text) if q.strip()]
    text = _QUOTE.sub(" ", text)
    m = _REPLY.match(text)
    if m:
        out.quoted.append(m.group(0).strip())
        text = text[m.end():]
    text = _SEPARATOR.sub(" ", text).strip()
    m = _NUMBER.match(text)
    if m and not ROOM_IN_TEXT.match(text) and not (m.group(2) is not None and len(m.group(1)) >= 3):
        out.number = int(m.group(1))
        text = text[m.end():]
    if _EXAMPLE.match(text):
        out.kind = "header"
        return out
    # what a repeat copies comes first: "和1402一样" names another room, not this line's
    m = _REPEAT_ROOM.search(text)
    if m:
        out.ref = _ref_room(m.group("r") or m.group("r2"), building, rooms)
    else:
        m = _REPEAT_QUOTED.search(text) if out.quoted else None
        if m:
            out.ref = next((r for r in (find_room(q, building, rooms)[0] for q in out.quoted) if r), "above")
        else:
            m = _REPEAT_ABOVE.search(text)
            if m:
                quoted_room = next((r for r in (find_room(q, building, rooms)[0] for q in out.quoted) if r), None)
                out.ref = quoted_room or "above"
    if m:
        text = text[:m.start()] + " " + text[m.end():]
    out.room, text = find_room(text, building, rooms)
    if out.room is None and out.ref is None:
        bare = text.strip()
        if not bare or _CHATTER.search(bare):
            out.kind = "chatter"
            if bare:
                out.notes.append(bare)
            return out
        if _HEADER.search(bare):
            out.kind = "header"
            return out
    marked = _CORRECTION_MARK.search(re.sub(r"[(（][^)）]*[)）]", lambda p: "\0" * len(p.group(0)), text))
    if marked:
        text = text[:marked.start()] + " " + text[marked.end():]
    out.name, text = _take_name(text.strip(), out.room, names, decorated)
    _read_body(text, out)
    if out.ref is not None:
        out.kind = "repeat"
        out.changes += [Change("add", i.item, i) for i in out.items]
        out.items = []
    elif out.changes or marked:
        out.kind = "correction"
        out.changes += [Change("set", i.item, i) for i in out.items]
        out.items = []
    elif out.kind == "cancel" and out.items:
        out.kind = "correction"
        out.changes = [Change("remove", i.item) for i in out.items]
        out.items = []
    if out.room is None:
        out.flags.append("no room")
    elif rooms is not None and out.room not in rooms:
        out.flags.append(f"unknown room {out.room}")
    return out


def _expand_each(text):
    """``葡萄、草莓各1盒`` → ``葡萄1盒 草莓1盒``: 各 gives each listed item the same quantity or budget."""
    def repl(m):
        spec = m.group("spec").strip()
        names = [n for n in re.split(r"[、，,和跟及与/\s]+", m.group("list")) if n]
        return " ".join(n + spec for n in names)
    return re.sub(rf"(?:^|(?<=[\s,，;；:：]))(?P<list>{_WORD}+(?:[、，,和跟及与/\s]+{_WORD}+)+)\s*各\s*"
                  rf"(?P<spec>{_MONEY.replace('?P<amt>', '')}|{_QTY}\s*(?:{_UNIT_RE})?)", repl, text)


def _read_body(text, out):
    """Read what follows the room and name: items, notes, changes, and whether the line cancels."""
    text = _GLUE.sub(r"\1\2", text)  # "牛奶 1 箱" → "牛奶1箱"
    text = _GLUE_MONEY.sub(r"\1", text)  # "香菜 5块钱" → "香菜5块钱"
    text = re.sub(r"\s+([xX×*]\s*\d+)", r"\1", text)  # "面条 x2" → "面条x2"
    text = re.sub(r"\s*(改成|改为|换成|改到|变成)\s*", r"\1", text)
    text = re.sub(r"(再加|多加|追加|再要|再帮我加)\s+", r"\1", text)
    text = _expand_each(text)
    mode = "set"
    for clause in (c for c in _CLAUSE_SEP.split(text) if c):
        if _CANCEL.match(clause):
            out.kind = "cancel"
            continue
        change = _read_change(clause)
        if change is not None:
            out.changes += change
            if change and change[0].op == "add":
                mode = "add"
            continue
        if mode == "add" and not clause.startswith(_NOTE_PREFIXES):
            before = len(out.items)
            for tok in (t for t in _SEP.split(clause) if t):
                _read_token(tok, out)
            out.changes += [Change("add", i.item, i) for i in out.items[before:]]
            del out.items[before:]
            continue
        for tok in (t for t in _SEP.split(clause) if t):
            _read_token(tok, out)


def _one_item(text):
    """The single item a fragment names (with its quantity if it has one), or None."""
    probe = ChainLine(0, text)
    for tok in (t for t in _SEP.split(text) if t):
        _read_token(tok, probe)
    if len(probe.items) == 1 and not probe.notes:
        return probe.items[0]
    return None


def _read_change(clause):
    """The changes a clause asks for (``白菜改成3斤``, ``鸡蛋不要了``, ``再加一瓶酱油``), or None if it asks none."""
    m = _CHANGE_TO.match(clause)
    if m:
        x, y = m.group("x"), m.group("y")
        old = _one_item(x) if x else None
        qty = _quantity_spec(y)
        if qty is not None and (old is not None or x):
            name = old.item if old else _clean_item(x)
            return [Change("set", name, Item(name, *qty))]
        new = _one_item(y)
        if new is None:
            return None
        if not x:
            return [Change("add", new.item, new)]
        name = old.item if old else _clean_item(x)
        return [Change("replace", name, new)]
    m = _ADD_PRE.match(clause)
    if m:
        probe = ChainLine(0, clause)
        for tok in (t for t in _SEP.split(m.group("y")) if t):
            _read_token(tok, probe)
        if probe.items and not probe.notes:
            return [Change("add", i.item, i) for i in probe.items]
    m = _ADD_POST.match(clause)
    if m:
        qty = _quantity_spec(m.group("y"))
        if qty:
            return [Change("add", m.group("x"), Item(m.group("x"), *qty))]
    for pattern in (_REMOVE_PRE, _REMOVE_POST):
        m = pattern.match(clause)
        if m:
            x = _clean_item(m.group("x"))
            old = _one_item(x)
            if old is not None and old.quantity is None and old.budget is None and not x.endswith("的") \
                    and len(x) <= 6:
                return [Change("remove", old.item)]
    return None


def _quantity_spec(text):
    """(quantity, unit, note, budget) if the text is only an amount (``3斤``, ``5斤左右``, ``10元``), else None."""
    note = ""
    m = _APPROX_POST.search(text)
    if m:
        note, text = m.group(1), text[:m.start()]
    m = _QTY_ONLY.match(text)
    if m:
        return _amount(m), m.group("unit"), note, None
    m = re.fullmatch(_MONEY, text)
    if m:
        return None, None, note, quantity(m.group("amt"))
    return None


def _amount(m):
    q = quantity(m.group("qty"))
    return q + 0.5 if m.group("half") else q


def _read_token(tok, out):
    if tok in _APPROX_WORDS and out.items:  # "猪肉3斤 左右"
        out.items[-1].note = (out.items[-1].note + " " + tok).strip()
        return
    if tok.startswith(_NOTE_PREFIXES) or tok.endswith(_NOTE_SUFFIXES) or tok in _FILLER:
        out.notes.append(tok)
        return
    pre = post = ""
    m = _APPROX_PRE.match(tok)
    if m and len(tok) > len(m.group(1)):
        pre, tok = m.group(1), tok[m.end():]
    m = _APPROX_POST.search(tok)
    if m and m.start() > 0:
        post, tok = m.group(1), tok[:m.start()]
    before = len(out.items)
    _read_plain(tok, out)
    added = out.items[before:]
    if added:
        if pre:
            added[0].note = (added[0].note + " " + pre).strip()
        if post:
            added[-1].note = (added[-1].note + " " + post).strip()
    elif pre or post:
        out.notes[-1:] = [(pre + (out.notes[-1] if out.notes else "") + post)] if out.notes else [pre + post]


def _read_plain(tok, out):
    m = _BUDGET.match(tok)
    if m and bool(m.group("pre")) != bool(m.group("post")):
        name = _clean_item(m.group("pre") or m.group("post"))
        out.items.append(Item(name, None, None, m.group("approx") or "", quantity(m.group("amt"))))
        return
    m = _TIMES.match(tok)
    if m:
        n = int(m.group("n"))
        if m.group("qty"):
            q = quantity(m.group("qty")) * n
            out.items.append(Item(_clean_item(m.group("item")), q, m.group("unit")))
        else:
            out.items.append(Item(_clean_item(m.group("item")), n, None))
        return
    m = _VERB_QTY_ITEM.match(tok)
    if m and not _goods_like(m.group("lead")):
        _note(m.group("lead"), out)
        tok = m.group("rest")
    if _STARTS_WITH_QTY.match(tok):  # "两斤白菜", "一斤半猪肉"
        m = _QTY_ITEM.fullmatch(tok)
        if m:
            out.items.append(Item(_clean_item(m.group("item")), _amount(m), m.group("unit")))
            return
    pos, found = 0, False
    for m in _ITEM_QTY.finditer(tok):
        lead = tok[pos:m.start()].strip()
        if lead:
            _note(lead, out)
        item = m.group("item")
        m2 = re.match(r"^(左右|上下|多一点|少一点|多点|少点)", item)
        if m2 and out.items and len(item) > len(m2.group(1)):  # "猪肉2斤左右白菜1斤"
            out.items[-1].note = (out.items[-1].note + " " + m2.group(1)).strip()
            item = item[m2.end():]
        m3 = re.search(r"(大概|大约|差不多|左右)$", item)
        note = ""
        if m3 and m3.start() > 0:  # "白菜大概两棵"
            note, item = m3.group(1), item[:m3.start()]
        out.items.append(Item(_clean_item(item), _amount(m), m.group("unit"), note))
        pos, found = m.end(), True
    rest = tok[pos:].strip()
    if not rest:
        return
    m = _QTY_ITEM.fullmatch(rest)
    if m:
        out.items.append(Item(_clean_item(m.group("item")), _amount(m), m.group("unit")))
    elif found and rest in _APPROX_WORDS:
        out.items[-1].note = (out.items[-1].note + " " + rest).strip()
    elif not found and re.fullmatch(rf"{_WORD}{{1,6}}", rest) and "的" not in rest \
            and not rest.startswith(_NOTE_PREFIXES) and rest not in _FILLER:
        out.items.append(Item(_clean_item(rest), None, None))  # an item without a quantity: as the shopper sees fit
    elif rest not in _FILLER:
        _note(rest, out)


def _clean_item(item):
    item = re.sub(r"(?<=.)(还要|再要|要)$", "", item)  # "鸡蛋要一板"
    return re.sub(r"^(我也要|我要|也要|还要|再来|帮我买|帮买|买点|买|要|和|跟|加|把)", "", item) or item


def _note(text, out):
    if text and text not in _FILLER:
        out.notes.append(text)


def parse_chain(text, building=None, known_rooms=None, names=None, keep_ignored=False):
    """Parse a pasted chain: a ChainLine per line, later full lines for the same room correcting earlier ones.

    Lines without a room or with a room not in ``known_rooms`` are kept and flagged, never dropped. Header and
    chatter lines are returned only with ``keep_ignored`` (to show them, greyed, in the review). A repeat of
    "the line above" is resolved to that line's room.
    """
    lines, by_room, last_room = [], {}, None
    for i, raw in enumerate(text.splitlines(), start=1):
        if not normalise(raw).strip():
            continue
        line = parse_line(raw, i, building, known_rooms, names)
        if line.kind in ("header", "chatter"):
            if keep_ignored:
                lines.append(line)
            continue
        if line.ref == "above":
            if last_room is None:
                line.flags.append("同上 but no order above / 上面没有可复制的订单")
            else:
                line.ref = last_room
        if line.kind == "order" and line.room and line.room in by_room:
            by_room[line.room].flags.append(f"corrected by line {i}")
        if line.kind == "order" and line.room:
            by_room[line.room] = line
        if line.kind in ("order", "repeat") and line.room:
            last_room = line.room
        lines.append(line)
    return lines


def same_line(a, b):
    """Whether two chain lines say the same thing (ignoring the chain number, spacing and full-width forms)."""
    def key(text):
        text = normalise(text or "").strip()
        m = _NUMBER.match(text)
        if m and not ROOM_IN_TEXT.match(text):
            text = text[m.end():]
        return re.sub(r"\s+", " ", text)
    return key(a) == key(b)


def current_lines(lines):
    """The lines that stand: for each room the last one, plus every line without a room (to sort out)."""
    return [ln for ln in lines if not any(f.startswith("corrected by") for f in ln.flags)]


_TITLE_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")


def title_day(lines, near):
    """The day a chain's title names (``#接龙 2月5日 20栋买菜`` → 5 February), in the year that puts it nearest
    ``near`` (a chain of 31 December read on 1 January is last year's); None when no header names one."""
    for ln in lines:
        m = _TITLE_DAY.search(normalise(ln.raw)) if ln.kind == "header" else None
        if not m:
            continue
        days = []
        for year in (near.year - 1, near.year, near.year + 1):
            try:
                days.append(datetime.date(year, int(m.group(1)), int(m.group(2))))
            except ValueError:  # 2月30日, 13月1日: not a day
                pass
        if days:
            return min(days, key=lambda d: abs((d - near).days))
    return None
