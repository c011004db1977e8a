"""The desk's search box: one field for rooms, names, pinyin, initials, plates, codes and QR scans."""
import pytest

from menwei.gate.search import readings, room_label


@pytest.mark.parametrize("typed, label", [("20-1702", "20-1702"), ("20栋1702", "20-1702"), ("20 1702", "20-1702"),
                                          ("２０栋１７０２室", "20-1702"), ("20号楼1702", "20-1702"), ("20", "20-"),
                                          ("zhang", None), ("K7Q2M9", None)])
def test_room_is_recognised_however_it_is_typed(typed, label):
    assert room_label(typed) == label


@pytest.mark.parametrize("name, full, initials", [("张三", "zhangsan", "zs"), ("曾志平", "zengzhiping", "zzp"),
                                                  ("廖志平", "liaozhiping", "lzp"), ("欧阳小流", "ouyangxiaoliu", "oyxl")])
def test_names_can_be_typed_as_pinyin_or_initials(name, full, initials):
    fulls, inits = readings(name)
    assert full in fulls and initials in inits


def _search(gate, q):
    r = gate.east.api("GET", f"/gate/search?q={q}")
    assert r.status_code == 200
    return [(x["kind"], x["label"]) for x in r.get_json()["results"]]


@pytest.mark.parametrize("q, hit", [
    ("20-1702", ("household", "20-1702")), ("20栋1702", ("household", "20-1702")),
    ("２０－１７０２", ("household", "20-1702")), ("张", ("resident", "张三")), ("zs", ("resident", "张三")),
    ("zhangs", ("resident", "张三")), ("lis", ("resident", "李四")), ("鄂A1", ("vehicle", "鄂A12345")),
    ("鄂a·12345", ("vehicle", "鄂A12345")), ("PASS77", ("pass", "PASS77")), ("MENWEI:PASS77", ("pass", "PASS77")),
])
def test_search_finds_what_a_volunteer_types(gate, q, hit):
    gate.hub_row("passes", kind="outing", code="PASS77", household_id=gate.h1702)
    gate.sync()
    assert hit in _search(gate, q)


def test_building_number_lists_its_rooms(gate):
    assert _search(gate, "20") == [("household", "20-1702")]


def test_nothing_found_is_an_empty_list_and_long_queries_are_refused(gate):
    assert _search(gate, "xyzxyz") == []
    assert gate.east.api("GET", "/gate/search?q=" + "x" * 101).status_code == 400
