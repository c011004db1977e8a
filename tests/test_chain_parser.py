"""Chain orders (接龙) as residents really type them: numbers, rooms, names, items, quantities, units, mess."""
import pytest

from menwei.basket.chain_parser import current_lines, parse_chain, parse_line, quantity


def _items(line):
    return [(i.item, i.quantity, i.unit) for i in line.items]


CASES = [
    ("3. 20-1702 张三 白菜2斤 鸡蛋1板 酱油一瓶 有的话带点姜", 3, "20-1702", "张三",
     [("白菜", 2, "斤"), ("鸡蛋", 1, "板"), ("酱油", 1, "瓶")], ["有的话带点姜"]),
    ("1. 20-504 张小流 大米一袋 食用油1桶", 1, "20-504", "张小流", [("大米", 1, "袋"), ("食用油", 1, "桶")], []),
    ("12、20栋1401 廖志平 猪肉半斤 土豆3个", 12, "20-1401", "廖志平", [("猪肉", 0.5, "斤"), ("土豆", 3, "个")], []),
    ("2) 20-1404 刘燕波 牛奶1箱+面条两包", 2, "20-1404", "刘燕波", [("牛奶", 1, "箱"), ("面条", 2, "包")], []),
    ("20-1702 白菜2斤鸡蛋1板", None, "20-1702", None, [("白菜", 2, "斤"), ("鸡蛋", 1, "板")], []),
    ("５．２０－１５０３ 王芳 苹果２斤 香蕉１把", 5, "20-1503", "王芳", [("苹果", 2, "斤"), ("香蕉", 1, "把")], []),
    ("6. 20-601 陈静 🍎苹果3斤🍌香蕉一把 谢谢志愿者🙏", 6, "20-601", "陈静",
     [("苹果", 3, "斤"), ("香蕉", 1, "把")], ["谢谢志愿者"]),
    ("7 20-702 李强 西红柿两斤，黄瓜3根，鸡蛋一板", 7, "20-702", "李强",
     [("西红柿", 2, "斤"), ("黄瓜", 3, "根"), ("鸡蛋", 1, "板")], []),
    ("8. 20#803 周敏 牛肉1公斤", 8, "20-803", "周敏", [("牛肉", 1, "公斤")], []),
    ("9. 20-901 吴刚 排骨500克 青菜1把", 9, "20-901", "吴刚", [("排骨", 500, "克"), ("青菜", 1, "把")], []),
    ("10. 20-1001 徐丽 两斤白菜 三个洋葱", 10, "20-1001", "徐丽", [("白菜", 2, "斤"), ("洋葱", 3, "个")], []),
    ("11. 20-1101 孙伟 卫生纸1提、洗洁精1瓶、口罩", 11, "20-1101", "孙伟",
     [("卫生纸", 1, "提"), ("洗洁精", 1, "瓶"), ("口罩", None, None)], []),
    ("13. 20-1302 马云 鸡蛋十二个", 13, "20-1302", "马云", [("鸡蛋", 12, "个")], []),
    ("14. 20-1402 朱红 鱼一条 如果没有鱼就买虾1斤", 14, "20-1402", "朱红", [("鱼", 1, "条")],
     ["如果没有鱼就买虾1斤"]),
    ("15. 20-1502 胡军 酸奶2盒 不要太甜的", 15, "20-1502", "胡军", [("酸奶", 2, "盒")], ["不要太甜的"]),
    ("16. 20-1602 郭静 米一袋 油一桶 盐两包 糖一包", 16, "20-1602", "郭静",
     [("米", 1, "袋"), ("油", 1, "桶"), ("盐", 2, "包"), ("糖", 1, "包")], []),
    ("17. 20-1701 何平 萝卜1.5斤", 17, "20-1701", "何平", [("萝卜", 1.5, "斤")], []),
    ("18. 20-1801 高洁 一斤半猪肉 鸡蛋2斤半", 18, "20-1801", "高洁", [("猪肉", 1.5, "斤"), ("鸡蛋", 2.5, "斤")], []),
    ("19. 20-302 林涛 饺子2袋 汤圆1袋 辛苦了", 19, "20-302", "林涛", [("饺子", 2, "袋"), ("汤圆", 1, "袋")],
     ["辛苦了"]),
    ("20. 20-402 罗兰 葱 姜 蒜", 20, "20-402", "罗兰", [("葱", None, None), ("姜", None, None), ("蒜", None, None)], []),
    ("21 20-502 郑浩 牛奶 1 箱", 21, "20-502", "郑浩", [("牛奶", 1, "箱")], []),
    ("22. 20-602 梁晨 面粉5斤；酵母1包", 22, "20-602", "梁晨", [("面粉", 5, "斤"), ("酵母", 1, "包")], []),
    ("23. 20-702 谢娜 鸡腿6只 可乐1瓶 电池2节", 23, "20-702", "谢娜",
     [("鸡腿", 6, "只"), ("可乐", 1, "瓶")], ["电池2节"]),
    ("24. 20-802 宋佳 西瓜半个", 24, "20-802", "宋佳", [("西瓜", 0.5, "个")], []),
    ("25. 20-902 唐嫣 土豆2kg", 25, "20-902", "唐嫣", [("土豆", 2, "kg")], []),
    ("26.  20-1002  韩梅  豆腐2块", 26, "20-1002", "韩梅", [("豆腐", 2, "块")], []),
    ("27. 20栋1102室 冯刚 青椒1斤", 27, "20-1102", "冯刚", [("青椒", 1, "斤")], []),
    ("28. 1202 邓超 白菜1棵", 28, "20-1202", "邓超", [("白菜", 1, "棵")], []),
    ("29. 20-1302 曹操 方便面1箱 火腿肠2包", 29, "20-1302", "曹操", [("方便面", 1, "箱"), ("火腿肠", 2, "包")], []),
    ("30. 20-1402 彭丽 橘子3斤 要甜的", 30, "20-1402", "彭丽", [("橘子", 3, "斤")], ["要甜的"]),
    ("31. 曾志伟 白菜2斤", 31, None, "曾志伟", [("白菜", 2, "斤")], []),
]


