"""Deterministic demo data: 绿景水岸小区, 春龙社区, 渝水区, 新余市, as sealed in February 2020.

Pure standard library (random, uuid, datetime).  ``generate_compound(seed)`` returns plain
dicts; the same seed always yields the same compound.  Building 20 (20栋) is the quarantined
building: exactly 42 households, 163 residents and 24 party members, and household 20-1702
owns the single Hubei (鄂A) car that a 2020 tip-off led volunteers to check.
"""

import datetime
import random
import uuid

QUARANTINED_BUILDING = "20"
QUARANTINED_HOUSEHOLDS = 42
QUARANTINED_RESIDENTS = 163
QUARANTINED_PARTY_MEMBERS = 24
HUBEI_PLATE_ROOM = "1702"
#: The rooms of building 20 the seed's story names: 504 (张小流), 1401 (廖志平), 1404 (刘燕波), 1702 (the 鄂A car).
SEED_ROOMS = ("504", "1401", "1404", HUBEI_PLATE_ROOM)
REFERENCE_DATE = datetime.date(2020, 2, 1)  # ages are computed as of this day
BUILDING_COUNT = 30

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"

# Surname weights (per mille, roughly national frequency, nudged toward Jiangxi: 刘 胡 罗 邹 熊 彭 曾 …).
_SURNAME_TABLE = """
王68 李68 张62 刘64 陈46 杨30 黄30 赵20 吴22 周20 徐17 孙14 马12 朱13 胡18 郭11 何12 高10 林11 罗14
郑9 梁8 谢8 宋7 唐7 许6 韩5 冯6 邓7 曹6 彭9 曾9 肖7 田5 董5 袁6 潘5 于4 蒋5 蔡5 余6 杜4 叶4 程4
苏4 魏4 吕4 丁4 任4 沈4 姚4 卢4 姜3 崔3 钟5 谭3 陆3 汪3 范3 金3 石3 廖4 贾3 夏3 韦2 付3 方3 白3
邹5 孟3 熊5 秦3 邱3 江3 尹3 薛2 闫2 段2 雷2 侯2 龙2 史2 陶2 黎3 贺2 顾2 毛2 郝2 龚2 邵2 万2 钱2
严2 覃1 武2 戴2 莫2 孔2 向2 汤2 傅3 晏2 敖1 简1 欧阳1
"""


def _parse_weighted(table):
    names, weights = [], []
    for token in table.split():
        name = token.rstrip("0123456789")
        names.append(name)
        weights.append(int(token[len(name):]))
    return names, weights


_SURNAMES, _SURNAME_WEIGHTS = _parse_weighted(_SURNAME_TABLE)

# Given-name characters by generation (born before 1965 / 1965-1989 / 1990 on) and gender.
_GIVEN_CHARS = {
    ("old", "男"): "国建福根生金水华明德荣发才保忠礼贵春林桂平庆志文",
    ("old", "女"): "秀兰英桂珍凤芳梅莲花玉翠香娥春菊琴淑华云凤珠",
    ("mid", "男"): "伟强磊军勇杰涛斌超明刚平辉鹏华飞波海峰亮东新毅锋建志文斌军红晓",
    ("mid", "女"): "芳娜敏静丽艳娟霞燕玲婷雪慧萍红梅琳莉洁颖琴兰晓小丹春亚",
    ("new", "男"): "浩宇轩子睿杰俊辰泽博皓文一梓宸铭晨航鑫宏嘉思逸天昊俊",
    ("new", "女"): "欣怡佳涵萱雨琪梓诗婷雅妍悦可思馨若依梦子一嘉语晨",
}

# (GB/T 2260 county code, weight): mostly 渝水区 and the rest of Jiangxi, a few from further away.
_REGIONS = [
    ("360502", 80), ("360521", 6), ("360902", 3), ("360102", 2), ("360302", 1), ("360781", 1),
    ("420102", 1), ("420106", 1), ("430102", 1), ("440304", 1), ("330106", 1),
]
_REGION_CODES = [code for code, _ in _REGIONS]
_REGION_WEIGHTS = [weight for _, weight in _REGIONS]

_LEADING_ONLY = "晓小子一思梓嘉可若天亚"  # characters that read naturally only as the first of two

_PHONE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "170 173 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199"
).split()
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on mainland plates

_FLOOR_CHOICES = (6, 6, 7, 11, 11, 18, 18, 24, 26, 33)
_SIZE_WEIGHTS = {1: 6, 2: 18, 3: 30, 4: 24, 5: 14, 6: 6, 7: 2}


