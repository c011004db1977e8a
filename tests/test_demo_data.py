"""Tests for menwei.demo.data: the deterministic 绿景水岸小区 demo compound."""

import ast
import collections
import datetime
import pathlib
import time
import uuid

import pytest

from menwei.demo import data as demo_data
from menwei.demo.data import QUARANTINED_BUILDING, generate_compound, id_check_digit

DATA = generate_compound()
REFERENCE = datetime.date(2020, 2, 1)

KEYS = {
    "compound": {"id", "name", "city", "district", "address"},
    "buildings": {"id", "compound_id", "number", "name", "floors"},
    "households": {"id", "compound_id", "building_id", "room", "label", "notes"},
    "residents": {"id", "compound_id", "household_id", "name", "gender", "birth_date", "phone",
                  "id_number", "party_member", "notes"},
    "vehicles": {"id", "compound_id", "household_id", "plate", "notes"},
}


def _age(resident):
    born = datetime.date.fromisoformat(resident["birth_date"])
    return REFERENCE.year - born.year - ((REFERENCE.month, REFERENCE.day) < (born.month, born.day))


def _building(data, number):
    return next(b for b in data["buildings"] if b["number"] == number)


def _households_in(data, number):
    building_id = _building(data, number)["id"]
    return [h for h in data["households"] if h["building_id"] == building_id]


def _residents_in(data, number):
    ids = {h["id"] for h in _households_in(data, number)}
    return [r for r in data["residents"] if r["household_id"] in ids]


def test_output_has_exactly_the_documented_top_level_and_record_keys():
    assert set(DATA) == set(KEYS)
    assert set(DATA["compound"]) == KEYS["compound"]
    for table in ("buildings", "households", "residents", "vehicles"):
        assert DATA[table], table
        for record in DATA[table]:
            assert set(record) == KEYS[table], (table, record)


def test_compound_is_lujing_shuian_in_yushui_district_xinyu():
    compound = DATA["compound"]
    assert compound["name"] == "绿景水岸小区"
    assert compound["city"] == "新余市"
    assert compound["district"] == "渝水区"
    assert "新余市" in compound["address"] and compound["address"].endswith("号")


def test_about_thirty_buildings_with_6_to_33_floors_and_consistent_names():
    buildings = DATA["buildings"]
    assert 28 <= len(buildings) <= 32
    assert len({b["number"] for b in buildings}) == len(buildings)
    for b in buildings:
        assert isinstance(b["floors"], int) and 6 <= b["floors"] <= 33
        assert b["name"] == b["number"] + "栋"


def test_totals_are_about_1300_households_and_4500_residents():
    assert 1280 <= len(DATA["households"]) <= 1320
    assert 4450 <= len(DATA["residents"]) <= 4600


def test_household_sizes_range_from_one_to_seven_and_every_household_is_occupied():
    sizes = collections.Counter(r["household_id"] for r in DATA["residents"])
    assert set(sizes) == {h["id"] for h in DATA["households"]}
    assert min(sizes.values()) == 1 and max(sizes.values()) == 7
    most_common_size = collections.Counter(sizes.values()).most_common(1)[0][0]
    assert most_common_size in (3, 4)


def test_building_20_has_42_households_and_163_people():
    assert QUARANTINED_BUILDING == "20"
    assert len(_households_in(DATA, "20")) == 42
    assert len(_residents_in(DATA, "20")) == 163


def test_building_20_has_18_floors_and_contains_room_1702():
    assert _building(DATA, "20")["floors"] == 18
    assert "1702" in {h["room"] for h in _households_in(DATA, "20")}


def test_building_20_has_the_rooms_the_seed_names():
    for seed in (2020, 7):
        rooms = {h["room"] for h in _households_in(generate_compound(seed), "20")}
        assert {"504", "1401", "1404", "1702"} <= rooms, seed


def test_building_20_has_exactly_24_party_members():
    assert sum(r["party_member"] for r in _residents_in(DATA, "20")) == 24


def test_party_members_are_six_to_eight_percent_overall_and_adults():
    members = [r for r in DATA["residents"] if r["party_member"]]
    assert all(isinstance(r["party_member"], bool) for r in DATA["residents"])
    assert 0.06 <= len(members) / len(DATA["residents"]) <= 0.08
    assert all(_age(r) >= 18 for r in members)


def test_same_seed_gives_identical_output():
    assert generate_compound(2020) == generate_compound(2020)
    assert generate_compound(7) == generate_compound(7)


def test_different_seed_gives_different_output():
    other = generate_compound(2021)
    assert other != DATA
    assert other["compound"]["id"] != DATA["compound"]["id"]


def test_default_seed_is_2020():
    assert generate_compound() == generate_compound(2020)


def test_totals_building_20_and_the_one_hubei_plate_hold_for_other_seeds():
    for seed in (0, 1, 42, 31337):
        data = generate_compound(seed)
        assert 1280 <= len(data["households"]) <= 1320
        assert 4450 <= len(data["residents"]) <= 4600
        assert len(_households_in(data, "20")) == 42
        assert len(_residents_in(data, "20")) == 163
        assert sum(r["party_member"] for r in _residents_in(data, "20")) == 24
        assert [v["plate"][:2] for v in data["vehicles"]].count("鄂A") == 1


def test_every_id_is_a_unique_uuid4_string():
    ids = [DATA["compound"]["id"]]
    for table in ("buildings", "households", "residents", "vehicles"):
        ids.extend(record["id"] for record in DATA[table])
    assert len(ids) == len(set(ids))
    for value in ids:
        assert isinstance(value, str) and uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value