@pytest.mark.parametrize("raw, number, room, name, items, notes", CASES, ids=[c[0][:18] for c in CASES])
def test_chain_line_is_read_as_a_volunteer_would(raw, number, room, name, items, notes):
    line = parse_line(raw, building="20")
    assert (line.number, line.room, line.name) == (number, room, name)
    assert _items(line) == items
    assert line.notes == notes


def test_line_without_a_room_is_kept_and_flagged():
    line = parse_line("31. 曾志伟 白菜2斤")
    assert line.flags == ["no room"] and _items(line) == [("白菜", 2, "斤")]


def test_whole_chain_with_header_blank_lines_unknown_room_and_a_correction():
    text = """#接龙 2月5日 20栋买菜
例：1. 20-101 张三 白菜2斤

1. 20-1702 张三 白菜2斤 鸡蛋1板
2. 20-504 张小流 大米一袋
3. 20-9999 路人甲 可乐1瓶
4. 20-1702 张三 白菜3斤 鸡蛋1板（改一下）
"""
    lines = parse_chain(text, building="20", known_rooms={"20-1702", "20-504"})
    assert [ln.line_no for ln in lines] == [4, 5, 6, 7]
    assert lines[0].flags == ["corrected by line 7"]
    assert lines[2].flags == ["unknown room 20-9999"]
    standing = current_lines(lines)
    assert [ln.line_no for ln in standing] == [5, 6, 7]
    assert _items(standing[-1]) == [("白菜", 3, "斤"), ("鸡蛋", 1, "板")] and standing[-1].notes == ["改一下"]


def test_free_text_between_items_is_a_note_and_the_items_around_it_keep_their_quantities():
    line = parse_line("9. 20-1702 张三 白菜2斤 随便带点水果 鸡蛋1板")
    assert line.name == "张三" and _items(line) == [("白菜", 2, "斤"), ("鸡蛋", 1, "板")]
    assert line.notes == ["随便带点水果"]


