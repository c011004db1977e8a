"""How people type rooms and plates, read one way everywhere: desk search, gate checks, the register
import, the chain parser and every vehicle stored. Pure."""
import re

#: Full-width digits, letters, hyphen and space folded to ASCII (phones and IMEs type them).
_FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF21 + i: 0x41 + i for i in range(26)} \
    | {0xFF41 + i: 0x61 + i for i in range(26)} | {0xFF0D: 0x2D, 0x3000: 0x20}
#: What people write between a building and its room number, and after the room number.
BUILDING_MARK, ROOM_MARK = "栋|幢|号楼|-|—|－|#|/", "室|号"
#: A room typed in a box: building, a mark (or a space), the room number, maybe 室 or 号: 20栋1702, 20-1702室.
ROOM = re.compile(rf"^\s*([0-9A-Za-z]{{1,4}}?)\s*(?:{BUILDING_MARK}|\s)\s*(\d{{1,5}})\s*(?:{ROOM_MARK})?\s*$")
#: The same rooms inside chat text (a chain order): a 1–2 digit building, a mark (never a bare space: 2 1702 is
#: more likely a quantity), a 3–4 digit room.
ROOM_IN_TEXT = re.compile(rf"(?<!\d)(\d{{1,2}})\s*(?:{BUILDING_MARK})\s*(\d{{3,4}})(?:{ROOM_MARK})?(?!\d)")
#: Floor and unit as chat writes them: 13楼04, 20栋13楼04 (read as room 1304 where the building numbers so).
FLOOR_UNIT_IN_TEXT = re.compile(
    rf"(?<!\d)(?:(\d{{1,2}})\s*(?:栋|幢|号楼)\s*)?(\d{{1,2}})\s*楼\s*(\d{{1,2}})(?:{ROOM_MARK})?(?!\d)")
#: A bare room number in chat (1702, 1702室) that is not a quantity, a price, a date or a time (3斤, 5元, 2月, 8点).
BARE_ROOM_IN_TEXT = re.compile(rf"(?<!\d)(\d{{3,4}})(?:{ROOM_MARK})?(?!\d|\s*[斤克个只板箱瓶袋包盒元块年月日点:.]|\s*kg)")
#: A mainland plate starts with a province's character and a letter: 赣K12345, 鄂A·D1234.
PLATE = re.compile(r"^[\u4e00-\u9fff][A-Za-z]")


def fold(text):
    """Fold full-width digits and letters to ASCII and trim."""
    return text.translate(_FULLWIDTH).strip()


def room_label(text):
    """``20-1702``, ``20栋1702``, ``20号楼1702室``, ``20 1702`` (full-width too) → ``20-1702``; None if not a room."""
    m = ROOM.match(fold(text))
    return f"{m.group(1).upper()}-{m.group(2)}" if m else None


def registry_label(building, number, rooms=None):
    """The registry's label of a room read from text: ``20``, ``0305`` → ``20-305``, or ``20-0305`` where the
    registry (``rooms``, its labels) writes it so."""
    b = str(int(building)) if str(building).isdigit() else str(building)
    plain, raw = f"{b}-{int(number)}", f"{b}-{number}"
    if rooms is not None and plain not in rooms and raw in rooms:
        return raw
    return plain


def _floor_unit_allowed(building, rooms):
    """Whether the building's rooms are numbered floor + two-digit unit (1702 = floor 17, unit 02)."""
    if rooms is None:
        return True
    mine = [r.split("-", 1)[1] for r in rooms if r.split("-", 1)[0] == str(building)]
    return bool(mine) and all(re.fullmatch(r"\d{3,4}", r) and r[-2:] != "00" for r in mine)


def find_room(text, building=None, rooms=None):
    """The first room written in chat text as (registry label, the text without it), or (None, text).

    ``20-1702``/``20栋1702室`` anywhere; ``13楼04`` where the building's rooms are floor + unit; a bare ``1702``
    only when ``building`` says which building. ``rooms`` (the registry's labels) settles leading zeros.
    """
    m = ROOM_IN_TEXT.search(text)
    if m:
        return registry_label(m.group(1), m.group(2), rooms), text[:m.start()] + " " + text[m.end():]
    m = FLOOR_UNIT_IN_TEXT.search(text)
    if m:
        b = m.group(1) or building
        if b and _floor_unit_allowed(str(int(b)), rooms):
            return registry_label(b, f"{int(m.group(2))}{int(m.group(3)):02d}", rooms), \
                text[:m.start()] + " " + text[m.end():]
    m = BARE_ROOM_IN_TEXT.search(text)
    if m and building:
        return registry_label(building, m.group(1), rooms), text[:m.start()] + " " + text[m.end():]
    return None, text


def room_label_of(building, room):
    """The label of a room given as its building and room number, as the register lists them."""
    return f"{fold(str(building)).upper()}-{fold(str(room))}"


def normalise_plate(plate):
    """One spelling of a plate: upper case, no spaces, dots, middle dots or dashes: ``赣k·12345`` → ``赣K12345``."""
    return re.sub(r"[\s·•.\-－]", "", fold(plate)).upper()


def looks_like_plate(text):
    """True when what was typed starts like a plate (a province's character, then a letter)."""
    return bool(PLATE.match(fold(text)))


def room_order(label):
    """A sort key putting room labels in the order doors go: ``20-101`` before ``20-1001``, ``2-`` before ``10-``."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", label) if part]
