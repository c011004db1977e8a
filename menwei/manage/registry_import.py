"""Import residents from the property office's register: match, update, never clobber newer edits."""
import re
from dataclasses import dataclass, field

from sync.ids import new_id

from menwei.store.queries import live_tuples, names_of
from menwei.store.spreadsheets import find_header, read_rows

_ADDRESS = re.compile(r"^\s*(\d+)\s*(?:栋|幢|号楼|-|—)\s*(\d+)\s*(?:室|号)?\s*$")
_ID = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_ok(number):
    """Check an 18-character resident ID number's MOD 11-2 check character."""
    if not _ID.match(number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS))
    return "10X98765432"[total % 11] == number[17]


@dataclass
class ImportReport:
    """What an import did, with every refused row and why."""

    rows: int = 0
    blank: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    households_created: int = 0
    buildings_created: int = 0
    kept_newer: list = field(default_factory=list)   # (row number, name, field)
    refused: list = field(default_factory=list)      # (row number, reason)


def parse_row(row, cols):
    """Turn one spreadsheet row into (fields, None) or (None, reason)."""
    get = {f: row[j] for j, f in cols.items() if j < len(row)}
    building, room = get.get("building", ""), get.get("room", "")
    building = re.sub(r"(栋|幢|号楼)$", "", building)
    room = re.sub(r"(室|号)$", "", room)
    if (not building or not room) and get.get("address"):
        m = _ADDRESS.match(get["address"])
        if m:
            building, room = m.group(1), m.group(2)
    name = get.get("name", "")
    if not name:
        return None, "no name (姓名)"
    if not building or not room:
        return None, "no building and room (楼栋/房号)"
    out = {"building": building, "room": room, "name": name[:50]}
    phone = re.sub(r"[\s\-]", "", get.get("phone", ""))
    if phone:
        if not re.fullmatch(r"\+?\d{5,20}", phone):
            return None, f"phone {phone[:3]}… is not a number"
        out["phone"] = phone
    idn = get.get("id_number", "").upper().replace(" ", "")
    if idn:
        if not id_ok(idn):
            return None, "ID number is not a valid 18-character resident ID"
        out["id_number"] = idn
    if get.get("gender") in ("男", "女"):
        out["gender"] = get["gender"]
    party = get.get("party_member", "")
    if party:
        out["party_member"] = party in ("是", "党员", "中共党员", "y", "yes", "1", "true", "√")
    if get.get("notes"):
        out["notes"] = get["notes"][:2000]
    return out, None


def import_residents(replica, compound_id, path, sheet=None, mapping=None, progress=None):
    """Import a register into ``compound_id``; return an ImportReport. One transaction: all or nothing."""
    rows = read_rows(path, sheet)
    last_header, cols = find_header(rows, mapping)
    report = ImportReport()
    parsed, seen_ids = [], {}
    body = rows[last_header + 1:]
    for n, row in enumerate(progress(body) if progress else body, start=last_header + 2):
        if not any(row):
            report.blank += 1
            continue
        report.rows += 1
        data, why = parse_row(row, cols)
        if why:
            report.refused.append((n, why))
            continue
        if data.get("id_number") in seen_ids:
            report.refused.append((n, f"same ID number as row {seen_ids[data['id_number']]}"))
            continue
        if data.get("id_number"):
            seen_ids[data["id_number"]] = n
        parsed.append((n, data))
    with replica.store.read() as tx:
        buildings = {number: bid for bid, number in names_of(tx, "buildings", "number", "compound_id = ?",
                                                             (compound_id,)).items()}
        households = {label: hid for hid, label in names_of(tx, "households", "label", "compound_id = ?",
                                                            (compound_id,)).items()}
        residents = live_tuples(tx, "residents", ("id", "household_id", "name", "id_number"), "compound_id = ?",
                                (compound_id,))
        stored = tx.load_rows("residents", [r[0] for r in residents])  # {id: [values, versions]}
        marks = {(r[0], r[1]): [r[2], r[3]] for r in tx.rows(
            "SELECT row_id, field, hlc, origin FROM import_marks WHERE tbl = 'residents'")}
    by_id = {r[3]: r[0] for r in residents if r[3]}
    by_name = {(r[1], r[2]): r[0] for r in residents}
    writes = []
    for n, d in parsed:
        b = buildings.get(d["building"])
        if b is None:
            b = buildings[d["building"]] = new_id()
            writes.append(("buildings", b, {"compound_id": compound_id, "number": d["building"],
                                            "name": f"{d['building']}栋"}))
            report.buildings_created += 1
        label = f"{d['building']}-{d['room']}"
        h = households.get(label)
        if h is None:
            h = households[label] = new_id()
            writes.append(("households", h, {"compound_id": compound_id, "building_id": b, "room": d["room"],
                                             "label": label}))
            report.households_created += 1
        fields = {k: v for k, v in d.items() if k not in ("building", "room")}
        fields["household_id"] = h
        rid = by_id.get(d.get("id_number")) or by_name.get((h, d["name"]))
        if rid is None:
            rid = new_id()
            writes.append(("residents", rid, {"compound_id": compound_id, **fields}))
            by_name[(h, d["name"])] = rid
            report.created += 1
            continue
        if rid not in stored:  # the same person twice in this file under one room: the first row stands
            report.refused.append((n, f"{d['name']} appears twice for {label}"))
            continue
        values, versions = stored[rid]
        change = {}
        for k, v in fields.items():
            if values.get(k) == v:
                continue
            version = versions.get(k)
            if version is not None and marks.get((rid, k)) != version:
                report.kept_newer.append((n, d["name"], k))  # edited in Menwei since: theirs stands
                continue
            change[k] = v
        if change:
            writes.append(("residents", rid, change))
            report.updated += 1
        else:
            report.unchanged += 1

    def mark(tx, changes):
        tx.executemany("INSERT INTO import_marks (tbl, row_id, field, hlc, origin) VALUES (?,?,?,?,?) "
                       "ON CONFLICT (tbl, row_id, field) DO UPDATE SET hlc = excluded.hlc, origin = excluded.origin",
                       [("residents", ch["id"], k, ch["hlc"], ch["origin"])
                        for ch in changes if ch["table"] == "residents" for k in ch["data"]])
    if writes:
        replica.write(writes, before_commit=mark)
    return report