def test_every_reference_points_at_an_existing_record():
    compound_id = DATA["compound"]["id"]
    building_ids = {b["id"] for b in DATA["buildings"]}
    household_ids = {h["id"] for h in DATA["households"]}
    for table in ("buildings", "households", "residents", "vehicles"):
        assert all(record["compound_id"] == compound_id for record in DATA[table])
    assert all(h["building_id"] in building_ids for h in DATA["households"])
    assert all(r["household_id"] in household_ids for r in DATA["residents"])
    assert all(v["household_id"] in household_ids for v in DATA["vehicles"])


def test_household_labels_are_unique_and_built_from_building_and_room():
    numbers = {b["id"]: b for b in DATA["buildings"]}
    labels = [h["label"] for h in DATA["households"]]
    assert len(labels) == len(set(labels))
    for h in DATA["households"]:
        building = numbers[h["building_id"]]
        assert h["label"] == "%s-%s" % (building["number"], h["room"])
        floor, unit = int(h["room"][:-2]), int(h["room"][-2:])
        assert 1 <= floor <= building["floors"] and unit >= 1


def test_rooms_are_unique_within_each_building():
    pairs = [(h["building_id"], h["room"]) for h in DATA["households"]]
    assert len(pairs) == len(set(pairs))


def test_notes_are_mostly_empty():
    for table in ("households", "residents", "vehicles"):
        empty = sum(record["notes"] == "" for record in DATA[table])
        assert empty / len(DATA[table]) > 0.9


def test_id_check_digit_matches_known_examples():
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"
    with pytest.raises(ValueError):
        id_check_digit("1234")


def test_every_id_number_has_valid_check_digit_birth_date_and_gender_parity():
    id_numbers = [r["id_number"] for r in DATA["residents"]]
    assert len(id_numbers) == len(set(id_numbers))
    for r in DATA["residents"]:
        number = r["id_number"]
        assert len(number) == 18 and number[:17].isdigit()
        assert number[17] == id_check_digit(number[:17])
        assert number[6:14] == r["birth_date"].replace("-", "")
        assert r["gender"] in ("男", "女")
        assert (int(number[16]) % 2 == 1) == (r["gender"] == "男")


def test_most_residents_are_registered_in_xinyu_and_a_few_come_from_elsewhere():
    regions = [r["id_number"][:6] for r in DATA["residents"]]
    assert sum(code.startswith("3605") for code in regions) / len(regions) > 0.75
    assert any(code.startswith("4201") for code in regions)


def test_birth_dates_cover_children_working_adults_and_elderly():
    ages = [_age(r) for r in DATA["residents"]]
    assert all(0 <= age <= 100 for age in ages)
    children = sum(age < 14 for age in ages) / len(ages)
    elderly = sum(age >= 60 for age in ages) / len(ages)
    assert 0.10 <= children <= 0.25
    assert 0.12 <= elderly <= 0.30
    assert 0.45 <= 1 - children - elderly


def test_phones_are_11_digit_mobile_numbers_or_empty_and_children_have_none():
    for r in DATA["residents"]:
        phone = r["phone"]
        assert phone == "" or (len(phone) == 11 and phone.isdigit()
                               and phone[:2] in ("13", "15", "17", "18", "19"))
        if _age(r) < 14:
            assert phone == ""
    assert sum(r["phone"] != "" for r in DATA["residents"]) / len(DATA["residents"]) > 0.7


def test_names_are_chinese_with_common_surnames_and_both_genders():
    residents = DATA["residents"]
    assert all(2 <= len(r["name"]) <= 4 for r in residents)
    surnames = collections.Counter(r["name"][0] for r in residents)
    assert {s for s, _ in surnames.most_common(6)} & {"王", "李", "张", "刘"} == {"王", "李", "张", "刘"}
    assert 0.4 <= sum(r["gender"] == "男" for r in residents) / len(residents) <= 0.6


def test_exactly_one_hubei_plate_belonging_to_household_20_1702():
    hubei = [v for v in DATA["vehicles"] if v["plate"].startswith("鄂A")]
    assert len(hubei) == 1
    owner = next(h for h in DATA["households"] if h["id"] == hubei[0]["household_id"])
    assert owner["label"] == "20-1702"


def test_other_plates_are_unique_xinyu_gan_k_plates():
    plates = [v["plate"] for v in DATA["vehicles"]]
    assert len(plates) == len(set(plates))
    for plate in plates:
        assert plate[:2] in ("赣K", "鄂A") and len(plate) == 7 and plate[2:].isalnum() and plate[-4:].isdigit()
    assert sum(p.startswith("赣K") for p in plates) == len(plates) - 1


def test_about_one_car_per_three_households():
    ratio = len(DATA["vehicles"]) / len(DATA["households"])
    assert 0.28 <= ratio <= 0.38


def test_generation_takes_well_under_a_second_of_cpu():
    start = time.process_time()  # the generator's own work: wall time on a shared machine measures its neighbours
    generate_compound(99)
    assert time.process_time() - start < 0.5


def test_module_imports_only_random_uuid_and_datetime():
    tree = ast.parse(pathlib.Path(demo_data.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"random", "uuid", "datetime"}


def test_public_functions_have_docstrings():
    public = [f for name, f in vars(demo_data).items()
              if callable(f) and not name.startswith("_") and getattr(f, "__module__", None) == demo_data.__name__]
    assert generate_compound in public and id_check_digit in public
    assert [f.__name__ for f in public if not (f.__doc__ or "").strip()] == []
