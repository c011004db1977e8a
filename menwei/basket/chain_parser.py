"""Parsing a group chat's chain order (接龙) into draft orders, without I/O.

`3. 20-1702 张三 白菜2斤 鸡蛋1板 酱油一瓶 有的话带点姜` → room 20-1702, name 张三, three items with
quantity and unit, and the fragment it could not read kept as a note, flagged: nothing is dropped.
"""
import re
import unicodedata
from dataclasses import dataclass, field

UNITS = ("公斤", "千克", "斤", "两", "克", "kg", "g", "个", "只", "板", "箱", "瓶", "袋", "包", "盒", "把", "颗",
         "根", "条", "桶", "提", "份", "块", "罐", "支", "棵", "头", "串", "捆", "盒", "听", "片", "卷", "排")
_UNIT_RE = "|".join(sorted(set(UNITS), key=len, reverse=True))
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9, "十": 10, "半": 0.5}
_QTY = r"(?:\d+(?:\.\d+)?|[一二两俩三四五六七八九十]+半?|半)"
_ITEM_QTY = re.compile(rf"(?P<item>[\u4e00-\u9fffA-Za-z]+?)\s*(?P<qty>{_QTY})\s*(?P<unit>{_UNIT_RE})(?P<half>半)?")
_QTY_ITEM = re.compile(rf"(?P<qty>{_QTY})\s*(?P<unit>{_UNIT_RE})(?P<half>半)?\s*(?P<item>[\u4e00-\u9fffA-Za-z]+)")
_STARTS_WITH_QTY = re.compile(rf"^{_QTY}\s*(?:{_UNIT_RE})")
_GLUE = re.compile(rf"\s+({_QTY})\s*({_UNIT_RE})(?=[\s,，、;；]|$)")
# Fragments that are wishes, conditions or thanks, not things to buy: kept whole as notes.
_NOTE_PREFIXES = ("有的话", "如果", "没有", "不要", "要是", "最好", "尽量", "谢谢", "感谢", "辛苦", "麻烦", "改",
                  "备注", "注", "随便", "要甜", "要新鲜", "要大")
_NUMBER = re.compile(r"^\s*(?:第\s*)?(\d{1,3})\s*(?:[.、．):：）]|\s)\s*")
_ROOM = re.compile(r"(?<!\d)(\d{1,2})\s*(?:栋|幢|号楼|-|—|－|#|/)\s*(\d{3,4})(?:室|号)?(?!\d)")
_BARE_ROOM = re.compile(r"(?<!\d)(\d{3,4})(?:室|号)?(?![\d斤克个只板箱瓶袋包盒])")
_SEP = re.compile(r"[\s,，、;；+＋/()（）\[\]【】]+")
_SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
                "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
                "莫孔向汤晏欧阳")
_FILLER = {"要", "买", "帮买", "麻烦", "谢谢", "感谢", "辛苦了", "辛苦", "谢谢了", "你们辛苦了", "志愿者辛苦了"}


def normalise(text):
    """Fold full-width characters, drop emoji and other symbols that are not words."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not (unicodedata.category(ch) in ("So", "Sk", "Cs", "Co")
                                             or 0x1F000 <= ord(ch) <= 0x1FAFF or ch in "\u200d\ufe0f"))


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
    """One thing to buy."""

    item: str
    quantity: float | None
    unit: str | None
    note: str = ""


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


def parse_line(raw, line_no=1, building=None):
    """Parse one chain line; ``building`` completes a bare room number (``1702`` → ``20-1702``)."""
    text = normalise(raw).strip()
    out = ChainLine(line_no, raw)
    m = _NUMBER.match(text)
    if m and not _ROOM.match(text):
        out.number = int(m.group(1))
        text = text[m.end():]
    m = _ROOM.search(text)
    if m:
        out.room = f"{int(m.group(1))}-{m.group(2)}"
        text = (text[:m.start()] + " " + text[m.end():]).strip()
    else:
        m = _BARE_ROOM.search(text)
        if m and building:
            out.room = f"{building}-{m.group(1)}"
            text = (text[:m.start()] + " " + text[m.end():]).strip()
    if out.room is None:
        out.flags.append("no room")
    text = _GLUE.sub(r"\1\2", text)  # "牛奶 1 箱" → "牛奶1箱"
    tokens = [t for t in _SEP.split(text) if t]
    if tokens and re.fullmatch(r"[\u4e00-\u9fff]{2,4}", tokens[0]) and tokens[0][0] in _SURNAMES \
            and not _ITEM_QTY.search(tokens[0]) and len(tokens) > 1:
        out.name = tokens.pop(0)
    for tok in tokens:
        _read_token(tok, out)
    return out


def _amount(m):
    q = quantity(m.group("qty"))
    return q + 0.5 if m.group("half") else q


def _read_token(tok, out):
    if tok.startswith(_NOTE_PREFIXES) or tok in _FILLER:
        out.notes.append(tok)
        return
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
        out.items.append(Item(_clean_item(m.group("item")), _amount(m), m.group("unit")))
        pos, found = m.end(), True
    rest = tok[pos:].strip()
    if not rest:
        return
    m = _QTY_ITEM.fullmatch(rest)
    if m:
        out.items.append(Item(_clean_item(m.group("item")), _amount(m), m.group("unit")))
    elif not found and re.fullmatch(r"[\u4e00-\u9fffA-Za-z]{1,5}", rest) and "的" not in rest \
            and not rest.startswith(_NOTE_PREFIXES):
        out.items.append(Item(rest, None, None))  # an item without a quantity: one, or as the shopper sees fit
    elif rest not in _FILLER:
        _note(rest, out)


def _clean_item(item):
    return re.sub(r"^(买|要|再来|还要|和|跟|加)", "", item) or item


def _note(text, out):
    if text and text not in _FILLER:
        out.notes.append(text)


def parse_chain(text, building=None, known_rooms=None):
    """Parse a pasted chain: a ChainLine per person, later lines for the same room correcting earlier ones.

    Lines without a room or with a room not in ``known_rooms`` are kept and flagged, never dropped.
    Header lines (the chain's title, 接龙 / 例) are skipped.
    """
    lines, by_room = [], {}
    for i, raw in enumerate(text.splitlines(), start=1):
        stripped = normalise(raw).strip()
        if not stripped or re.match(r"^(#?接龙|例|格式|\d+月\d+日.*接龙)", stripped):
            continue
        line = parse_line(raw, i, building)
        if line.room is None and not line.items and not line.notes:
            continue
        if known_rooms is not None and line.room and line.room not in known_rooms:
            line.flags.append(f"unknown room {line.room}")
        if line.room and line.room in by_room:
            earlier = by_room[line.room]
            earlier.flags.append(f"corrected by line {i}")
        if line.room:
            by_room[line.room] = line
        lines.append(line)
    return lines


def same_line(a, b):
    """Whether two chain lines say the same thing (ignoring the chain number, spacing and full-width forms)."""
    def key(text):
        text = normalise(text or "").strip()
        m = _NUMBER.match(text)
        if m and not _ROOM.match(text):
            text = text[m.end():]
        return re.sub(r"\s+", " ", text)
    return key(a) == key(b)


def current_lines(lines):
    """The lines that stand: for each room the last one, plus every line without a room (to sort out)."""
    return [ln for ln in lines if not any(f.startswith("corrected by") for f in ln.flags)]