def id_check_digit(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character ("0"-"9" or "X") for 17 ID digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("expected exactly 17 ASCII digits, got %r" % (first17,))
    return _ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def _new_id(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _other(gender):
    return "女" if gender == "男" else "男"


def _given_name(rng, gender, birth_year):
    era = "old" if birth_year < 1965 else ("mid" if birth_year < 1990 else "new")
    pool = _GIVEN_CHARS[(era, gender)]
    trailing = [c for c in pool if c not in _LEADING_ONLY]
    if rng.random() < (0.22 if era == "old" else 0.12):
        return rng.choice(trailing)
    first, second = rng.choice(pool), rng.choice(trailing)
    while second == first:
        second = rng.choice(trailing)
    return first + second


def _surname(rng):
    return rng.choices(_SURNAMES, _SURNAME_WEIGHTS)[0]


def _family(rng, size):
    """Return [(gender, age, surname_rule)] for one household; rule is 'own', 'head', 'family'."""
    if size == 1:
        age = rng.randint(62, 91) if rng.random() < 0.45 else rng.randint(22, 58)
        return [(rng.choice("男女"), age, "own")]
    if size == 2 and rng.random() < 0.15:  # single parent with a child
        age = rng.randint(32, 52)
        return [("女" if rng.random() < 0.7 else "男", age, "own"),
                (rng.choice("男女"), rng.randint(max(0, age - 40), age - 22), "family")]
    if size == 2:
        age = rng.randint(56, 86) if rng.random() < 0.55 else rng.randint(23, 36)
    else:
        age = rng.randint(27, 50) if size >= 5 else rng.randint(27, 58)
    head = "男" if rng.random() < 0.75 else "女"
    spouse_age = age + (rng.randint(-5, 2) if head == "男" else rng.randint(-2, 5))
    members = [(head, age, "own"), (_other(head), max(20, spouse_age), "own")]
    rest = size - 2
    if rest == 0:
        elders = 0
    elif rest == 1:
        elders = 1 if (rng.random() < 0.1 and age <= 55) else 0
    elif rest == 2:
        elders = rng.choice((0, 1, 1)) if age <= 55 else 0
    else:
        elders = min(2, rest - 1) if age <= 55 else 0
    for i in range(elders):
        gender = ("男", "女")[i] if elders == 2 else rng.choice("男女")
        members.append((gender, min(96, age + rng.randint(22, 32)), "head" if gender == "男" else "own"))
    for _ in range(rest - elders):
        kid_age = rng.randint(max(0, age - 42), max(0, age - 22))
        members.append((rng.choice("男女"), kid_age, "family"))
    return members


def _household_sizes(rng, count, total):
    sizes = rng.choices(list(_SIZE_WEIGHTS), list(_SIZE_WEIGHTS.values()), k=count)
    while sum(sizes) != total:
        i = rng.randrange(count)
        if sum(sizes) > total and sizes[i] > 1:
            sizes[i] -= 1
        elif sum(sizes) < total and sizes[i] < 7:
            sizes[i] += 1
    return sizes


def _birth_date(rng, age):
    latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
    earliest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age - 1) + datetime.timedelta(days=1)
    return earliest + datetime.timedelta(days=rng.randint(0, (latest - earliest).days))


def _unique(rng, make, seen):
    value = make()
    while value in seen:
        value = make()
    seen.add(value)
    return value


def _layout(rng, households_total):
    """Return [(number, floors, units_per_floor, household_count)] for every building."""
    plan = []
    for n in range(1, BUILDING_COUNT + 1):
        if str(n) == QUARANTINED_BUILDING:
            plan.append([str(n), 18, 4, QUARANTINED_HOUSEHOLDS])  # four flats a floor: 504 and 1404 exist
        else:
            plan.append([str(n), rng.choice(_FLOOR_CHOICES), rng.choice((2, 3, 4, 4)), 0])
    others = [b for b in plan if b[0] != QUARANTINED_BUILDING]
    remaining = households_total - QUARANTINED_HOUSEHOLDS
    while sum(b[1] * b[2] for b in others) * 0.88 < remaining:
        b = rng.choice(others)
        if b[2] < 4:
            b[2] += 1
        else:
            b[1] = min(33, b[1] + 3)
    capacity = sum(b[1] * b[2] for b in others)
    for b in others:
        b[3] = b[1] * b[2] * remaining // capacity
    spare = sorted(others, key=lambda b: b[3] - b[1] * b[2])  # most empty flats first
    for b in spare[: remaining - sum(b[3] for b in others)]:
        b[3] += 1
    return [tuple(b) for b in plan]


def _plate(rng, prefix):
    if rng.random() < 0.65:
        tail = "%05d" % rng.randrange(100000)
    else:
        tail = rng.choice(_PLATE_LETTERS) + "%04d" % rng.randrange(10000)
    return prefix + tail


def generate_compound(seed: int = 2020) -> dict:
    """Return a demo compound as plain dicts: {"compound": {...}, "buildings": [...], "households": [...], "residents": [...], "vehicles": [...]}."""  # noqa: E501
    rng = random.Random(seed)
    compound = {
        "id": _new_id(rng),
        "name": "绿景水岸小区",
        "city": "新余市",
        "district": "渝水区",
        "address": "江西省新余市渝水区春龙社区仙来西大道%d号" % rng.randint(100, 999),
    }
    cid = compound["id"]
    households_total = rng.randint(1288, 1312)
    residents_total = rng.randint(4470, 4580)

    buildings, households, by_building = [], [], {}
    for number, floors, units, count in _layout(rng, households_total):
        building = {"id": _new_id(rng), "compound_id": cid, "number": number,
                    "name": number + "栋", "floors": floors}
        buildings.append(building)
        flats = [(f, u) for f in range(1, floors + 1) for u in range(1, units + 1)]
        if number == QUARANTINED_BUILDING:
            named = [(int(r[:-2]), int(r[-2:])) for r in SEED_ROOMS]
            flats = [f for f in flats if f not in named]
            chosen = rng.sample(flats, count - len(named)) + named
        else:
            chosen = rng.sample(flats, count)
        by_building[number] = []
        for floor, unit in sorted(chosen):
            room = "%d%02d" % (floor, unit)
            household = {"id": _new_id(rng), "compound_id": cid, "building_id": building["id"],
                         "room": room, "label": "%s-%s" % (number, room), "notes": ""}
            households.append(household)
            by_building[number].append(household)

    quarantined = by_building[QUARANTINED_BUILDING]
    q_ids = {h["id"] for h in quarantined}
    others = [h for h in households if h["id"] not in q_ids]
    sizes = dict(zip((h["id"] for h in quarantined),
                     _household_sizes(rng, len(quarantined), QUARANTINED_RESIDENTS)))
    sizes.update(zip((h["id"] for h in others),
                     _household_sizes(rng, len(others), residents_total - QUARANTINED_RESIDENTS)))

    residents, ages, seen_ids, seen_phones = [], {}, set(), set()
    for household in households:
        home_region = rng.choices(_REGION_CODES, _REGION_WEIGHTS)[0]
        members = _family(rng, sizes[household["id"]])
        head_surname = _surname(rng)
        family_surname = head_surname
        if members[0][0] == "女" and len(members) == 2 and members[1][2] == "family":
            family_surname = head_surname if rng.random() < 0.5 else _surname(rng)  # single mother
        for i, (gender, age, rule) in enumerate(members):
            if rule == "own":
                surname = head_surname if i == 0 else _surname(rng)
                if i == 1 and gender == "男":
                    family_surname = surname  # children usually take the father's surname
            elif rule == "head":
                surname = head_surname
            else:
                surname = family_surname if rng.random() < 0.93 else _surname(rng)
            born = _birth_date(rng, age)
            region = home_region if rng.random() < 0.8 else rng.choices(_REGION_CODES, _REGION_WEIGHTS)[0]
            stem = region + born.strftime("%Y%m%d")

            def make_id():
                seq = "%03d" % (rng.randrange(500) * 2 + (1 if gender == "男" else 0))
                return stem + seq + id_check_digit(stem + seq)

            id_number = _unique(rng, make_id, seen_ids)
            if age < 14 or (age >= 80 and rng.random() < 0.3):
                phone = ""
            else:
                phone = _unique(rng, lambda: rng.choice(_PHONE_PREFIXES) + "%08d" % rng.randrange(10 ** 8),
                                seen_phones)
            notes = "独居老人" if len(members) == 1 and age >= 75 else ""
            residents.append({
                "id": _new_id(rng), "compound_id": cid, "household_id": household["id"],
                "name": surname + _given_name(rng, gender, born.year), "gender": gender,
                "birth_date": born.isoformat(), "phone": phone, "id_number": id_number,
                "party_member": False, "notes": notes,
            })
            ages[residents[-1]["id"]] = age

    # Party members: exactly 24 in building 20, about 6-8 % of everyone overall.
    adults_q = [r for r in residents if r["household_id"] in q_ids and ages[r["id"]] >= 20]
    adults_rest = [r for r in residents if r["household_id"] not in q_ids and ages[r["id"]] >= 20]
    overall = round(len(residents) * rng.uniform(0.066, 0.074))
    for r in rng.sample(adults_q, QUARANTINED_PARTY_MEMBERS) + rng.sample(adults_rest, overall - 24):
        r["party_member"] = True

    # Vehicles: about one per three households, all 赣K except the 鄂A car at 20-1702.
    drivers = {r["household_id"] for r in residents if 20 <= ages[r["id"]] <= 75}
    hubei_home = next(h for h in quarantined if h["room"] == HUBEI_PLATE_ROOM)
    hubei_home["notes"] = "鄂A车辆已登记核查"
    candidates = [h for h in households if h["id"] in drivers and h is not hubei_home]
    owners = rng.sample(candidates, round(len(households) * rng.uniform(0.31, 0.35)) - 1)
    seen_plates, vehicles = set(), []
    position = {h["id"]: i for i, h in enumerate(households)}
    for household in sorted(owners, key=lambda h: position[h["id"]]) + [hubei_home]:
        is_hubei = household is hubei_home
        plate = _unique(rng, lambda: _plate(rng, "鄂A" if is_hubei else "赣K"), seen_plates)
        notes = "湖北牌照；2020年2月群众举报，社区已上门核查登记" if is_hubei else ""
        vehicles.append({"id": _new_id(rng), "compound_id": cid, "household_id": household["id"],
                         "plate": plate, "notes": notes})

    return {"compound": compound, "buildings": buildings, "households": households,
            "residents": residents, "vehicles": vehicles}