NUMERALS_AND_ROOM_WORDS = set("一二两三四五六七八九十半栋室")


@pytest.mark.parametrize("raw", [c[0] for c in CASES] + ["9. 20-1702 张三 白菜2斤 随便带点水果 鸡蛋1板"],
                         ids=[c[0][:18] for c in CASES] + ["note between items"])
def test_no_written_word_of_a_line_is_dropped(raw):
    """Every Chinese character written (but numerals and room words, read as quantities and rooms) is kept."""
    line = parse_line(raw, building="20")
    kept = "".join([line.name or ""] + [i.item + (i.unit or "") + i.note for i in line.items] + line.notes)
    dropped = [c for c in raw if "\u4e00" <= c <= "\u9fff" and c not in NUMERALS_AND_ROOM_WORDS and c not in kept]
    assert dropped == []


@pytest.mark.parametrize("text, value", [("2", 2), ("1.5", 1.5), ("一", 1), ("两", 2), ("十", 10), ("十二", 12),
                                         ("二十", 20), ("半", 0.5), ("一半", 1.5), ("三半", 3.5)])
def test_quantities_in_arabic_and_chinese_numerals(text, value):
    assert quantity(text) == value


def test_a_line_far_longer_than_anyone_writes_is_kept_flagged_and_read_quickly():
    # some patterns cost the square of a line's length: 20,000 characters of one word took 23 s to read
    import time
    for raw in ("20-1702 " + "白" * 20_000, "20-1702 " + "白菜x" * 6000, "20-1702 " + "白 " * 10_000):
        t = time.perf_counter()
        line = parse_line(raw, building="20")
        assert time.perf_counter() - t < 1
        assert line.room == "20-1702" and line.items == [] and line.notes[0].endswith("…")
        assert "太长" in line.flags[0] and "too long" in line.flags[0]


def test_the_parser_stays_pure_no_web_or_database_framework_is_imported():
    import subprocess
    import sys
    code = ("import sys, menwei.basket.chain_parser\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'werkzeug', 'sqlalchemy', 'sync'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("typed", ["20-1702", "20栋1702", "20栋1702室", "20号楼1702", "20幢1702号", "20#1702",
                                   "20/1702", "20—1702", "20－1702", "２０栋１７０２"])
def test_a_room_written_in_a_chain_line_reads_as_the_desk_and_gate_read_it_typed(typed):
    from menwei.gate.labels import fold, room_label
    assert room_label(typed) == "20-1702"  # the desk's search box and the gate check
    line = parse_line(f"1. {typed} 张三 白菜2斤")
    assert line.room == "20-1702" and [i.item for i in line.items] == ["白菜"], (line.room, fold(typed))


def test_chat_forms_the_desk_does_not_take_still_read_in_a_chain_line():
    rooms = {"13-1304", "13-1305", "20-1702"}
    assert parse_line("2. 13楼04 王阿姨 鸡蛋1板", building="13", rooms=rooms).room == "13-1304"
    assert parse_line("3. 1702 李四 大米1袋", building="20", rooms=rooms).room == "20-1702"
    assert parse_line("4. 和1305一样", building="13", rooms=rooms).ref == "13-1305"


def test_the_day_a_chains_title_names_is_read_in_the_nearest_year():
    import datetime
    from menwei.basket.chain_parser import parse_chain, title_day
    lines = parse_chain("#接龙 2月5日 20栋买菜，截止8点\n1. 20-1702 白菜2斤 2月6日送\n", "20", keep_ignored=True)
    assert title_day(lines, datetime.date(2020, 2, 4)) == datetime.date(2020, 2, 5)
    new_year = parse_chain("12月31日 接龙\n", "20", keep_ignored=True)
    assert title_day(new_year, datetime.date(2021, 1, 1)) == datetime.date(2020, 12, 31)
    assert title_day(parse_chain("接龙 2月30日\n1. 20-1702 白菜2斤 2月6日\n", "20", keep_ignored=True),
                     datetime.date(2020, 2, 4)) is None  # no such day; an order line's date is not the title's
