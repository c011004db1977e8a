"""The desk's one search box: pass codes, QR payloads, rooms, names, pinyin or initials, plates."""
import functools
import itertools
import pathlib
import re

from sync.tables import DELETED

from menwei.gate import labels
from menwei.gate.labels import fold, looks_like_plate, normalise_plate
from menwei.store.queries import live_tuples

MAX_RESULTS = 20
LIKE = "LIKE ? ESCAPE '\\'"  # with a like_pattern(): what is typed is matched literally
_CODE = re.compile(r"^(?:MENWEI:)?[A-Z0-9]{5,12}$", re.I)


@functools.lru_cache(maxsize=1)
def _table():
    path = pathlib.Path(__file__).parent / "data" / "pinyin.tsv"
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        ch, readings = line.split("\t")
        table[ch] = readings.replace("v", "u").split(",")
    return table


# Surnames read differently from the character's first reading.
_SURNAMES = {"曾": ["zeng"], "单": ["shan"], "解": ["xie"], "仇": ["qiu"], "区": ["ou"], "查": ["zha"],
             "朴": ["piao"], "盖": ["ge"], "乐": ["yue", "le"], "缪": ["miao"], "尉": ["yu", "wei"]}


@functools.lru_cache(maxsize=20_000)
def readings(name):
    """Return (full pinyin spellings, initials spellings) a name may be typed as: 张三 → ({zhangsan}, {zs})."""
    table = _table()
    per_char = []
    for i, ch in enumerate(name):
        options = (_SURNAMES.get(ch) if i == 0 else None) or table.get(ch) or [ch.lower()]
        per_char.append(options[:3])
    fulls, initials = set(), set()
    for combo in itertools.islice(itertools.product(*per_char), 27):
        fulls.add("".join(combo))
        initials.add("".join(p[0] for p in combo))
    return frozenset(fulls), frozenset(initials)


def like_pattern(text, contains=True):
    """A LIKE pattern (used with ``ESCAPE '\\'``) matching ``text`` literally: ``%`` and ``_`` typed stay characters."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if contains else f"{escaped}%"


def room_label(q):
    """A room as typed → ``20-1702`` (labels.room_label); a building number alone → ``20-``, its rooms."""
    q = fold(q)
    if re.fullmatch(r"\d{1,3}", q):  # a building number alone lists its rooms
        return q + "-"
    return labels.room_label(q)


def search(tx, q, building=None):
    """Find what a volunteer typed: [{kind, id, label, detail, household_id}] best first.

    ``building`` is the building whose door the desk serves (queries.door_building): there a room number
    alone (``1702``) is that building's room, found first; elsewhere a number names a building.
    """
    q = fold(q)
    if not q:
        return []
    out = []
    if building and re.fullmatch(r"\d{1,5}", q):
        out += [{"kind": "household", "id": r[0], "label": r[1], "household_id": r[0]} for r in tx.rows(
            f"SELECT id, label FROM households WHERE label = ? AND {DELETED} = ? AND merged_into IS NULL",
            (labels.room_label_of(building, q), False))]
    label = room_label(q)
    if label:
        exact = not label.endswith("-")
        match = f"label {'= ?' if exact else LIKE} AND merged_into IS NULL"
        rows = live_tuples(tx, "households", ("id", "label"), match, (label if exact else like_pattern(label, False),),
                           order="label", limit=MAX_RESULTS)
        if not rows and exact:
            rows = live_tuples(tx, "households", ("id", "label"), f"label {LIKE} AND merged_into IS NULL",
                               (like_pattern(label, False),), order="label", limit=MAX_RESULTS)
        out += [{"kind": "household", "id": r[0], "label": r[1], "household_id": r[0]} for r in rows
                if not any(o["id"] == r[0] for o in out)]
    if re.fullmatch(r"\d{17}[\dXx]", q):  # an ID card number, typed or read: exact match only
        for r in tx.rows(f"SELECT r.id, r.name, r.household_id, h.label FROM residents r LEFT JOIN households h "
                         f"ON h.id = r.household_id WHERE r.id_number = ? AND r.{DELETED} = ?", (q.upper(), False)):
            out.append({"kind": "resident", "id": r[0], "label": r[1], "detail": r[3], "household_id": r[2]})
        return out
    if _CODE.match(q):
        code = q.upper().removeprefix("MENWEI:")
        for r in live_tuples(tx, "passes", ("id", "code", "kind", "holder_name", "household_id"), "code = ?", (code,)):
            out.append({"kind": "pass", "id": r[0], "label": r[1], "detail": f"{r[2]} {r[3] or ''}".strip(),
                        "household_id": r[4]})
    if looks_like_plate(q):  # stored plates are normalised (labels.normalise_plate), so is what was typed
        plate = normalise_plate(q)
        for r in tx.rows(f"SELECT v.id, v.plate, v.household_id, h.label FROM vehicles v LEFT JOIN households h "
                         f"ON h.id = v.household_id WHERE v.plate {LIKE} AND v.{DELETED} = ? LIMIT ?",
                         (like_pattern(plate, False), False, MAX_RESULTS)):
            out.append({"kind": "vehicle", "id": r[0], "label": r[1], "detail": r[3], "household_id": r[2]})
    if re.search(r"[\u4e00-\u9fff]", q) and not looks_like_plate(q) and not label:
        rows = tx.rows(f"SELECT r.id, r.name, r.household_id, h.label FROM residents r LEFT JOIN households h "
                       f"ON h.id = r.household_id WHERE r.name {LIKE} AND r.{DELETED} = ? ORDER BY r.name LIMIT ?",
                       (like_pattern(q), False, MAX_RESULTS))
        out += [{"kind": "resident", "id": r[0], "label": r[1], "detail": r[3], "household_id": r[2]} for r in rows]
    elif re.fullmatch(r"[A-Za-z]+", q) and not out:
        key = q.lower().replace("v", "u")
        hits = []
        for rid, name, hh, lab in tx.rows(f"SELECT r.id, r.name, r.household_id, h.label FROM residents r LEFT JOIN "
                                          f"households h ON h.id = r.household_id WHERE r.{DELETED} = ?", (False,)):
            fulls, initials = readings(name)
            if key in initials:
                hits.append((0, name, rid, hh, lab))
            elif any(f.startswith(key) for f in fulls) or any(i.startswith(key) for i in initials):
                hits.append((1, name, rid, hh, lab))
        hits.sort()
        out += [{"kind": "resident", "id": rid, "label": name, "detail": lab, "household_id": hh}
                for _, name, rid, hh, lab in hits[:MAX_RESULTS]]
    return out[:MAX_RESULTS]
